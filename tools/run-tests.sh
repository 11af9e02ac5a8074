#!/usr/bin/env bash
# run-tests.sh - run test binaries one after another, print a summary, and
# fail if any failed. Each binary runs under a time limit; each one's
# wall time is printed after it, to show where the suite's time goes.
set -u
LIMIT=${TEST_TIMEOUT:-300}
failed=()
for t in "$@"; do
	echo "=== $t"
	start=$SECONDS
	if ! timeout --kill-after=10 "$LIMIT" "$t"; then
		failed+=("$t")
	fi
	echo "=== $t: $((SECONDS - start)) s"
done
echo "=== $(($# - ${#failed[@]}))/$# test programs passed"
if [ ${#failed[@]} -ne 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}"
	exit 1
fi
