"""test_redis_acct.py - what monitoring reads of errors and idle clients, node
against Debian's redis-server on loopback (issue 15's follow-ups): dashboards
pointed at INFO and CLIENT LIST must read the same on both.

- A write refused for memory (the "-OOM command not allowed ..." reply) is
  counted as redis-server 7.0 counts it: a rejected_calls of its command in
  INFO commandstats (no call, not failed, not in total_commands_processed),
  errorstat_OOM in INFO errorstats, total_error_replies; beside it an arity
  error, an unknown command and a WRONGTYPE, counted alike on both.
  redis-server refuses once its maxmemory (1 MB, noeviction) is used up; the
  node's store makes room for any string it takes, so the OOM reply a client
  can bring about there is MSET's refusal of a value over --max-value (1 MiB
  in the "redis" layout).
- CLIENT LIST idle= of a subscriber that only receives: 0 while a PUBLISH
  reaches it every 0.5 s (a message written to a client is interaction, as in
  Redis), counting up again once they stop.

Every loop is bounded in count and in time.
"""
import threading
import time

import pytest
import redis

from conftest import redis_password
from lib.resp import RedisServer
from lib.testbed import node_ip

pytestmark = pytest.mark.testbed("redis")

BIG = b"v" * ((1 << 20) + 1024)     # over the layout's --max-value 1m


@pytest.fixture(scope="module")
def ref():
    srv = RedisServer(26394)
    yield srv
    srv.close()


def node_client(tb):
    c = redis.Redis(host=node_ip(1), port=6379, socket_timeout=10, socket_connect_timeout=5,
                    password=redis_password(tb.config))
    tb.track(c)
    return c


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


def errors_scenario(c):
    """After CONFIG RESETSTAT: a write refused for memory, an arity error, an unknown
    command, a WRONGTYPE; the replies as (class, text)."""
    out = []
    c.config_resetstat()
    for cmd in (("MSET", "big", BIG), ("GET",), ("NOSUCH", "x"), ("GET", "h")):
        try:
            out.append(("ok", c.execute_command(*cmd)))
        except redis.ResponseError as e:
            out.append((type(e).__name__, str(e)))
    return out


def fill_until_refused(c, limit=2000):
    """redis-server at maxmemory 1 MB, noeviction: SETs of 10 KB until one is refused."""
    c.config_set("maxmemory-policy", "noeviction")
    c.config_set("maxmemory", "1mb")
    for i in range(limit):
        try:
            c.set("fill%d" % i, b"f" * 10240)
        except redis.ResponseError as e:
            assert str(e).startswith("OOM "), str(e)
            return
    raise AssertionError("redis-server took %d SETs of 10 KB under maxmemory 1mb" % limit)


def test_refused_write_counted_as_redis(tb, ref):
    node = node_client(tb)
    node.flushall()
    node.hset("h", "f", "v")
    got_replies = errors_scenario(node)
    got = counted(node)

    rc = ref_client(ref)
    try:
        rc.flushall()
        rc.hset("h", "f", "v")
        fill_until_refused(rc)
        want_replies = errors_scenario(rc)
        want = counted(rc)
    finally:
        rc.config_set("maxmemory", "0")
        rc.flushall()
        rc.close()

    oom = ("ResponseError", "OOM command not allowed when used memory > 'maxmemory'.")
    assert got_replies[0] == oom and want_replies[0] == oom
    assert got_replies == want_replies
    # the commands of the scenario (INFO and CONFIG RESETSTAT aside)
    for name in ("cmdstat_mset", "cmdstat_get", "cmdstat_nosuch"):
        assert got["commandstats"].get(name) == want["commandstats"].get(name), \
            "%s: node %r, redis-server %r" % (name, got["commandstats"].get(name),
                                              want["commandstats"].get(name))
    assert want["commandstats"]["cmdstat_mset"] == (0, 1, 0)
    assert got["errorstats"] == want["errorstats"] == [
        "errorstat_ERR:count=2", "errorstat_OOM:count=1", "errorstat_WRONGTYPE:count=1"]
    assert got["total_error_replies"] == want["total_error_replies"] == 4
    assert got["total_commands_processed"] == want["total_commands_processed"]


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
    got = subscriber_idle(lambda: node_client(tb))
    want = subscriber_idle(lambda: ref_client(ref))
    for quiet, during, after in (got, want):
        assert quiet >= 2 and after >= 2 and during == [0] * 6, (got, want)
