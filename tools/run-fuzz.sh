#!/usr/bin/env bash
# run-fuzz.sh SECONDS HARNESS... - run each libFuzzer harness for a bounded
# time over its committed corpus (tests/fuzz/corpus/<name>); new inputs go to
# a scratch directory so the committed corpus stays small. A dictionary
# tests/fuzz/<name>.dict (libFuzzer's format) is used when there is one.
set -u
secs=$1
shift
status=0
for h in "$@"; do
	name=$(basename "$h")
	corpus=tests/fuzz/corpus/$name
	scratch=$(mktemp -d)
	log=$(mktemp)
	mkdir -p "$corpus"
	dict=()
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	echo "=== fuzz $name for ${secs}s"
	"$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
		"${dict[@]}" "$scratch" "$corpus" >"$log" 2>&1
	rc=$?
	tail -n 20 "$log"
	if [ $rc -ne 0 ]; then
		echo "FAILED: $name (exit $rc); crash inputs are in the current directory"
		status=1
	fi
	rm -rf "$scratch" "$log"
done
exit $status
