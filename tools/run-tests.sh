#!/usr/bin/env bash
# run-tests.sh - run test binaries one after another, print a summary, and
# fail if any failed. Each binary runs under a time limit.
set -u
LIMIT=${TEST_TIMEOUT:-300}
failed=()
for t in "$@"; do
	echo "=== $t"
	if ! timeout --kill-after=10 "$LIMIT" "$t"; then
		failed+=("$t")
	fi
done
echo "=== $(($# - ${#failed[@]}))/$# test programs passed"
if [ ${#failed[@]} -ne 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}"
	exit 1
fi
