"""test_redis_keyev.py - keyspace notifications with real clients (issue 12, part K).

redis-py (RESP2) psubscribes to __keyspace@0__:* and __keyevent@0__:* on the
two-worker "redis" layout (so writes and the subscriber meet across lcores)
and records every notification. The same Redis commands are played against
Debian's redis-server on loopback and the two streams must be equal (names,
classes, order). Then what Redis cannot show: memcached writes over TCP
raise the documented events (set/add/replace/cas -> set, append/prepend ->
append, incr -> incrby, decr -> decrby, touch/gat -> expire, delete -> del),
expiry found by a read and by the crawler raises `expired` once, eviction
raises `evicted`, and INFO counts the events. Last, a RESP3 client that
both writes and listens sees its own notifications where Redis puts them:
before its write's reply, and inside EXEC's reply in a transaction, byte for
byte as redis-server sends them. Every wait is bounded.
"""
import time

import pytest
import redis

from conftest import node_redis, redis_password
from lib.resp import RedisServer, Resp, encode, exchange
from lib.testbed import in_root_ns, node_ip

pytestmark = pytest.mark.testbed("redis")

SENTINEL = "kev:sentinel"


@pytest.fixture(scope="module")
def ref():
    srv = RedisServer(26394)
    yield srv
    srv.close()


def subscribe(c):
    p = c.pubsub()
    p.psubscribe("__keyspace@0__:*", "__keyevent@0__:*")
    for _ in range(2):
        m = p.get_message(timeout=5)
        assert m and m["type"] == "psubscribe", m
    return p


def drain(w, p, timeout=10.0):
    """Every notification up to the sentinel's: with every class on, a SET of SENTINEL
    written last (notifications arrive in order, so nothing is still on its way)."""
    w.config_set("notify-keyspace-events", "KEA")
    w.set(SENTINEL, "1")
    out = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = p.get_message(timeout=0.2)
        if m is None:
            continue
        ch, data = m["channel"].decode(), m["data"].decode()
        if ch == "__keyspace@0__:" + SENTINEL:
            return out
        out.append((ch, data))
    raise AssertionError("the sentinel's notification did not come; so far %r" % out)


def commands(w):
    """Redis writes covering every event name the node raises for Redis commands."""
    k = "{kev}"
    w.set(k + "s", "v")
    w.set(k + "s", "v", ex=100)
    w.set(k + "s", "v", nx=True)
    w.persist(k + "s")
    w.persist(k + "s")
    w.expire(k + "s", 50)
    w.append(k + "s", "x")
    w.setrange(k + "s", 1, "yy")
    w.setrange(k + "s", 1, "")
    w.mset({k + "a": "1", k + "b": "2"})
    w.msetnx({k + "c": "1", k + "d": "2"})
    w.incr(k + "a")
    w.decrby(k + "a", 5)
    w.incrbyfloat(k + "a", 1.5)
    w.getset(k + "a", "7")
    w.getex(k + "a", px=100000)
    w.getex(k + "a", persist=True)
    w.getdel(k + "a")
    w.rename(k + "b", k + "r")
    w.renamenx(k + "r", k + "c")
    w.copy(k + "r", k + "cp")
    w.delete(k + "r", k + "cp", k + "nothing")
    w.expire(k + "c", -1)
    w.setex(k + "x", 100, "v")
    w.psetex(k + "x", 100000, "v")
    w.setnx(k + "x", "v")
    w.hset(k + "h", mapping={"f": "1", "g": "2"})
    w.hsetnx(k + "h", "f", "1")
    w.hsetnx(k + "h", "n", "1")
    w.hincrby(k + "h", "f", 2)
    w.hincrbyfloat(k + "h", "f", 0.5)
    w.hdel(k + "h", "f", "zz")
    w.hdel(k + "h", "g", "n")
    w.sadd(k + "t", "a", "b", "c")
    w.sadd(k + "t", "a")
    w.srem(k + "t", "a")
    w.smove(k + "t", k + "u", "b")
    w.spop(k + "t")
    w.sadd(k + "v", "b", "x")
    w.sinterstore(k + "w", [k + "u", k + "v"])
    w.sunionstore(k + "w", [k + "u", k + "v"])
    w.sdiffstore(k + "w", [k + "u", k + "v"])
    w.spop(k + "v", 5)
    w.get(k + "missing")
    w.execute_command("FLUSHALL")


def scenario(w, flags):
    w.config_set("notify-keyspace-events", flags)
    p = subscribe(w)
    try:
        commands(w)
        return drain(w, p)
    finally:
        p.close()
        w.config_set("notify-keyspace-events", "")


@pytest.mark.parametrize("flags", ["KEA", "KEAn", "Kg$", "Eshx", "Km"])
def test_redis_writes_like_redis(tb, rd, ref, flags):
    node = node_redis(tb)
    node.flushall()
    got = scenario(node, flags)
    with in_root_ns():
        rc = redis.Redis(host="127.0.0.1", port=ref.port, socket_timeout=10)
        try:
            rc.flushall()
            want = scenario(rc, flags)
        finally:
            rc.close()
    assert got, "no notifications at all"
    diffs = ["  %d: node %r\n     redis %r" % (i, g, w)
             for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert len(got) == len(want) and not diffs, \
        "differences from redis-server (%d vs %d):\n%s" % (len(got), len(want),
                                                           "\n".join(diffs))


def both(key, ev):
    return [("__keyspace@0__:" + key, ev), ("__keyevent@0__:" + ev, key)]


def test_memcached_writes_raise_events(tb, rd):
    w = node_redis(tb)
    m = tb.tcp(1)
    w.config_set("notify-keyspace-events", "KEA")
    p = subscribe(node_redis(tb))
    try:
        assert m.cmd("set mk 0 0 1\r\nx") == b"STORED\r\n"
        assert m.cmd("append mk 0 0 1\r\ny") == b"STORED\r\n"
        assert m.cmd("prepend mk 0 0 1\r\nw") == b"STORED\r\n"
        assert m.cmd("replace mk 0 0 1\r\n5") == b"STORED\r\n"
        assert m.cmd("incr mk 3") == b"8\r\n"
        assert m.cmd("decr mk 1") == b"7\r\n"
        assert m.cmd("touch mk 100") == b"TOUCHED\r\n"
        assert m.cmd("add mk 0 0 1\r\nz") == b"NOT_STORED\r\n"
        assert m.cmd("delete mk") == b"DELETED\r\n"
        assert m.cmd("delete mk") == b"NOT_FOUND\r\n"
        assert m.cmd("add mk 0 0 1\r\nz") == b"STORED\r\n"
        assert m.cmd("md mk") == b"HD\r\n"
        got = drain(w, p)
    finally:
        p.close()
        w.config_set("notify-keyspace-events", "")
    want = (both("mk", "set") + both("mk", "append") + both("mk", "append") +
            both("mk", "set") + both("mk", "incrby") + both("mk", "decrby") +
            both("mk", "expire") + both("mk", "del") + both("mk", "set") + both("mk", "del"))
    assert got == want


def wait_for(p, pred, timeout):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        m = p.get_message(timeout=0.2)
        if m is None:
            continue
        item = (m["channel"].decode(), m["data"].decode())
        seen.append(item)
        if pred(item):
            return seen
    raise AssertionError("not within %.0fs; saw %r" % (timeout, seen[-20:]))


def test_expiry_by_read_and_by_crawler(tb, rd):
    w = node_redis(tb)
    w.config_set("notify-keyspace-events", "Ex")
    p = subscribe(node_redis(tb))
    try:
        # found by a read (from whichever lcore the reader is on): `expired` once
        w.set("kev:e1", "v", px=200)
        time.sleep(0.6)
        assert w.get("kev:e1") is None
        assert w.get("kev:e1") is None
        seen = wait_for(p, lambda it: it == ("__keyevent@0__:expired", "kev:e1"), 10)
        # found by the crawler: nobody reads it
        w.set("kev:e2", "v", px=200)
        seen += wait_for(p, lambda it: it == ("__keyevent@0__:expired", "kev:e2"), 30)
        time.sleep(0.5)
        while True:
            m = p.get_message(timeout=0.2)
            if m is None:
                break
            seen.append((m["channel"].decode(), m["data"].decode()))
        assert seen.count(("__keyevent@0__:expired", "kev:e1")) == 1, seen
        assert seen.count(("__keyevent@0__:expired", "kev:e2")) == 1, seen
    finally:
        p.close()
        w.config_set("notify-keyspace-events", "")


def test_eviction_raises_evicted(tb, rd):
    w = node_redis(tb)
    w.config_set("notify-keyspace-events", "Ee")
    p = subscribe(node_redis(tb))
    value = b"v" * (512 * 1024)
    try:
        before = w.info("stats")["evicted_keys"]
        evicted = []
        for batch in range(40):     # up to 40 x 32 x 512 KiB = 640 MiB into 256 MiB
            pipe = w.pipeline(transaction=False)
            for i in range(32):
                pipe.set("kev:big:%d:%d" % (batch, i), value)
            pipe.execute()
            while True:
                m = p.get_message(timeout=0.05)
                if m is None:
                    break
                if m["channel"] == b"__keyevent@0__:evicted":
                    evicted.append(m["data"].decode())
            if evicted and w.info("stats")["evicted_keys"] > before:
                break
        assert evicted, "no evicted notification after writing 640 MiB"
        assert all(k.startswith("kev:big:") for k in evicted), evicted[:5]
        info = w.info("stats")
        assert info["keyspace_events_raised"] > 0
    finally:
        p.close()
        w.config_set("notify-keyspace-events", "")
        w.flushall()


def test_nothing_listening_counts_nothing(tb, rd):
    w = node_redis(tb)
    w.config_set("notify-keyspace-events", "")
    before = w.info("stats")["keyspace_events_raised"]
    for i in range(50):
        w.set("kev:quiet:%d" % i, "v")
    assert w.info("stats")["keyspace_events_raised"] == before
    assert w.config_get("notify-keyspace-events") == {"notify-keyspace-events": ""}
    w.config_set("notify-keyspace-events", "KEA")
    assert w.config_get("notify-keyspace-events") == {"notify-keyspace-events": "AKE"}
    w.config_set("notify-keyspace-events", "")


# ---- a writer's own notifications (RESP3) ----

def own_commands(t):
    """Writes on keys of hash tag t (one partition), whose notifications a RESP3
    writer subscribed to them gets in Redis's order (SPOP aside: its members are
    written before the pop's notification here)."""
    k, h, s = "{%s}k" % t, "{%s}h" % t, "{%s}s" % t
    return [("SADD", s, "a"), ("SREM", s, "a"), ("SADD", s, "a", "b"),
            ("SMOVE", s, s + "2", "a"), ("HSET", h, "f", "1"), ("HINCRBY", h, "f", "2"),
            ("HINCRBYFLOAT", h, "f", "1.5"), ("HDEL", h, "f"), ("SET", k, "1"), ("INCR", k),
            ("INCRBYFLOAT", k, "1.5"), ("APPEND", k, "x"), ("SETRANGE", k, "0", "y"),
            ("EXPIRE", k, "100"), ("PERSIST", k), ("RENAME", k, k + "2"),
            ("COPY", k + "2", k + "3"), ("GETDEL", k + "3"), ("SET", k, "v", "GET"),
            ("EXPIRE", k + "2", "-1"), ("DEL", k, s + "2", "{%s}none" % t)]


def own_scenario(conn, tags):
    """Everything the writer-subscriber gets: each command alone, then the same ones in
    one transaction per tag."""
    conn.raw("HELLO", "3")
    conn.send(encode("PSUBSCRIBE", "__key*@0__:*"))
    conn.reply()
    out = []
    for i, t in enumerate(tags):
        data = b"".join(encode(*c) for c in own_commands(t))
        out.append(exchange(conn, data, "plain%d" % i, timeout=30.0))
    for i, t in enumerate(tags):
        data = encode("MULTI") + b"".join(encode(*c) for c in own_commands(t)) + encode("EXEC")
        out.append(exchange(conn, data, "multi%d" % i, timeout=30.0))
    return out


def test_own_notifications_where_redis_puts_them(tb, rd, ref):
    tags = ["o%d" % i for i in range(8)]
    rd("CONFIG", "SET", "notify-keyspace-events", "KEA")
    try:
        node = tb.track(Resp(node_ip(1)))
        pw = redis_password(tb.config)
        if pw:
            assert node.raw("AUTH", pw) == b"+OK\r\n"
        got = own_scenario(node, tags)
    finally:
        rd("CONFIG", "SET", "notify-keyspace-events", "")
    with ref.connect() as rc:
        rc.raw("FLUSHALL")
        rc.raw("CONFIG", "SET", "notify-keyspace-events", "KEA")
        try:
            want = own_scenario(rc, tags)
        finally:
            rc.raw("CONFIG", "SET", "notify-keyspace-events", "")
    assert b"__keyevent@0__:incrby" in want[0]
    diffs = ["  %d: node %r\n     redis %r" % (i, g, w)
             for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert len(got) == len(want) and not diffs, "differences from redis-server:\n" + \
        "\n".join(diffs)
