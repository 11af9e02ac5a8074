"""test_redis_py.py - Debian's redis-py (python3-redis 4.3, for /usr/bin/python3)
through its client API against the node, each scenario played the same way
against Debian's redis-server on loopback: the return values and the
exception classes (and texts) must be the same. Families: strings, keys and
expiry, transactions (MULTI/EXEC pipelines, WATCH), plain pipelines of many
commands, connection commands, binary-safe keys and 1 MiB values; hashes,
sets, INFO/CONFIG/CLIENT LIST/SLOWLOG/MEMORY and ACL users once those are
merged (skipped only while the node answers "unknown command"); AUTH with
--requirepass (layout "redis-auth").

redis-py 4.3 speaks RESP2 only (no protocol=3): RESP3 is covered byte for
byte in test_redis_resp3.py.
"""
import time
import pytest
import redis

from conftest import redis_password
from lib.resp import RedisServer, Resp, need
from lib.testbed import in_root_ns, node_ip

pytestmark = pytest.mark.testbed("redis")


@pytest.fixture(scope="module")
def ref():
    srv = RedisServer(26390)
    yield srv
    srv.close()


def client(tb, **kw):
    kw.setdefault("password", redis_password(tb.config))
    c = redis.Redis(host=node_ip(1), port=6379, socket_timeout=10, socket_connect_timeout=5, **kw)
    tb.track(c)
    return c


def ref_client(ref, **kw):
    return redis.Redis(host="127.0.0.1", port=ref.port, socket_timeout=10, **kw)


@pytest.fixture
def r(tb, rd):
    return client(tb)


class Raised(tuple):
    pass


def norm(v):
    """Errors inside results (a pipeline's) as Raised, which compare by class and text."""
    if isinstance(v, Exception):
        return Raised((type(v).__name__, str(v)))
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v


def play(c, steps, other=None):
    """Run steps ((name, fn(client, other))) on c; every result or raised Redis error."""
    out = []
    for name, fn in steps:
        try:
            v = norm(fn(c, other))
        except redis.RedisError as e:
            v = Raised((type(e).__name__, str(e)))
        out.append((name, v))
    return out


def same_as_redis(tb, ref, steps, **kw):
    """Play steps on the node and on redis-server (fresh keyspaces, each with a second
    client as `other`); assert every result is the same; return the node's results."""
    node, node2 = client(tb, **kw), client(tb, **kw)
    node.flushall()
    got = play(node, steps, node2)
    with in_root_ns():               # the sockets to redis-server are made in the host's
        rc, rc2 = ref_client(ref, **kw), ref_client(ref, **kw)
        try:
            rc.flushall()
            want = play(rc, steps, rc2)
        finally:
            rc.close()
            rc2.close()
    diffs = ["  %s:\n    node:  %r\n    redis: %r" % (n, g, w)
             for (n, g), (_, w) in zip(got, want) if g != w]
    assert not diffs, "redis-py saw differences from redis-server:\n" + "\n".join(diffs)
    return dict(got)


S = [
    ("set", lambda c, o: c.set("k", "v")),
    ("get", lambda c, o: c.get("k")),
    ("get missing", lambda c, o: c.get("nope")),
    ("set nx", lambda c, o: c.set("k", "w", nx=True)),
    ("set xx get", lambda c, o: c.set("k", "w", xx=True, get=True)),
    ("set ex px", lambda c, o: c.execute_command("SET", "k", "w", "EX", 10, "PX", 10)),
    ("set keepttl", lambda c, o: c.set("k", "x", keepttl=True)),
    ("setex", lambda c, o: c.setex("sx", 100, "v")),
    ("psetex", lambda c, o: c.psetex("px", 100000, "v")),
    ("setnx", lambda c, o: [c.setnx("nx", 1), c.setnx("nx", 2), c.get("nx")]),
    ("mset mget", lambda c, o: [c.mset({"a": 1, "b": "two"}), c.mget("a", "nope", "b")]),
    ("msetnx", lambda c, o: [c.msetnx({"{t}a": 1, "{t}z": 2}), c.msetnx({"{t}y": 1, "{t}z": 2}),
                             c.mget("{t}a", "{t}y", "{t}z")]),
    ("getset getdel", lambda c, o: [c.getset("a", 5), c.getdel("a"), c.getdel("a")]),
    ("getex", lambda c, o: [c.getex("b", ex=100), c.ttl("b"), c.getex("b", persist=True),
                            c.ttl("b"), c.getex("nope", px=5)]),
    ("append strlen", lambda c, o: [c.append("s", "hello"), c.append("s", " world"),
                                    c.strlen("s"), c.strlen("nope")]),
    ("getrange", lambda c, o: [c.getrange("s", 0, 4), c.getrange("s", -5, -1),
                               c.getrange("s", 100, 200), c.getrange("nope", 0, 1)]),
    ("setrange", lambda c, o: [c.setrange("s", 6, "W"), c.get("s"), c.setrange("pad", 3, "x"),
                               c.get("pad")]),
    ("setrange negative", lambda c, o: c.setrange("s", -1, "x")),
    ("incr family", lambda c, o: [c.incr("n"), c.incr("n", 10), c.decr("n"), c.decr("n", 5),
                                  c.incrby("n", -100), c.decrby("n", -1)]),
    ("incr not int", lambda c, o: c.incr("s")),
    ("incr overflow", lambda c, o: [c.set("big", 2**63 - 1), c.incr("big")]),
    ("incrbyfloat", lambda c, o: [c.incrbyfloat("f", 1.5), c.incrbyfloat("f", -0.25),
                                  c.incrbyfloat("f", 1e3), c.get("f")]),
    ("incrbyfloat bad", lambda c, o: c.incrbyfloat("s", 1)),
    ("wrong arity", lambda c, o: c.execute_command("GET")),
    ("unknown", lambda c, o: c.execute_command("NOSUCH", "x")),
    ("set syntax", lambda c, o: c.execute_command("SET", "k", "v", "BOGUS")),
    ("set bad expire", lambda c, o: c.set("k", "v", ex=0)),
]


def test_strings(tb, r, ref):
    got = same_as_redis(tb, ref, S)
    assert got["get"] == b"v" and got["mset mget"] == [True, [b"1", None, b"two"]]


K = [
    ("setup", lambda c, o: c.mset({"{k}k1": "a", "{k}k2": "b", "{k}k3": "c", "{k}other": "d"})),
    ("delete", lambda c, o: c.delete("{k}k1", "{k}nope", "{k}k2")),
    ("unlink", lambda c, o: [c.set("{k}u", 1), c.unlink("{k}u", "{k}nope")]),
    ("exists", lambda c, o: c.exists("{k}k1", "{k}k3", "{k}k3", "{k}nope")),
    ("type", lambda c, o: [c.type("{k}k3"), c.type("{k}nope")]),
    ("touch", lambda c, o: c.touch("{k}k3", "{k}nope")),
    ("rename", lambda c, o: [c.rename("{k}k3", "{k}k4"), c.get("{k}k4")]),
    ("rename missing", lambda c, o: c.rename("{k}nope", "{k}x")),
    ("renamenx", lambda c, o: [c.renamenx("{k}k4", "{k}other"), c.renamenx("{k}k4", "{k}k5")]),
    ("copy", lambda c, o: [c.copy("{k}k5", "{k}k6"), c.copy("{k}k5", "{k}k6"), c.copy("{k}k5", "{k}k6",
                                                                         replace=True)]),
    ("dbsize", lambda c, o: c.dbsize()),
    ("keys", lambda c, o: sorted(c.keys("{k}k*"))),
    ("keys none", lambda c, o: c.keys("{k}zzz*")),
    ("scan_iter", lambda c, o: sorted(c.scan_iter(match="{k}k*", count=2))),
    ("randomkey", lambda c, o: c.randomkey() in (b"{k}k5", b"{k}k6", b"{k}other")),
    ("expire", lambda c, o: [c.expire("{k}k5", 100), c.ttl("{k}k5") in (99, 100), c.pttl("{k}k5") > 99000,
                             c.persist("{k}k5"), c.ttl("{k}k5"), c.ttl("{k}nope"), c.pttl("{k}nope")]),
    ("expire options", lambda c, o: [c.expire("{k}k5", 100, nx=True), c.expire("{k}k5", 50, nx=True),
                                     c.expire("{k}k5", 200, gt=True), c.expire("{k}k5", 100, gt=True),
                                     c.expire("{k}k5", 10, lt=True), c.ttl("{k}k5"),
                                     c.expire("{k}k5", 5, xx=True), c.expire("{k}nope", 5)]),
    ("expire both", lambda c, o: c.execute_command("EXPIRE", "{k}k5", 5, "NX", "XX")),
    ("pexpire", lambda c, o: [c.pexpire("{k}k6", 100000), 99000 < c.pttl("{k}k6") <= 100000]),
    ("expireat", lambda c, o: [c.expireat("{k}k6", 4102444800), c.expiretime("{k}k6"),
                               c.pexpireat("{k}k6", 4102444800123), c.pexpiretime("{k}k6")]),
    ("expireat past", lambda c, o: [c.expireat("{k}k6", 1000), c.exists("{k}k6")]),
    ("expire 0", lambda c, o: [c.set("{k}gone", 1), c.expire("{k}gone", 0), c.get("{k}gone")]),
    ("flushdb", lambda c, o: [c.flushdb(), c.dbsize()]),
]


def test_keys_and_expiry(tb, r, ref):
    got = same_as_redis(tb, ref, K)
    assert got["delete"] == 2 and got["type"] == [b"string", b"none"] and got["dbsize"] == 3
    # one database: SELECT 1 and COPY ... DB 1 are refused as Redis refuses a database
    # index past `databases`
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        r.execute_command("SELECT", 1)
    r.set("k", "v")
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        r.copy("k", "k2", destination_db=1)


def _watch(c, o):
    c.set("w", 1)
    with c.pipeline() as p:
        p.watch("w")
        o.set("w", 100)                     # another client changes it
        p.multi()
        p.incr("w")
        try:
            p.execute()
            return "executed"
        except redis.WatchError:
            return ["WatchError", c.get("w")]


def _watch_untouched(c, o):
    c.set("w2", 1)
    with c.pipeline() as p:
        p.watch("w2")
        v = int(p.get("w2"))
        p.multi()
        p.set("w2", v + 1)
        return [p.execute(), c.get("w2")]


T = [
    ("multi exec", lambda c, o: c.pipeline(transaction=True).set("x", 1).incr("x").get("x")
     .execute()),
    ("runtime error inside", lambda c, o: c.pipeline(transaction=True).set("{t}s", "str")
     .incr("{t}s").set("{t}t", 1).execute(raise_on_error=False)),
    ("runtime error raised", lambda c, o: c.pipeline(transaction=True).incr("{t}s").execute()),
    ("queue error: EXECABORT", lambda c, o: c.pipeline(transaction=True).set("a", 1)
     .execute_command("SET", "a").execute()),
    ("after abort", lambda c, o: c.get("a")),
    ("watch changed", _watch),
    ("watch untouched", _watch_untouched),
    ("transaction helper", lambda c, o: c.transaction(lambda p: [p.get("th"), p.multi(),
                                                               p.incr("th")], "th")),
    ("plain pipeline", lambda c, o: c.pipeline(transaction=False).set("p", 1).incr("p")
     .incr("{t}s").get("p").execute(raise_on_error=False)),
    ("big pipeline", lambda c, o: _big_pipeline(c)),
    ("exec without multi", lambda c, o: c.execute_command("EXEC")),
    ("discard without multi", lambda c, o: c.execute_command("DISCARD")),
]


def _big_pipeline(c):
    p = c.pipeline(transaction=False)
    for i in range(5000):
        p.set("bp:%d" % i, i)
    for i in range(5000):
        p.incr("bp:%d" % i)
    out = p.execute()
    vals = c.mget(["bp:%d" % i for i in range(5000)])
    return [out[:5000] == [True] * 5000, out[5000:] == list(range(1, 5001)),
            vals == [b"%d" % (i + 1) for i in range(5000)]]


def test_transactions_and_pipelines(tb, r, ref):
    got = same_as_redis(tb, ref, T)
    assert got["multi exec"] == [True, 2, b"2"]
    assert got["watch changed"] == ["WatchError", b"100"]
    assert got["big pipeline"] == [True, True, True]
    assert isinstance(got["queue error: EXECABORT"], Raised)


C = [
    ("ping", lambda c, o: c.ping()),
    ("echo", lambda c, o: c.echo("hi there")),
    ("setname", lambda c, o: [c.client_setname("py-client"), c.client_getname()]),
    ("setname bad", lambda c, o: c.client_setname("has space")),
    ("client id", lambda c, o: isinstance(c.client_id(), int)),
    ("time", lambda c, o: [len(c.time()), c.time()[0] > 1600000000]),
    ("lastsave", lambda c, o: type(c.lastsave()).__name__),
    ("select", lambda c, o: c.execute_command("SELECT", 0)),
    ("wait", lambda c, o: c.wait(0, 100)),
    ("auth without password", lambda c, o: c.execute_command("AUTH", "x")),
    ("hello 2", lambda c, o: {k: v for k, v in _pairs(c.execute_command("HELLO", "2")).items()
                              if k not in (b"id", b"version")}),
    ("hello 4", lambda c, o: c.execute_command("HELLO", "4")),
    ("no-evict", lambda c, o: c.client_no_evict("on")),
]


def _pairs(flat):
    return dict(zip(flat[0::2], flat[1::2]))


def test_connection(tb, r, ref):
    got = same_as_redis(tb, ref, C)
    assert got["ping"] is True and got["echo"] == b"hi there"
    hello = _pairs(r.execute_command("HELLO", "2"))
    assert hello[b"version"] == b"7.0.15" and hello[b"proto"] == 2


def test_binary_keys_and_large_values(tb, r):
    key = bytes(range(256))[:250]
    val = bytes(range(256)) * 4096                      # 1 MiB, every byte value
    assert r.set(key, val) is True
    assert r.get(key) == val
    assert r.strlen(key) == len(val)
    assert r.getrange(key, 1048570, -1) == val[1048570:]
    # past --max-value (1 MiB here) a value does not grow, with Redis's error for it
    with pytest.raises(redis.ResponseError, match=r"^string exceeds maximum allowed size "
                       r"\(proto-max-bulk-len\)$"):
        r.append(key, b"\r\n")
    assert r.strlen(key) == len(val)
    assert r.set(b"s\r\n", val[:1000]) is True and r.append(b"s\r\n", b"\r\n") == 1002
    many = {b"k\x00%d" % i: val[i:i + 1000] for i in range(200)}
    assert r.mset(many) is True
    assert r.mget(list(many)) == list(many.values())


H = [
    ("hset", lambda c, o: [c.hset("h", "f1", "v1"), c.hset("h", mapping={"f2": 2, "f3": "x"}),
                           c.hset("h", "f1", "v1b")]),
    ("hget", lambda c, o: [c.hget("h", "f1"), c.hget("h", "nope"), c.hget("nope", "f")]),
    ("hgetall", lambda c, o: [c.hgetall("h"), c.hgetall("nope")]),
    ("hmget", lambda c, o: c.hmget("h", "f1", "nope", "f2")),
    ("hlen hexists hstrlen", lambda c, o: [c.hlen("h"), c.hexists("h", "f2"),
                                           c.hexists("h", "no"), c.hstrlen("h", "f1")]),
    ("hkeys hvals", lambda c, o: [sorted(c.hkeys("h")), sorted(c.hvals("h"))]),
    ("hincrby", lambda c, o: [c.hincrby("h", "f2", 5), c.hincrbyfloat("h", "f2", 0.5)]),
    ("hincrby bad", lambda c, o: c.hincrby("h", "f3", 1)),
    ("hsetnx", lambda c, o: [c.hsetnx("h", "f1", "no"), c.hsetnx("h", "f9", "yes")]),
    ("hdel", lambda c, o: [c.hdel("h", "f9", "nope"), c.hlen("h")]),
    ("hrandfield", lambda c, o: [c.hrandfield("h") in (b"f1", b"f2", b"f3"),
                                 sorted(c.hrandfield("h", 10))]),
    ("hscan", lambda c, o: sorted(c.hscan_iter("h"))),
    ("wrongtype", lambda c, o: [c.set("str", 1), c.execute_command("HGET", "str", "f")]),
    ("wrongtype get", lambda c, o: c.get("h")),
    ("type", lambda c, o: c.type("h")),
    ("big hash", lambda c, o: [c.hset("bh", mapping={"f%d" % i: i for i in range(1000)}),
                               c.hlen("bh"), c.hget("bh", "f777")]),
]


def test_hashes(tb, r, ref):
    need(r_raw(tb), "hash")
    got = same_as_redis(tb, ref, H)
    assert got["hget"] == [b"v1b", None, None]


SETS = [
    ("sadd", lambda c, o: [c.sadd("{s}s", "a", "b", "c"), c.sadd("{s}s", "a", "{s}d")]),
    ("smembers", lambda c, o: [c.smembers("{s}s"), c.smembers("nope")]),
    ("sismember", lambda c, o: [c.sismember("{s}s", "a"), c.sismember("{s}s", "z"),
                                c.smismember("{s}s", ["a", "z", "{s}d"])]),
    ("scard srem", lambda c, o: [c.scard("{s}s"), c.srem("{s}s", "{s}d", "zz"), c.scard("{s}s")]),
    ("ops", lambda c, o: [c.sadd("{s}t", "b", "c", "x"), c.sinter("{s}s", "{s}t"), c.sunion("{s}s", "{s}t"),
                          c.sdiff("{s}s", "{s}t"), c.sintercard(2, ["{s}s", "{s}t"])]),
    ("stores", lambda c, o: [c.sinterstore("{s}i", ["{s}s", "{s}t"]), c.sunionstore("{s}u", ["{s}s", "{s}t"]),
                             c.sdiffstore("{s}d", ["{s}s", "{s}t"]), c.smembers("{s}i"), c.smembers("{s}d")]),
    ("smove", lambda c, o: [c.smove("{s}s", "{s}t", "a"), c.smove("{s}s", "{s}t", "zz"), c.smembers("{s}t")]),
    ("spop srandmember", lambda c, o: [c.sadd("p", "1", "2", "3"), c.spop("p") in (b"1", b"2",
                                                                                   b"3"),
                                       c.scard("p"), len(c.srandmember("p", 5))]),
    ("sscan", lambda c, o: sorted(c.sscan_iter("{s}u"))),
    ("wrongtype", lambda c, o: [c.set("str", 1), c.sadd("str", "x")]),
    ("type", lambda c, o: c.type("{s}s")),
    ("big set", lambda c, o: [c.sadd("bs", *range(2000)), c.scard("bs"), c.sismember("bs", 1999)]),
]


def test_sets(tb, r, ref):
    need(r_raw(tb), "set")
    got = same_as_redis(tb, ref, SETS)
    assert got["smembers"] == [{b"a", b"b", b"c", b"{s}d"}, set()]


# Encodings: both servers get the same thresholds (the node's entries limit is at most 64),
# then OBJECT ENCODING must agree: hashes listpack/hashtable, sets intset/hashtable, strings.
ENC = [
    ("config", lambda c, o: c.config_set("hash-max-ziplist-entries", 8) and
     c.config_set("hash-max-listpack-value", 16) and c.config_set("set-max-intset-entries", 20)),
    ("small hash", lambda c, o: [c.hset("h1", mapping={"a": 1, "b": 2}),
                                 c.object("encoding", "h1")]),
    ("hash past entries", lambda c, o: [c.hset("h2", mapping={str(i): i for i in range(9)}),
                                        c.object("encoding", "h2"), c.hdel("h2", "1", "2"),
                                        c.object("encoding", "h2")]),
    ("hash long value", lambda c, o: [c.hset("h3", "f", "x" * 17), c.object("encoding", "h3"),
                                      c.hset("h4", "f", "x" * 16), c.object("encoding", "h4")]),
    ("hincrbyfloat", lambda c, o: [c.hset("h5", "f", 0), c.hincrbyfloat("h5", "f", 0.5),
                                   c.object("encoding", "h5")]),
    ("intset", lambda c, o: [c.sadd("s1", 1, 2, -3), c.object("encoding", "s1"),
                             c.sadd("s1", "x"), c.srem("s1", "x"), c.object("encoding", "s1")]),
    ("intset limit", lambda c, o: [c.sadd("s2", *range(20)), c.object("encoding", "s2"),
                                   c.sadd("s2", 20), c.object("encoding", "s2")]),
    ("not integers", lambda c, o: [c.sadd("s3", "01", "-0", "+1"), c.object("encoding", "s3"),
                                   c.sadd("s4", "9223372036854775808"),
                                   c.object("encoding", "s4")]),
    ("store", lambda c, o: [c.sadd("{s}a", 1, 2, 3), c.sadd("{s}b", 2, "y"),
                            c.sinterstore("{s}i", ["{s}a", "{s}b"]),
                            c.object("encoding", "{s}i"),
                            c.sunionstore("{s}u", ["{s}a", "{s}b"]),
                            c.object("encoding", "{s}u")]),
    ("strings", lambda c, o: [c.mset({"i": 123, "e": "abc", "r": "z" * 45, "n": "0123"}),
                              [c.object("encoding", k) for k in ("i", "e", "r", "n")]]),
    ("missing", lambda c, o: c.object("encoding", "nope")),
    ("refcount", lambda c, o: c.object("refcount", "e")),
    # (one name with a space: redis-py then applies no COMMAND reply parser)
    ("getkeysandflags", lambda c, o: [c.execute_command("COMMAND GETKEYSANDFLAGS", *a)
                                      for a in (("set", "k", "v"), ("set", "k", "v", "get"),
                                                ("rename", "a", "b"), ("smove", "a", "b", "m"),
                                                ("copy", "a", "b"))]),
    ("restore", lambda c, o: c.config_set("hash-max-listpack-entries", 64) and
     c.config_set("hash-max-listpack-value", 64) and c.config_set("set-max-intset-entries", 512)),
]


def test_encodings_as_redis(tb, r, ref):
    need(r_raw(tb), "object")
    got = same_as_redis(tb, ref, ENC)
    assert got["hash past entries"][1] in (b"hashtable", "hashtable"), got
    assert got["intset"][1] in (b"intset", "intset"), got


def r_raw(tb):
    return tb.track(Resp(node_ip(1)))


def test_server_introspection(tb, r):
    raw = r_raw(tb)
    need(raw, "info")
    info = r.info()
    assert info["redis_version"] == "7.0.15" and info["redis_mode"] == "standalone", info
    assert "keyspace" in r.info("keyspace") or r.info("keyspace") == {}
    need(raw, "config")
    assert set(r.config_get("maxmemory")) == {"maxmemory"}
    need(raw, "client-list")
    r.client_setname("lister")
    names = [c["name"] for c in r.client_list()]
    assert "lister" in names, names
    need(raw, "slowlog")
    assert isinstance(r.slowlog_len(), int) and isinstance(r.slowlog_get(), list)
    assert r.slowlog_reset() is True
    need(raw, "memory")
    r.set("mem", "x" * 1000)
    assert r.memory_usage("mem") >= 1000
    need(raw, "client-kill")
    victim = client(tb)
    victim.client_setname("victim")
    vid = victim.client_id()
    assert r.client_kill_filter(_id=vid) == 1
    deadline = time.monotonic() + 5
    while vid in [int(c["id"]) for c in r.client_list()] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert vid not in [int(c["id"]) for c in r.client_list()]
    # redis-py's pool sees the closed connection and opens a new one, as with Redis
    assert victim.ping() is True and victim.client_id() != vid



def _fast_commands_seen(worker, admin):
    old = admin.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"]
    try:
        worker.client_setname("worker")
        time.sleep(2.2)
        me = [x for x in admin.client_list() if x["name"] == "worker"][0]
        assert me["cmd"] == "client|setname" and int(me["idle"]) >= 2, me
        admin.config_set("slowlog-log-slower-than", 0)
        admin.slowlog_reset()
        assert worker.set("fp:k", "v1") is True
        assert worker.get("fp:k") == b"v1"
        me = [x for x in admin.client_list() if x["name"] == "worker"][0]
        assert me["cmd"] == "get" and int(me["idle"]) == 0, me
        entries = [e["command"] for e in admin.slowlog_get(10)]
        assert b"GET fp:k" in entries and b"SET fp:k v1" in entries, entries
    finally:
        admin.config_set("slowlog-log-slower-than", old)
        worker.close()


def test_fast_path_commands_are_seen(tb, r, ref):
    """A lone SET and GET (which the node answers on its transport's fast path)
    show in SLOWLOG and in CLIENT LIST's cmd= and idle= as Redis shows them."""
    _fast_commands_seen(client(tb), r)
    with in_root_ns():               # the sockets to redis-server are made in the host's
        admin = ref_client(ref)
        try:
            _fast_commands_seen(ref_client(ref), admin)
        finally:
            admin.close()


ACL = [
    ("whoami", lambda c, o: c.acl_whoami()),
    ("setuser", lambda c, o: c.acl_setuser("alice", enabled=True, passwords=["+pw"],
                                           commands=["+get", "+set", "+ping"], keys=["a:*"])),
    ("getuser", lambda c, o: sorted(c.acl_getuser("alice")["flags"])),
    ("users", lambda c, o: sorted(c.acl_users())),
    ("as alice", lambda c, o: _as_user(c, "alice", "pw")),
    ("wrong password", lambda c, o: _as_user(c, "alice", "bad")),
    ("deluser", lambda c, o: [c.acl_deluser("alice"), c.acl_deluser("alice")]),
]


def _as_user(c, user, pw):
    kw = c.connection_pool.connection_kwargs
    u = redis.Redis(host=kw["host"], port=kw["port"], username=user, password=pw,
                    socket_timeout=10)
    out = []
    try:
        for fn in (lambda: u.set("a:1", "x"), lambda: u.get("a:1"), lambda: u.get("b:1"),
                   lambda: u.incr("a:2"), lambda: u.acl_whoami()):
            try:
                out.append(fn())
            except redis.RedisError as e:
                out.append(Raised((type(e).__name__, str(e))))
    finally:
        u.close()
    return out


def test_acl_users_and_denials(tb, r, ref):
    need(r_raw(tb), "acl")
    got = same_as_redis(tb, ref, ACL)
    denied = got["as alice"]
    assert denied[0] is True and denied[1] == b"x", denied
    assert isinstance(denied[2], Raised) and denied[2][0] == "NoPermissionError", denied
    assert isinstance(denied[3], Raised) and denied[3][0] == "NoPermissionError", denied


@pytest.mark.testbed("redis-auth")
def test_auth(tb, rd, ref):
    """--requirepass: nothing before AUTH (NOAUTH as redis-py's AuthenticationError), a
    wrong password refused, the right one (also as user default) lets everything through;
    each exactly as redis-server with the same requirepass."""
    pw = redis_password(tb.config)
    with in_root_ns():
        c = ref_client(ref)
        c.config_set("requirepass", pw)
        c.close()
    try:
        steps = [
            ("no auth", lambda c, o: redis.Redis(**_kw(c, password=None)).get("k")),
            ("wrong", lambda c, o: redis.Redis(**_kw(c, password="nope")).get("k")),
            ("wrong user", lambda c, o: redis.Redis(**_kw(c, username="bob")).get("k")),
            ("right", lambda c, o: [c.set("k", "v"), c.get("k")]),
            ("as default", lambda c, o: redis.Redis(**_kw(c, username="default")).get("k")),
            ("auth bad", lambda c, o: c.execute_command("AUTH", "bad")),
            ("auth again", lambda c, o: c.execute_command("AUTH", pw)),
        ]
        got = same_as_redis(tb, ref, steps, password=pw)
        assert got["no auth"] == Raised(("AuthenticationError", "Authentication required.")), got
        assert got["right"] == [True, b"v"]
    finally:
        with in_root_ns():
            c = ref_client(ref, password=pw)
            c.config_set("requirepass", "")
            c.close()


def _kw(c, **over):
    kw = dict(c.connection_pool.connection_kwargs)
    kw = {k: kw[k] for k in ("host", "port", "password", "socket_timeout") if k in kw}
    kw.update(over)
    return kw


def test_atomic_multi_key_commands_need_one_partition(tb, r):
    """wirecache's rule (not Redis's): MSETNX, RENAME, COPY and a transaction's keys must
    live in one partition (layout "redis" has two, one per worker); keys of two partitions
    get CROSSSLOT and nothing changes, and a hash tag keeps keys together."""
    raw = r_raw(tb)
    # (names of different lengths: CRC16 is linear, so a0/b0, a1/b1... all differ in the
    # same slot bits and may never part)
    pairs = [("a%d" % i, "bb%d" % (i * 7919)) for i in range(64)]
    split = [p for p in pairs if raw.raw("MSETNX", p[0], "1", p[1], "1").startswith(b"-")]
    assert split, "no two of 128 keys fell in different partitions"
    a, b = split[0]
    crossslot = b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    assert raw.raw("MSETNX", a, "1", b, "1") == crossslot and raw.raw("EXISTS", a, b) == b":0\r\n"
    assert raw.raw("SET", a, "v") == b"+OK\r\n"
    assert raw.raw("RENAME", a, b) == crossslot and raw.raw("COPY", a, b) == crossslot
    assert raw.raw("GET", a) == b"$1\r\nv\r\n" and raw.raw("EXISTS", b) == b":0\r\n"
    assert raw.raw("MULTI") == b"+OK\r\n" and raw.raw("SET", a, "1") == b"+QUEUED\r\n"
    assert raw.raw("SET", b, "1") == crossslot
    assert raw.raw("EXEC").startswith(b"-EXECABORT")
    # one tag, one partition: all of them work
    ta, tb_ = "{%s}x" % a, "{%s}y" % a
    assert r.msetnx({ta: 1, tb_: 2}) is True
    assert r.rename(ta, "{%s}z" % a) is True and r.copy(tb_, ta) is True
    assert r.pipeline(transaction=True).incr(ta).incr(tb_).execute() == [3, 3]
    # MSET, MGET, DEL, EXISTS fan out over partitions (each partition's part atomic)
    assert r.mset({a: "x", b: "y"}) is True and r.mget(a, b) == [b"x", b"y"]
    assert r.delete(a, b) == 2
