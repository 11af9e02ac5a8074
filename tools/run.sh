#!/usr/bin/env bash
# run.sh - `make run`: the appliance on the virtual testbed, with a live
# status line until Ctrl-C, which tears the testbed down.
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${NODES:-1}
tb=tools/testbed

trap '$tb down >/dev/null 2>&1 || true' EXIT
trap 'echo; exit 0' INT TERM
# the clients' bridge is trusted: large UDP replies (stats, big values) are allowed
$tb up --nodes "$NODES" --memory "${MEMORY:-256M}" -- --udp-trusted 198.18.0.0/24 \
	--max-value "${MAX_VALUE:-1m}"
cat <<TXT

wirecache is up: $NODES node(s) at 198.18.0.11$( [ "$NODES" -gt 1 ] && echo "..198.18.0.$((10 + NODES))"),
memcached protocol over UDP port 11211, inside network namespace "wc".
Talk to it from that namespace, for example:

  sudo tools/testbed exec -- ping -c 3 198.18.0.11
  sudo tools/testbed exec -- /usr/bin/python3 tools/mcudp.py 198.18.0.11 'set greeting 0 0 5' hello
  sudo tools/testbed exec -- /usr/bin/python3 tools/mcudp.py 198.18.0.11 'get greeting'
  sudo tools/testbed exec -- /usr/bin/python3 tools/mcudp.py 198.18.0.11 'mg greeting v t c'
  sudo tools/testbed exec -- /usr/bin/python3 tools/mcudp.py 198.18.0.11 stats
  sudo tools/testbed status

Node logs: /run/wirecache-testbed/node*.log. Ctrl-C stops everything.

TXT
$tb watch
