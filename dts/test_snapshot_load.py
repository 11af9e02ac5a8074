"""test_snapshot_load.py - a real Redis's RDB file loaded into a serving node.

Debian's redis-server 7.0 runs on loopback (127.0.0.1, a free port, a temporary
--dir, stopped by the test; stock listpack/intset thresholds). It is filled
with 100,000 keys of the three types the store holds - strings (short, integer,
long and compressible: LZF in the file), hashes (listpack and, some, hashtable),
sets (intset, listpack-free small string sets, and some hashtable) - a tenth of
them with a TTL, plus lists, sorted sets (listpack and skiplist) and streams
(one with a consumer group), then SAVEs. `wirecachectl snapshot load FILE
--flush` loads the file into node 1 (two workers: batches cross lcores through
the mailbox): every key of the three types is there with the same value and
the same expiry (PEXPIRETIME, within 1 s), the other types are reported skipped, by kind, and
are not in the node. A second load without --flush keeps the node's own keys
and replaces those the file has. A corrupt file is refused with its reason
and changes nothing.
"""
import json
import os
import shutil

import pytest
import redis

from lib import cp
from lib.resp import RedisServer
from lib.testbed import in_root_ns, node_ip

pytestmark = pytest.mark.testbed("redis")

N = 100000
NLIST, NZSET, NSTREAM = 40, 40, 10
TTL_MS = 3600 * 1000


def key_kind(i):
    return ("s", "h", "t")[i % 3]    # string, hash, set (t)


def value_of(i):
    """The value key i gets (deterministic, so both sides can be checked)."""
    kind = key_kind(i)
    if kind == "s":
        if i % 100 == 0:
            return b"compressible-%d-" % i + b"z" * 300       # LZF in the file
        if i % 7 == 0:
            return b"%d" % (i * 13 - 500000)                   # an int encoding
        return b"value-%d" % i
    if kind == "h":
        if i % 1000 == 1:                                      # a hashtable hash
            return {b"field-%d" % j: b"v%d" % (i + j) for j in range(200)}
        return {b"f1": b"%d" % i, b"f2": b"x" * (i % 20), b"name": b"key-%d" % i}
    if i % 1000 == 2:                                          # a hashtable set
        return {b"m%d" % j for j in range(600)}
    if i % 2 == 0:                                             # an intset
        return {b"%d" % (i + j) for j in range(5)}
    return {b"a-%d" % i, b"b", b"c"}


def fill(r):
    p = r.pipeline(transaction=False)
    for i in range(N):
        k = "k:%d" % i
        v = value_of(i)
        kind = key_kind(i)
        if kind == "s":
            p.set(k, v)
        elif kind == "h":
            p.hset(k, mapping=v)
        else:
            p.sadd(k, *v)
        if i % 10 == 3:
            p.pexpire(k, TTL_MS + i)
        if i % 2000 == 1999:
            p.execute()
    for i in range(NLIST):
        p.rpush("list:%d" % i, *[b"e%d" % j for j in range(1 + i * 10)])
    for i in range(NZSET):
        p.zadd("zset:%d" % i, {b"m%d" % j: j * 0.5 for j in range(1 + i * 5)})
    for i in range(NSTREAM):
        for j in range(3):
            p.xadd("stream:%d" % i, {"f": "v%d" % j})
    p.execute()
    r.xgroup_create("stream:0", "grp", id="0")
    r.xreadgroup("grp", "alice", {"stream:0": ">"}, count=2)


def read_all(r, keys):
    """Each key's (value, absolute expiry in Unix ms or -1), through pipelines."""
    out = []
    for a in range(0, len(keys), 2000):
        p = r.pipeline(transaction=False)
        for i in keys[a:a + 2000]:
            k = "k:%d" % i
            kind = key_kind(i)
            if kind == "s":
                p.get(k)
            elif kind == "h":
                p.hgetall(k)
            else:
                p.smembers(k)
            p.execute_command("PEXPIRETIME", k)
        got = p.execute()
        out += [(got[j], got[j + 1]) for j in range(0, len(got), 2)]
    return out


@pytest.fixture(scope="module")
def saved():
    """(path of the RDB redis-server wrote, its keys' values and expiries)."""
    srv = RedisServer(26410)
    keep = None
    try:
        with in_root_ns():
            r = redis.Redis(host="127.0.0.1", port=srv.port, socket_timeout=60)
            for k, v in (("hash-max-listpack-entries", "128"),
                         ("hash-max-listpack-value", "64"),
                         ("set-max-intset-entries", "512")):
                r.config_set(k, v)
            fill(r)
            assert r.dbsize() == N + NLIST + NZSET + NSTREAM
            want = read_all(r, list(range(N)))
            assert r.save()
            r.close()
        keep = os.path.join(srv.dir, "..", "wc-snapload-%d.rdb" % os.getpid())
        keep = os.path.abspath(keep)
        shutil.copy(os.path.join(srv.dir, "dump.rdb"), keep)
    finally:
        srv.close()                 # the test's redis-server goes now
    yield keep, want
    os.remove(keep)


def node(tb):
    c = redis.Redis(host=node_ip(1), port=6379, socket_timeout=60, socket_connect_timeout=5)
    tb.track(c)
    return c


def load(path, *opts):
    # the testbed starts the node's wirecache-cp in the background: wait until it attached
    cp.Http(cp.cp_port(1)).wait(lambda d: d.get("attached"), "the control plane to attach")
    rc, out, err = cp.ctl("--node", "1", "--json", "--timeout", "60", "snapshot", "load", path,
                          *opts, timeout=300)
    return rc, out, err


def test_load_redis_rdb(tb, rd, saved):
    path, want = saved
    r = node(tb)
    r.set("node-own", "gone after --flush")
    rc, out, err = load(path, "--flush")
    assert rc == 0, (out, err)
    res = json.loads(out)
    assert res["state"] == "done"
    assert res["loaded"] == N
    assert res["expired"] == 0 and res["failed"] == 0
    assert res["skip_list"] == NLIST
    assert res["skip_zset"] == NZSET
    assert res["skip_stream"] == NSTREAM
    assert res["crc"] == "checked"
    print("load: %d keys, %d bytes in %.3f s" % (res["loaded"], res["bytes"], res["secs"]))
    assert r.dbsize() == N
    assert r.exists("node-own") == 0
    assert r.exists(*["list:%d" % i for i in range(NLIST)]) == 0
    assert r.exists(*["zset:%d" % i for i in range(NZSET)]) == 0
    assert r.exists(*["stream:%d" % i for i in range(NSTREAM)]) == 0
    got = read_all(r, list(range(N)))
    bad = []
    for i, ((wv, wt), (gv, gt)) in enumerate(zip(want, got)):
        if wv != gv:
            bad.append((i, "value", wv, gv))
        elif (wt < 0) != (gt < 0) or abs(wt - gt) > 1000:
            bad.append((i, "expiry", wt, gt))
    assert not bad, bad[:10]
    assert sum(1 for _, t in got if t >= 0) == N // 10


def test_load_keeps_and_replaces(tb, rd, saved):
    path, want = saved
    r = node(tb)
    r.set("node-own", "stays")
    r.set("k:0", "replaced by the file's")
    r.sadd("k:1", "a set where the file has a hash")
    rc, out, err = load(path)
    assert rc == 0, (out, err)
    assert r.get("node-own") == b"stays"
    assert r.get("k:0") == want[0][0]
    assert r.hgetall("k:1") == want[1][0]
    assert r.dbsize() == N + 1


def test_corrupt_file_refused(tb, rd, saved):
    path = saved[0]
    bad = "/tmp/wc-snapload-bad-%d.rdb" % os.getpid()
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data[len(data) // 2] ^= 0x40
    with open(bad, "wb") as f:
        f.write(data)
    try:
        r = node(tb)
        r.set("node-own", "untouched")
        rc, out, err = load(bad, "--flush")
        assert rc == 1
        assert "wrong RDB checksum" in out, (out, err)
        assert r.dbsize() == 1
        assert r.get("node-own") == b"untouched"
    finally:
        os.remove(bad)
