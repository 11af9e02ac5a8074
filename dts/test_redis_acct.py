"""test_redis_acct.py - what monitoring reads of errors and idle clients, node
against Debian's redis-server on loopback (issue 15's follow-ups): dashboards
pointed at INFO and CLIENT LIST must read the same on both.

- Errors in INFO: an arity error, an unknown command, a WRONGTYPE (of a GET,
  and of a SET ... GET, which the key's owner answers), an INCR of a word are
  counted alike on both (commandstats' calls/rejected_calls/failed_calls,
  errorstats, total_error_replies, total_commands_processed). A write
  refused for memory (the "-OOM command not allowed ..." reply) is counted
  by redis-server 7.0 (2 MB held under maxmemory 1mb, noeviction)
  as a rejected_calls of its command, no call, not failed, not in
  total_commands_processed, errorstat_OOM and one more total_error_replies:
  asserted here of redis-server, the figures the unit tests hold the node's
  refusals to (test_tcp_fast, test_redis_mbox). The node itself cannot be
  brought to refuse a write from outside: its store makes room for any
  string it takes (it evicts), and a value over --max-value is refused
  earlier, as over proto-max-bulk-len.
- A MULTI: the queued commands counted when EXEC runs them (not as rejected
  calls when queued), their errors theirs and not EXEC's, as redis-server
  counts them.
- CLIENT LIST idle= of a subscriber that only receives: at most 1 while a
  PUBLISH reaches it every 0.5 s (a message written to a client is
  interaction, as in Redis; redis-server keeps whole seconds, so 0 or 1),
  counting up again once they stop.

Every loop is bounded in count and in time.
"""
import threading
import time

import pytest
import redis

from conftest import node_redis
from lib.resp import RedisServer
from lib.testbed import in_root_ns

pytestmark = pytest.mark.testbed("redis")



@pytest.fixture(scope="module")
def ref():
    srv = RedisServer(26394)
    yield srv
    srv.close()


def ref_client(ref):
    return redis.Redis(host="127.0.0.1", port=ref.port, socket_timeout=10)


def raw_info(c, section):
    """INFO <section>'s lines (redis-py's parsed form drops what it cannot parse)."""
    conn = c.connection_pool.get_connection("INFO")
    try:
        conn.send_command("INFO", section)
        text = conn.read_response(disable_decoding=True).decode()
    finally:
        c.connection_pool.release(conn)
    return [line for line in text.split("\r\n") if line and not line.startswith("#")]


def counted(c):
    """What the errors moved: each command's calls/rejected/failed (not its time), the
    errorstats lines, total_error_replies and total_commands_processed."""
    cmds = {}
    for line in raw_info(c, "commandstats"):
        name, fields = line.split(":", 1)
        kv = dict(f.split("=") for f in fields.split(","))
        cmds[name] = (int(kv["calls"]), int(kv["rejected_calls"]), int(kv["failed_calls"]))
    stats = dict(line.split(":", 1) for line in raw_info(c, "stats"))
    return {"commandstats": cmds, "errorstats": raw_info(c, "errorstats"),
            "total_error_replies": int(stats["total_error_replies"]),
            "total_commands_processed": int(stats["total_commands_processed"])}


ERRORS = (("GET",), ("NOSUCH", "x"), ("GET", "h"), ("INCR", "s"), ("SET", "h", "v", "GET"))


def errors_scenario(c, cmds):
    """After CONFIG RESETSTAT: cmds; the replies as (class, text)."""
    out = []
    c.config_resetstat()
    for cmd in cmds:
        try:
            out.append(("ok", c.execute_command(*cmd)))
        except redis.ResponseError as e:
            out.append((type(e).__name__, str(e)))
    return out


def over_maxmemory(c):
    """redis-server holding 2 MB under maxmemory 1mb, noeviction: every write refused."""
    p = c.pipeline(transaction=False)
    for i in range(200):
        p.set("fill%d" % i, b"f" * 10240)
    p.execute()
    c.config_set("maxmemory-policy", "noeviction")
    c.config_set("maxmemory", "1mb")


def test_errors_counted_as_redis(tb, ref):
    node = node_redis(tb)
    node.flushall()
    node.hset("h", "f", "v")
    node.set("s", "abc")
    got_replies = errors_scenario(node, ERRORS)
    got = counted(node)

    with in_root_ns():               # the sockets to redis-server are made in the host's
        rc = ref_client(ref)
        try:
            rc.flushall()
            rc.hset("h", "f", "v")
            rc.set("s", "abc")
            want_replies = errors_scenario(rc, ERRORS)
            want = counted(rc)
            over_maxmemory(rc)
            refused_replies = errors_scenario(rc, (("SET", "k", "v"),))
            refused = counted(rc)
        finally:
            rc.config_set("maxmemory", "0")
            rc.flushall()
            rc.close()

    # the node as redis-server, error for error (the session's and the owners')
    assert got_replies == want_replies
    for name in ("cmdstat_get", "cmdstat_nosuch", "cmdstat_incr", "cmdstat_set"):
        assert got["commandstats"].get(name) == want["commandstats"].get(name), \
            "%s: node %r, redis-server %r" % (name, got["commandstats"].get(name),
                                              want["commandstats"].get(name))
    for k in ("errorstats", "total_error_replies", "total_commands_processed"):
        assert got[k] == want[k], "%s: node %r, redis-server %r" % (k, got[k], want[k])
    assert got["errorstats"] == ["errorstat_ERR:count=3", "errorstat_WRONGTYPE:count=2"]
    # redis-server's count of a refused write: what the node's unit tests hold it to
    assert refused_replies == [("ResponseError",
                                "OOM command not allowed when used memory > 'maxmemory'.")]
    assert refused["commandstats"]["cmdstat_set"] == (0, 1, 0)
    assert refused["errorstats"] == ["errorstat_OOM:count=1"]
    assert refused["total_error_replies"] == 1
    assert refused["total_commands_processed"] == 2     # CONFIG RESETSTAT, INFO commandstats


def transaction_counted(c):
    """After CONFIG RESETSTAT a MULTI of a SET and a GET, then EXEC: what INFO counted."""
    c.config_resetstat()
    p = c.pipeline(transaction=True)
    p.set("{t}t", "1")           # (one partition: the node's rule for a transaction)
    p.get("{t}t")
    p.incr("{t}s")
    p.get("{t}h")
    r = p.execute(raise_on_error=False)
    assert r[:2] == [True, b"1"] and [type(e).__name__ for e in r[2:]] == ["ResponseError"] * 2
    return counted(c)


def test_transaction_counted_as_redis(tb, ref):
    """Commands queued in a MULTI are counted when EXEC runs them, not when queued (no
    rejected_calls, nothing in total_commands_processed for the queueing); their errors
    are theirs (failed_calls, errorstats), not EXEC's."""
    node = node_redis(tb)
    node.flushall()
    node.hset("{t}h", "f", "v")
    node.set("{t}s", "abc")
    got = transaction_counted(node)
    with in_root_ns():
        rc = ref_client(ref)
        try:
            rc.flushall()
            rc.hset("{t}h", "f", "v")
            rc.set("{t}s", "abc")
            want = transaction_counted(rc)
        finally:
            rc.close()
    for name in ("cmdstat_multi", "cmdstat_exec", "cmdstat_set", "cmdstat_get",
                 "cmdstat_incrby"):
        assert got["commandstats"].get(name) == want["commandstats"].get(name), \
            "%s: node %r, redis-server %r" % (name, got["commandstats"].get(name),
                                              want["commandstats"].get(name))
    for k in ("errorstats", "total_error_replies", "total_commands_processed"):
        assert got[k] == want[k], "%s: node %r, redis-server %r" % (k, got[k], want[k])


def idle_of(admin, name):
    return [int(c["idle"]) for c in admin.client_list() if c["name"] == name][0]


def subscriber_idle(make):
    """A subscriber that only receives: its idle= after 2.2 s quiet, then 0.25 s after
    each of 6 PUBLISHes 0.5 s apart, then 2.2 s after the last."""
    sub, pub, admin = make(), make(), make()
    sub.client_setname("rcv")
    ps = sub.pubsub()
    ps.subscribe("acct")
    stop = threading.Event()
    got = []

    def read():
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            m = ps.get_message(timeout=0.1)
            if m and m["type"] == "message":
                got.append(m["data"])

    t = threading.Thread(target=read)
    t.start()
    try:
        time.sleep(2.2)
        quiet = idle_of(admin, "rcv")
        during = []
        for i in range(6):
            assert pub.publish("acct", "m%d" % i) == 1
            time.sleep(0.25)
            during.append(idle_of(admin, "rcv"))
            time.sleep(0.25)
        time.sleep(2.2)
        after = idle_of(admin, "rcv")
    finally:
        stop.set()
        t.join(timeout=5)
        ps.close()
        for c in (sub, pub, admin):
            c.close()
    assert len(got) == 6, got
    return quiet, during, after


def test_subscriber_idle_counts_messages(tb, ref):
    got = subscriber_idle(lambda: node_redis(tb))
    with in_root_ns():               # (the reader thread uses the socket made here)
        want = subscriber_idle(lambda: ref_client(ref))
    # (redis-server keeps both times in whole seconds: 0 or 1 there, a message ago)
    for quiet, during, after in (got, want):
        assert quiet >= 2 and after >= 2 and max(during) <= 1, (got, want)
