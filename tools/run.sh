#!/usr/bin/env bash
# run.sh - `make run`: the appliance on the virtual testbed, with a live
# status line until Ctrl-C, which tears the testbed down. NODES=N > 1 forms
# a Redis Cluster through etcd (tools/testbed up); ETCD=3 gives etcd three
# members; STANDALONE=1 keeps the nodes independent. Each node keeps its data
# across runs: an RDB snapshot in $DATA/node<i> (default build/run-data), saved
# when Ctrl-C stops it and loaded when it starts; DATA= (empty) keeps nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${NODES:-1}
tb=tools/testbed

trap '$tb down >/dev/null 2>&1 || true' EXIT
trap 'echo; exit 0' INT TERM
# the clients' bridge is trusted: large UDP replies (stats, big values) are allowed
up_opts=(--nodes "$NODES" --memory "${MEMORY:-256M}" --etcd "${ETCD:-1}")
[ "${STANDALONE:-0}" = 1 ] && up_opts+=(--standalone)
DATA=${DATA-build/run-data}
[ -n "$DATA" ] && up_opts+=(--data-dir "$DATA")
$tb up "${up_opts[@]}" -- --udp-trusted 198.18.0.0/24 --max-value "${MAX_VALUE:-1m}"
cat <<TXT

wirecache is up: $NODES node(s) at 198.18.0.11$( [ "$NODES" -gt 1 ] && echo "..198.18.0.$((10 + NODES))"),
the memcached protocol (text and meta) on port 11211 over UDP and TCP, inside
network namespace "wc". Talk to it from that namespace, for example:

  sudo tools/testbed exec -- ping -c 3 198.18.0.11
  UDP:
  sudo tools/testbed exec -- /usr/bin/python3 tools/mcudp.py 198.18.0.11 'set greeting 0 0 5' hello
  sudo tools/testbed exec -- /usr/bin/python3 tools/mcudp.py 198.18.0.11 'get greeting'
  sudo tools/testbed exec -- /usr/bin/python3 tools/mcudp.py 198.18.0.11 'mg greeting v t c'
  TCP, with libmemcached's tools or any memcached client:
  sudo tools/testbed exec -- memccp --servers=198.18.0.11 README.md
  sudo tools/testbed exec -- memccat --servers=198.18.0.11 README.md
  printf 'get greeting\r\nstats\r\n' | sudo tools/testbed exec -- nc -q 1 198.18.0.11 11211
  The control plane of node i runs on this host, on 127.0.0.1:(8179+i):
  dashboard: open http://127.0.0.1:8180/ in a browser on this machine (node 1),
  Prometheus text at http://127.0.0.1:8180/metrics, JSON at /api/stats;
  build/rel/wirecachectl --node 1 top
  build/rel/wirecachectl --node 1 stats
  sudo tools/testbed status

Node logs: /run/wirecache-testbed/node*.log, cp*.log. Ctrl-C stops everything$( [ -n "$DATA" ] && printf ',\nafter each node saved its data to %s/node<i>/dump.rdb (loaded by the next\n`make run`; DATA= make run keeps nothing)' "$DATA").

TXT
if [ -f /run/wirecache-testbed/etcd.endpoints ]; then
	eps=$(cat /run/wirecache-testbed/etcd.endpoints)
	cat <<TXT
The $NODES nodes form one Redis Cluster (16384 slots spread evenly; the map is
in etcd at $eps). Redis clients follow MOVED with -c:
  sudo tools/testbed exec -- redis-cli -c -h 198.18.0.11 set greeting hello
  sudo tools/testbed exec -- redis-cli -c -h 198.18.0.12 get greeting
  sudo tools/testbed exec -- redis-cli -h 198.18.0.11 cluster nodes
  sudo tools/testbed exec -- redis-cli --cluster check 198.18.0.11:6379
memcached clients may use any node: a request for another node's slot is forwarded
to its owner over the authenticated node-to-node link, and the owner's reply comes back.
The map and the nodes:
  build/rel/wirecachectl cluster info --etcd $eps
  build/rel/wirecachectl cluster check --etcd $eps
  curl -s http://127.0.0.1:8180/api/cluster

TXT
fi
$tb watch
