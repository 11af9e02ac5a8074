"""test_redis_dump.py - DUMP and RESTORE between wirecache and a real Redis.

Debian's redis-server 7.0 runs on loopback (127.0.0.1, a free port, stopped
after; its thresholds set to the stock hash-max-listpack-entries 128,
hash-max-listpack-value 64, set-max-intset-entries 512). For strings (short,
integer, negative, beyond int32, long and compressible: LZF in Redis's
payload), hashes (small: listpack; over 128 fields and with a long value:
hashtable) and sets (integers: intset; small strings; over 512 integers and
strings: hashtable), each with and without a TTL:
  - Redis -> wirecache: DUMP on Redis (the payload's encoding is checked to
    be the one meant), RESTORE on node 1 with Redis's PTTL, then contents and
    PTTL compared; also with ABSTTL at Redis's PEXPIRETIME;
  - wirecache -> Redis: the same built on the node, DUMP there, RESTORE into
    Redis, compared the same way; Redis's own OBJECT ENCODING of what it
    restored is the one it gives the same contents built by hand.
Errors for a corrupted payload and an existing key match Redis's, byte for byte.
"""
import pytest

from lib.resp import RedisServer, RespError

pytestmark = pytest.mark.testbed("redis")

TTL_MS = 500000
SLACK_MS = 5000

# (name, type, builder args); rdbtype: the first payload byte Redis writes
CASES = [
    ("str_short", "string", b"hello world", 0),
    ("str_int", "string", b"12345", 0),
    ("str_neg", "string", b"-100000", 0),
    ("str_bigint", "string", b"1099511627776", 0),
    ("str_long", "string", b"wirecache-dump " * 2000, 0),
    ("str_bin", "string", bytes(range(256)) * 3, 0),
    ("hash_small", "hash", {b"f%d" % i: b"v%d" % i for i in range(10)}, 16),
    ("hash_big", "hash", {b"field:%d" % i: b"value:%d" % (i * 7) for i in range(300)}, 4),
    ("hash_longval", "hash", {b"a": b"x" * 100, b"b": b"2"}, 4),
    ("set_intset", "set", {b"%d" % i for i in range(-5, 20)} | {b"9000000000"}, 11),
    ("set_small", "set", {b"alpha", b"beta", b"gamma"}, 2),
    ("set_bigint", "set", {b"%d" % i for i in range(600)}, 2),
    ("set_bigstr", "set", {b"m:%d" % i for i in range(700)}, 2),
]


@pytest.fixture(scope="module")
def ref():
    srv = RedisServer(26395)
    c = srv.connect()
    for k, v in (("hash-max-listpack-entries", "128"), ("hash-max-listpack-value", "64"),
                 ("set-max-intset-entries", "512")):
        assert c("CONFIG", "SET", k, v) == "OK"
    c.close()
    yield srv
    srv.close()


@pytest.fixture
def rc(ref):
    c = ref.connect()
    assert c("FLUSHALL") == "OK"
    yield c
    c.close()


def build(c, key, typ, val, ttl):
    if typ == "string":
        assert c("SET", key, val) == "OK"
    elif typ == "hash":
        args = []
        for f, v in val.items():
            args += [f, v]
        # in slices: one command per 100 fields keeps each small
        for i in range(0, len(args), 200):
            c("HSET", key, *args[i:i + 200])
    else:
        m = sorted(val)
        for i in range(0, len(m), 100):
            c("SADD", key, *m[i:i + 100])
    if ttl:
        assert c("PEXPIRE", key, ttl) == 1


def contents(c, key, typ):
    if typ == "string":
        return c("GET", key)
    if typ == "hash":
        flat = c("HGETALL", key)
        return dict(zip(flat[0::2], flat[1::2]))
    return set(c("SMEMBERS", key))


def check_ttl(c, key, ttl):
    got = c("PTTL", key)
    if not ttl:
        assert got == -1, "%s: PTTL %r, wanted none" % (key, got)
    else:
        assert ttl - SLACK_MS <= got <= ttl, "%s: PTTL %r, wanted about %d" % (key, got, ttl)


@pytest.mark.parametrize("ttl", [0, TTL_MS], ids=["nottl", "ttl"])
@pytest.mark.parametrize("name,typ,val,rdbtype", CASES, ids=[c[0] for c in CASES])
def test_redis_to_wirecache(rd, rc, name, typ, val, rdbtype, ttl):
    key = "dump:" + name
    build(rc, key, typ, val, ttl)
    payload = rc("DUMP", key)
    assert isinstance(payload, bytes) and payload[0] == rdbtype, (name, payload[:4])
    if name == "str_long":
        assert payload[1] == 0xC3, "Redis did not LZF-compress the long string"
    pttl = rc("PTTL", key)
    assert rd("RESTORE", key, max(pttl, 0), payload) == "OK"
    assert contents(rd, key, typ) == contents(rc, key, typ)
    check_ttl(rd, key, ttl)
    assert rd("TYPE", key) == typ
    # again: BUSYKEY, then REPLACE with an absolute expiry
    assert rd.raw("RESTORE", key, 0, payload) == \
        b"-BUSYKEY Target key name already exists.\r\n"
    at = rc("PEXPIRETIME", key)
    assert rd("RESTORE", key, max(at, 0), payload, "REPLACE", "ABSTTL") == "OK"
    assert contents(rd, key, typ) == contents(rc, key, typ)
    check_ttl(rd, key, ttl)


@pytest.mark.parametrize("ttl", [0, TTL_MS], ids=["nottl", "ttl"])
@pytest.mark.parametrize("name,typ,val,rdbtype", CASES, ids=[c[0] for c in CASES])
def test_wirecache_to_redis(rd, rc, name, typ, val, rdbtype, ttl):
    key = "dump:" + name
    build(rd, key, typ, val, ttl)
    payload = rd("DUMP", key)
    assert isinstance(payload, bytes)
    pttl = rd("PTTL", key)
    assert rc("RESTORE", key, max(pttl, 0), payload) == "OK"
    assert contents(rc, key, typ) == contents(rd, key, typ)
    check_ttl(rc, key, ttl)
    # Redis keeps what it restored as it keeps the same contents built by hand
    build(rc, key + ":hand", typ, val, 0)
    assert rc("OBJECT", "ENCODING", key) == rc("OBJECT", "ENCODING", key + ":hand")
    if typ != "string":
        assert payload[0] == rdbtype, (name, payload[:4])


def test_errors_match(rd, rc):
    payload = rc("DUMP", "nokey")
    assert payload is None and rd("DUMP", "nokey") is None
    assert rc("SET", "k", "v") == "OK" and rd("SET", "k", "v") == "OK"
    good = rc("DUMP", "k")
    bad = good[:3] + bytes([good[3] ^ 1]) + good[4:]
    cases = [
        ("RESTORE", "k", 0, good),
        ("RESTORE", "n", -1, good),
        ("RESTORE", "n", "x", good),
        ("RESTORE", "n", 0, bad),
        ("RESTORE", "n", 0, good, "FREQ", 300),
        ("RESTORE", "n", 0, good, "IDLETIME", -1),
        ("RESTORE", "n", 0, good, "IDLETIME", 1, "FREQ", 1),
        ("RESTORE", "n", 0, good, "NOPE"),
        ("RESTORE", "n", 0),
    ]
    for cmd in cases:
        assert rd.raw(*cmd) == rc.raw(*cmd), cmd
    # the same list payload Redis restores and we cannot hold: a data format error
    assert rc("RPUSH", "l", "a") == 1
    lp = rc("DUMP", "l")
    got = rd("RESTORE", "l", 0, lp)
    assert got == RespError("ERR Bad data format"), got
