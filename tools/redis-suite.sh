#!/usr/bin/env bash
# redis-suite.sh - run units of Redis's own Tcl test suite in external-server
# mode against a wirecache node on the virtual testbed and against Debian's
# redis-server on loopback, and print their results side by side.
#
#   tools/redis-suite.sh SUITE [UNIT...]
#
# SUITE is an extracted Redis 7.0 source tree's top folder (it holds
# tests/test_helper.tcl), e.g. from a git mirror of redis/redis:
#   mkdir -p /tmp/redis-7.0.15 &&
#   git --git-dir=MIRROR archive 7.0.15 tests | tar -x -C /tmp/redis-7.0.15
# This script fetches nothing. UNITs default to the families the Redis engine
# serves or is getting (strings, counters, expiry, keyspace, hashes, sets,
# SCAN, protocol, transactions, introspection-2).
#
# Needs root and the testbed to itself: run it as
#   flock /tmp/wc-testbed.lock tools/redis-suite.sh /tmp/redis-7.0.15
# It builds nothing (make -j2 first); it brings up one node (one worker,
# --memory 256M, values up to 64 MiB) and takes it down again, whatever happens.
#
# The units run on a copy of SUITE/tests (SUITE itself is left as it is) with
# one change made at run time: in external mode Redis's harness sends
# FUNCTION FLUSH before every server block, and on a server without FUNCTION
# (wirecache has no scripting) that error would abort the whole unit; the copy
# ignores that one error, for both servers alike. Tests tagged needs:debug,
# needs:repl, needs:pfdebug, needs:save, needs:config-maxmemory and
# needs:config-resetstat are left out (external:skip ones the harness leaves
# out itself). --durable keeps a unit going after an error.
#
# Output: per unit the counts of passed / failed tests for the node and for
# redis-server, then every failing test's name with the first line of its
# error, per server. The whole logs stay in $WC_SUITE_LOGS (default
# /tmp/redis-suite-logs). Exit status 0 when it ran (failures are reported,
# not an exit status), 1 when it could not run, 2 for bad usage.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TESTBED=${WC_TESTBED:-$ROOT/tools/testbed}
NODE_IP=198.18.0.11
NODE_PORT=6379
REDIS_PORT=${WC_SUITE_REDIS_PORT:-26380}
UNIT_TIMEOUT=${WC_SUITE_UNIT_TIMEOUT:-600}
LOGS=${WC_SUITE_LOGS:-/tmp/redis-suite-logs}
DEFAULT_UNITS="unit/type/string unit/type/incr unit/expire unit/keyspace unit/type/hash
unit/type/set unit/scan unit/protocol unit/multi unit/introspection-2"
DENY_TAGS=(-needs:debug -needs:repl -needs:pfdebug -needs:save -needs:config-maxmemory
	-needs:config-resetstat)

die() { echo "redis-suite: $*" >&2; exit 1; }
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
	sed -n '2,36p' "$0"
	exit 2
fi
SUITE=$(cd "$1" 2>/dev/null && pwd) || die "no folder $1"
shift
[ -f "$SUITE/tests/test_helper.tcl" ] || die "$SUITE/tests/test_helper.tcl is missing: not an extracted Redis test suite"
UNITS=${*:-$DEFAULT_UNITS}
[ "$(id -u)" -eq 0 ] || die "needs root (the testbed)"
for p in tclsh redis-server redis-cli timeout; do
	command -v "$p" >/dev/null || die "$p is missing (make deps)"
done
[ -x "$ROOT/build/rel/wirecache-dp" ] || die "build/rel/wirecache-dp is not built (make -j2)"

WORK=$(mktemp -d /tmp/redis-suite.XXXXXX)
REDIS_PID=""
cleanup() {
	[ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
	"$TESTBED" down >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# the copy of the suite, with FUNCTION FLUSH's "unknown command" ignored (see the top)
cp -a "$SUITE/tests" "$WORK/tests" || die "cannot copy $SUITE/tests"
cat >>"$WORK/tests/support/util.tcl" <<'EOF'

# added by wirecache's tools/redis-suite.sh: a server without FUNCTION (no
# scripting) must not abort every unit at the harness's FUNCTION FLUSH
proc wc_tolerate_function_flush {} {
    set body [info body run_external_server_test]
    set fixed [string map {"r function flush" "if {[catch {r function flush} wc_ff_err] &&
        ![string match {*unknown command*} $wc_ff_err]} { error $wc_ff_err }"} $body]
    if {$fixed eq $body} { error "redis-suite.sh: the harness no longer sends 'r function flush'" }
    proc run_external_server_test [info args run_external_server_test] $fixed
}
wc_tolerate_function_flush
EOF
rm -rf "$LOGS"
mkdir -p "$LOGS"

# run_unit TAG HOST PORT UNIT [PREFIX...]: one unit against one server; log in $LOGS/TAG/
run_unit() {
	local tag=$1 host=$2 port=$3 u=$4 log rc
	shift 4
	mkdir -p "$LOGS/$tag"
	log="$LOGS/$tag/${u//\//_}.log"
	echo "redis-suite: $tag: $u" >&2
	(cd "$WORK" && timeout --kill-after=10 "$UNIT_TIMEOUT" "$@" tclsh tests/test_helper.tcl \
		--host "$host" --port "$port" --single "$u" --singledb --durable \
		--tags "${DENY_TAGS[*]}" --timeout "$UNIT_TIMEOUT" >"$log" 2>&1 </dev/null)
	rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "[timeout]: the whole unit, after ${UNIT_TIMEOUT}s" >>"$log"
	fi
}

# Debian's redis-server on loopback (root namespace), nothing saved; a fresh one for
# each unit, as units change its configuration in external mode and do not always
# put it back (unit/type/set leaves proto-max-bulk-len at 10 GB, and then
# unit/protocol waits forever for a 2 GB argument)
start_redis() {
	rm -f "$WORK/redis-server.log"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
		--dir "$WORK" --daemonize no --logfile "$WORK/redis-server.log" &
	REDIS_PID=$!
	for _ in $(seq 50); do
		redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "redis-server did not start on port $REDIS_PORT"
}
stop_redis() {
	kill "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=""
}
for u in $UNITS; do
	start_redis
	run_unit redis 127.0.0.1 "$REDIS_PORT" "$u"
	stop_redis
done

# the node: one worker; tclsh runs in the clients' namespace. The node keeps no
# configuration a unit could change, so it serves every unit, unless one kills it
# (then its log is kept and a fresh node serves the next unit)
STATE_DIR=${WC_TESTBED_STATE:-/run/wirecache-testbed}
node_up() {
	"$TESTBED" down >/dev/null 2>&1
	"$TESTBED" up --nodes 1 --workers 1 --memory 256M -- --state-dir "$WORK/state" \
		--max-value 64m >"$LOGS/testbed-up.log" 2>&1 ||
		{ cat "$LOGS/testbed-up.log" >&2; die "testbed up failed"; }
}
node_alive() {
	local pid
	pid=$(cat "$STATE_DIR/node1.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null
}
node_up
for u in $UNITS; do
	run_unit node "$NODE_IP" "$NODE_PORT" "$u" "$TESTBED" exec --
	if ! node_alive; then
		echo "[err]: (the node died during this unit; its log is node1-${u//\//_}.log)" \
			>>"$LOGS/node/${u//\//_}.log"
		cp "$STATE_DIR/node1.log" "$LOGS/node1-${u//\//_}.log" 2>/dev/null
		node_up
	fi
done
cp "$STATE_DIR/node1.log" "$LOGS/node1.log" 2>/dev/null
"$TESTBED" down >/dev/null 2>&1

/usr/bin/python3 - "$LOGS" $UNITS <<'EOF'
import os, re, sys

logs, units = sys.argv[1], sys.argv[2:]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def parse(path):
    """(passed, failed, [(test, first line of its error)]) of one unit's log."""
    try:
        lines = [ANSI.sub("", l.rstrip("\n")) for l in open(path, errors="replace")]
    except OSError:
        return 0, 0, [("(no log)", path)]
    ok, fails = 0, []
    for i, l in enumerate(lines):
        if l.startswith("[ok]: "):
            ok += 1
        elif l.startswith("[err]: "):
            head = l.split(": ", 1)[1]
            nxt = [x.strip() for x in lines[i + 1:i + 3]] + ["", ""]
            if head.startswith("(the node died"):
                name, why = head, ""
            elif re.search(r" in tests/\S+\.tcl$", head):
                # a test: its name, then its message (Redis's harness cuts the first ten
                # characters of an error that is no assertion; the next line has it whole)
                name, why = re.sub(r" in tests/\S+\.tcl$", "", head), nxt[0]
                if nxt[1].endswith(why) and len(nxt[1]) > len(why):
                    why = nxt[1]
            else:
                # an error outside any test: the rest of that server block did not run
                name, why = "(server block stopped, its later tests not run)", nxt[0]
            fails.append((name, why[:200]))
        elif l.startswith("[exception]: "):
            fails.append(("(exception: the unit stopped)", l.split(": ", 1)[1][:200]))
        elif l.startswith("[timeout]: "):
            fails.append(("(timeout)", l.split(": ", 1)[1]))
    return ok, len(fails), fails


res = {t: {u: parse(os.path.join(logs, t, u.replace("/", "_") + ".log")) for u in units}
       for t in ("node", "redis")}
w = max(len(u) for u in units)
print("\n%-*s  %14s  %14s" % (w, "unit", "node ok/fail", "redis ok/fail"))
tot = {"node": [0, 0], "redis": [0, 0]}
for u in units:
    cells = []
    for t in ("node", "redis"):
        ok, nf, _ = res[t][u]
        tot[t][0] += ok
        tot[t][1] += nf
        cells.append("%d/%d" % (ok, nf))
    print("%-*s  %14s  %14s" % (w, u, cells[0], cells[1]))
print("%-*s  %14s  %14s" % (w, "total", "%d/%d" % tuple(tot["node"]), "%d/%d" % tuple(tot["redis"])))
for t, who in (("node", "wirecache node"), ("redis", "redis-server")):
    print("\nfailing on %s:" % who)
    n = 0
    for u in units:
        for name, why in res[t][u][2]:
            print("  %s: %s -- %s" % (u, name, why))
            n += 1
    if not n:
        print("  none")
print("\nlogs: %s/{node,redis}/" % logs)
EOF
