#!/usr/bin/env bash
# run-dts.sh - the end-to-end suites (dts/) against the appliance on the
# virtual testbed, with real clients. Needs root (network namespaces);
# always leaves the testbed down.
set -u
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
	echo "dts: needs root for network namespaces; run make test as root" >&2
	exit 1
fi
trap 'tools/testbed down >/dev/null 2>&1 || true' EXIT
timeout --kill-after=30 1200 /usr/bin/python3 -m pytest dts -q -p no:cacheprovider --durations=20 "$@"
