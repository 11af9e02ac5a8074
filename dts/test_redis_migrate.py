"""test_redis_migrate.py - MIGRATE between two standalone nodes of the testbed
(the "pair" layout: two nodes of one worker lcore: with net_tap the kernel, not
RSS, picks the queue a connection's replies arrive on, so a node of several
workers cannot know which of its lcores will see the target's answers), with
redis-py.

Node 1 moves strings, hashes and sets, with and without TTLs, to node 2 (one
key, and many with KEYS): on node 2 the values, types and TTLs are the ones
node 1 had, and the keys are gone from node 1; COPY keeps them; the target's
BUSYKEY comes back as Redis words it, REPLACE overwrites; a value near
--max-value (1 MiB) goes; a missing key answers NOKEY; a target nobody
listens on answers IOERR. A batch of keys moved with KEYS is timed (keys/s,
printed) and the counters in INFO are checked.
"""
import time

import pytest
import redis

from lib.testbed import node_ip

pytestmark = pytest.mark.testbed("pair")

RPORT = 6379
TTL_MS = 300000
SLACK_MS = 5000


def conn(i):
    return redis.Redis(host=node_ip(i), port=RPORT, socket_timeout=20)


@pytest.fixture
def nodes(tb):
    a, b = conn(1), conn(2)
    assert a.flushall() and b.flushall()
    yield a, b
    a.close()
    b.close()


def build(r, prefix, ttl):
    """Strings, hashes and sets under prefix; returns {key: (type, value)}."""
    want = {
        prefix + "str": ("string", b"hello world"),
        prefix + "int": ("string", b"123456"),
        prefix + "bin": ("string", bytes(range(256)) * 4),
        prefix + "hsmall": ("hash", {b"f%d" % i: b"v%d" % i for i in range(10)}),
        prefix + "hbig": ("hash", {b"field:%d" % i: b"value:%d" % i for i in range(400)}),
        prefix + "sint": ("set", {b"%d" % i for i in range(50)}),
        prefix + "sstr": ("set", {b"m:%d" % i for i in range(300)}),
    }
    for k, (t, v) in want.items():
        if t == "string":
            r.set(k, v)
        elif t == "hash":
            r.hset(k, mapping=v)
        else:
            r.sadd(k, *v)
        if ttl:
            r.pexpire(k, ttl)
    return want


def contents(r, k, t):
    return {"string": r.get, "hash": r.hgetall, "set": r.smembers}[t](k)


def check_moved(src, dst, want, ttl):
    for k, (t, v) in want.items():
        assert src.exists(k) == 0, k
        assert dst.type(k).decode() == t, k
        assert contents(dst, k, t) == v, k
        pttl = dst.pttl(k)
        if ttl:
            assert ttl - SLACK_MS < pttl <= ttl, (k, pttl)
        else:
            assert pttl == -1, (k, pttl)


def test_single_keys_with_and_without_ttl(nodes):
    a, b = nodes
    for ttl in (0, TTL_MS):
        want = build(a, "one%d:" % ttl, ttl)
        for k in want:
            assert a.migrate(node_ip(2), RPORT, k, 0, 5000) == b"OK"
        check_moved(a, b, want, ttl)


def test_keys_option_moves_them_all(nodes):
    a, b = nodes
    want = build(a, "many:", TTL_MS)
    # redis-py sends a list as MIGRATE ... "" ... KEYS k1 k2 ...
    assert a.migrate(node_ip(2), RPORT, list(want) + ["many:missing"], 0, 5000) == b"OK"
    check_moved(a, b, want, TTL_MS)


def test_nokey_copy_replace_busykey(nodes):
    a, b = nodes
    assert a.migrate(node_ip(2), RPORT, "absent", 0, 5000) == b"NOKEY"
    a.set("c", "v1")
    assert a.migrate(node_ip(2), RPORT, "c", 0, 5000, copy=True) == b"OK"
    assert a.get("c") == b"v1" and b.get("c") == b"v1"
    a.set("c", "v2")
    with pytest.raises(redis.ResponseError) as e:
        a.migrate(node_ip(2), RPORT, "c", 0, 5000)
    assert str(e.value) == ("Target instance replied with error: BUSYKEY Target key name "
                            "already exists.")
    assert a.get("c") == b"v2"
    assert a.migrate(node_ip(2), RPORT, "c", 0, 5000, replace=True) == b"OK"
    assert a.exists("c") == 0 and b.get("c") == b"v2"


def test_large_value(nodes):
    a, b = nodes
    v = bytes(range(251)) * (1000000 // 251)
    a.set("big", v)
    assert a.migrate(node_ip(2), RPORT, "big", 0, 10000) == b"OK"
    assert b.get("big") == v and a.exists("big") == 0


def test_unreachable_target(nodes):
    a, _ = nodes
    a.set("stay", "x")
    with pytest.raises(redis.ResponseError) as e:
        a.migrate(node_ip(2), 6390, "stay", 0, 300)	# nothing listens: RST
    assert str(e.value) == "IOERR error or timeout connecting to the client"
    assert a.get("stay") == b"x"


def test_batch_rate_and_counters(nodes):
    a, b = nodes
    n, batch = 5000, 100
    before = a.info("stats")
    p = a.pipeline(transaction=False)
    for i in range(n):
        p.set("b:%d" % i, "value-%d" % i)
    p.execute()
    t0 = time.monotonic()
    for i in range(0, n, batch):
        keys = ["b:%d" % j for j in range(i, i + batch)]
        assert a.migrate(node_ip(2), RPORT, keys, 0, 5000) == b"OK"
    dt = time.monotonic() - t0
    # the same shape without MIGRATE, for scale: batches of SETs on the target, one
    # round trip each (the testbed's nodes share two cores with the client)
    t0 = time.monotonic()
    for i in range(0, n, batch):
        p = b.pipeline(transaction=False)
        for j in range(i, i + batch):
            p.set("x:%d" % j, "value-%d" % j)
        p.execute()
    base = n / (time.monotonic() - t0)
    b.delete(*["x:%d" % j for j in range(n)])
    print("\nMIGRATE KEYS: %d keys in batches of %d: %.0f keys/s (pipelined SETs of %d: "
          "%.0f keys/s)" % (n, batch, n / dt, batch, base))
    assert a.dbsize() == 0 and b.dbsize() == n
    assert b.get("b:4321") == b"value-4321"
    after = a.info("stats")
    assert after["migrate_calls"] - before["migrate_calls"] == n // batch
    assert after["migrate_keys"] - before["migrate_keys"] == n
    assert after["migrate_bytes"] - before["migrate_bytes"] > n * 10
