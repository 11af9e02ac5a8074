#!/usr/bin/env bash
# memcached-suite.sh - run memcached's own Perl tests (t/*.t) in external-daemon
# mode (T_MEMD_USE_DAEMON) against a wirecache node on the virtual testbed and
# against Debian's memcached on loopback, and print their results side by side.
#
#   tools/memcached-suite.sh SUITE [TEST...]
#
# SUITE is an extracted memcached source tree's top folder (it holds t/lib/
# MemcachedTest.pm), e.g. from a git mirror of memcached/memcached:
#   mkdir -p /tmp/memcached-1.6.18 &&
#   git --git-dir=MIRROR archive 1.6.18 t | tar -x -C /tmp/memcached-1.6.18
# This script fetches nothing. TESTs default to every t/*.t.
#
# Needs root and the testbed to itself: run it as
#   flock /tmp/wc-testbed.lock tools/memcached-suite.sh /tmp/memcached-1.6.18
# It builds nothing (make -j2 first); it brings up one node (one worker,
# --memory 256M) and takes it down again, whatever happens. Each test gets a
# fresh memcached (-m 256, -U on the same port) and a flushed node with its
# statistics reset.
#
# In external-daemon mode a test talks to the running server and cannot start
# one with its own options (the harness's ./memcached-debug is Debian's
# memcached, so tests that run the binary themselves run that one): tests that need options (TLS, SASL, extstore, -c,
# -I, restart files), a binary protocol or a process to watch fail or skip
# against memcached itself as well. Those are "n/a" in the table: the verdict
# column says "same" where both agree, "DIFFERS" where they do not.
#
# Output: per test the counts of passed / failed TAP lines (and whether the
# script died) for the node and for memcached, then every failing TAP line of
# the node's that memcached passes. Logs stay in $WC_SUITE_LOGS (default
# /tmp/memcached-suite-logs). Exit status 0 when it ran, 1 when it could not,
# 2 for bad usage.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TESTBED=${WC_TESTBED:-$ROOT/tools/testbed}
NODE_IP=198.18.0.11
NODE_PORT=11211
MC_PORT=${WC_SUITE_MC_PORT:-21211}
TEST_TIMEOUT=${WC_SUITE_TEST_TIMEOUT:-120}
LOGS=${WC_SUITE_LOGS:-/tmp/memcached-suite-logs}

die() { echo "memcached-suite: $*" >&2; exit 1; }
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
	sed -n '2,30p' "$0"
	exit 2
fi
SUITE=$(cd "$1" 2>/dev/null && pwd) || die "no folder $1"
shift
[ -f "$SUITE/t/lib/MemcachedTest.pm" ] || die "$SUITE/t/lib/MemcachedTest.pm is missing: not a memcached source tree"
if [ $# -gt 0 ]; then
	TESTS="$*"
else
	TESTS=$(cd "$SUITE" && ls t/*.t)
fi
[ "$(id -u)" -eq 0 ] || die "needs root (the testbed)"
for p in perl memcached timeout; do
	command -v "$p" >/dev/null || die "$p is missing (make deps)"
done
[ -x "$ROOT/build/rel/wirecache-dp" ] || die "build/rel/wirecache-dp is not built (make -j2)"

MC_PID=""
WORK=$(mktemp -d /tmp/memcached-suite.XXXXXX)
cleanup() {
	[ -n "$MC_PID" ] && kill "$MC_PID" 2>/dev/null && wait "$MC_PID" 2>/dev/null
	"$TESTBED" down >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# WC_SUITE_REUSE_REFERENCE=1 keeps memcached's logs from an earlier run (its
# side alone takes about 20 minutes: seven tests wait out their timeout)
if [ "${WC_SUITE_REUSE_REFERENCE:-0}" = 1 ] && [ -d "$LOGS/memcached" ]; then
	rm -rf "$LOGS/node"
else
	rm -rf "$LOGS"
fi
mkdir -p "$LOGS/node" "$LOGS/memcached"
# the tests run from a copy of SUITE/t; the harness looks for a built
# ./memcached-debug even in daemon mode (for --help and version checks): it
# gets Debian's memcached there
cp -a "$SUITE/t" "$WORK/t" || die "cannot copy $SUITE/t"
ln -s "$(command -v memcached)" "$WORK/memcached-debug"
chmod -R a+rX "$WORK"

# run_test TAG HOST:PORT TEST [PREFIX...]: one t/*.t against one server
run_test() {
	local tag=$1 addr=$2 t=$3 log rc
	shift 3
	log="$LOGS/$tag/$(basename "$t").log"
	echo "memcached-suite: $tag: $t" >&2
	(cd "$WORK" && T_MEMD_USE_DAEMON=$addr timeout --kill-after=5 "$TEST_TIMEOUT" \
		"$@" perl "$t" >"$log" 2>&1 </dev/null)
	rc=$?
	echo "# exit $rc" >>"$log"
}

flush_node() {
	"$TESTBED" exec -- /usr/bin/python3 - "$NODE_IP" "$NODE_PORT" <<'EOF' >/dev/null 2>&1
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"flush_all\r\nstats reset\r\n")
buf = b""
while buf.count(b"\r\n") < 2:
    buf += s.recv(64)
EOF
}

for t in $TESTS; do
	[ "${WC_SUITE_REUSE_REFERENCE:-0}" = 1 ] && [ -f "$LOGS/memcached/$(basename "$t").log" ] &&
		continue
	memcached -p "$MC_PORT" -U "$MC_PORT" -l 127.0.0.1 -m 256 -u root >/dev/null 2>&1 &
	MC_PID=$!
	for _ in $(seq 50); do
		(exec 3<>/dev/tcp/127.0.0.1/"$MC_PORT") 2>/dev/null && break
		sleep 0.1
	done
	run_test memcached "127.0.0.1:$MC_PORT" "$t"
	kill "$MC_PID" 2>/dev/null
	wait "$MC_PID" 2>/dev/null
	MC_PID=""
done

STATE_DIR=${WC_TESTBED_STATE:-/run/wirecache-testbed}
node_up() {
	"$TESTBED" down >/dev/null 2>&1
	"$TESTBED" up --nodes 1 --workers 1 --memory 256M >"$LOGS/testbed-up.log" 2>&1 ||
		{ cat "$LOGS/testbed-up.log" >&2; die "testbed up failed"; }
}
node_alive() {
	local pid
	pid=$(cat "$STATE_DIR/node1.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null
}
node_up
for t in $TESTS; do
	flush_node
	run_test node "$NODE_IP:$NODE_PORT" "$t" "$TESTBED" exec --
	if ! node_alive; then
		echo "# the node died during this test" >>"$LOGS/node/$(basename "$t").log"
		cp "$STATE_DIR/node1.log" "$LOGS/node1-$(basename "$t").log" 2>/dev/null
		node_up
	fi
done
cp "$STATE_DIR/node1.log" "$LOGS/node1.log" 2>/dev/null
"$TESTBED" down >/dev/null 2>&1

/usr/bin/python3 - "$LOGS" $TESTS <<'EOF'
import os, re, sys

logs, tests = sys.argv[1], [os.path.basename(t) for t in sys.argv[2:]]


def parse(path):
    """(ok, not ok, skipped, finished, [failing lines]) of one TAP log."""
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return 0, 0, 0, False, []
    ok = bad = skip = 0
    fails, plan, exitcode, died = [], None, None, False
    for l in lines:
        m = re.match(r"^(not )?ok (\d+)(.*)$", l)
        if m:
            if "# skip" in m.group(3).lower():
                skip += 1
            elif m.group(1):
                bad += 1
                fails.append(("%s %s" % (m.group(2), m.group(3).strip(" -")))[:120])
            else:
                ok += 1
        elif re.match(r"^1\.\.(\d+)", l):
            plan = int(re.match(r"^1\.\.(\d+)", l).group(1))
        elif l.startswith("# exit "):
            exitcode = int(l[7:])
        elif l.startswith("# the node died"):
            died = True
    finished = exitcode == 0 and not died and (plan is None or plan == ok + bad + skip)
    return ok, bad, skip, finished, fails


def cell(r):
    ok, bad, skip, fin, _ = r
    s = "%d/%d" % (ok, bad)
    if skip:
        s += " s%d" % skip
    return s + ("" if fin else " !")


w = max(len(t) for t in tests)
print("\n%-*s  %14s  %14s  %s" % (w, "test", "node ok/fail", "memcached", "verdict"))
for t in tests:
    n = parse(os.path.join(logs, "node", t + ".log"))
    m = parse(os.path.join(logs, "memcached", t + ".log"))
    if m[3] and not m[1]:
        verdict = "pass" if (n[3] and not n[1]) else "FAIL"
    elif n[:2] == m[:2] and n[3] == m[3]:
        verdict = "n/a (same)"
    else:
        verdict = "n/a (DIFFERS)"
    print("%-*s  %14s  %14s  %s" % (w, t, cell(n), cell(m), verdict))
print("\n(ok/fail: TAP lines; sN: skipped; !: the script stopped early or exited non-zero)")
print("\nnode failures where memcached passes the same line:")
k = 0
for t in tests:
    n = parse(os.path.join(logs, "node", t + ".log"))
    m = parse(os.path.join(logs, "memcached", t + ".log"))
    mf = set(m[4])
    for f in n[4]:
        if f not in mf:
            print("  %s: not ok %s" % (t, f))
            k += 1
if not k:
    print("  none")
print("\nlogs: %s/{node,memcached}/" % logs)
EOF
