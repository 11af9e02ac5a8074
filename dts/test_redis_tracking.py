"""test_redis_tracking.py - server-assisted client-side caching (CLIENT TRACKING)
with real clients (layout "redis", two workers):

- node-redis 5 over RESP3 with its clientSideCache (dts/node/node_redis_cache_check.js,
  installed as "redis5" by tools/deps.sh): a cached value is invalidated by a write from
  another Redis client, a 50-key MSET, expiry and FLUSHALL, step for step as against
  Debian's redis-server on loopback; and, on the node only, by a memcached write and
  delete and by eviction;
- the ordering rule, over raw RESP3 from connections spread over both lcores: the
  invalidation of a key another connection wrote reaches the reader before the reply
  to the next command it sends;
- RESP2 through REDIRECT with redis-cli: a redis-cli subscribed to
  __redis__:invalidate prints the invalidations of tracking connections' keys
  (seven connections, so some live on the other lcore than redis-cli's), and a
  null one per connection for FLUSHALL;
- BCAST prefixes and NOLOOP, and INFO's tracking_* numbers.
"""
import json
import os
import re
import subprocess
import time

import pytest

from lib.resp import RedisServer, Resp, decode, run
from lib.testbed import ROOT, node_ip

pytestmark = pytest.mark.testbed("redis")

NODE_DIR = os.path.join(ROOT, "dts", "node")
MC_PORT = 11211


@pytest.fixture(scope="module", autouse=True)
def node_modules():
    if not os.path.isfile(os.path.join(NODE_DIR, "node_modules", "redis5", "package.json")):
        pytest.fail("dts/node/node_modules/redis5 is missing: run make deps (tools/deps.sh)")


@pytest.fixture(scope="module")
def ref():
    srv = RedisServer(26420)
    yield srv
    srv.close()


def cache_script(host, port, scenarios, root_ns=False, limit_s=90, **extra):
    """dts/node/node_redis_cache_check.js: {scenario: {step: result}} (and the step order)."""
    opts = {"host": host, "port": port, "scenarios": scenarios, "limitMs": limit_s * 1000}
    opts.update(extra)
    r = run(["node", os.path.join(NODE_DIR, "node_redis_cache_check.js"), json.dumps(opts)],
            limit_s + 15, root_ns=root_ns, cwd=NODE_DIR)
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    assert r.returncode == 0, "node_redis_cache_check.js exited %d:\n%s\n%s" % (
        r.returncode, out[-3000:], err[-3000:])
    return json.loads(out.strip().splitlines()[-1])


SAME = ["redis_write", "mset50", "expiry", "flushall"]


def test_client_side_cache_same_as_redis(tb, rd, ref):
    got = cache_script(node_ip(1), 6379, SAME)
    want = cache_script("127.0.0.1", ref.port, SAME, root_ns=True)
    diffs = []
    for sc in SAME:
        assert [s for s, _ in got[sc]] == [s for s, _ in want[sc]]
        diffs += ["  %s / %s:\n    node:  %s\n    redis: %s" % (sc, s, json.dumps(g), json.dumps(w))
                  for (s, g), (_, w) in zip(got[sc], want[sc]) if g != w]
    assert not diffs, "node-redis clientSideCache saw differences from redis-server:\n" + \
        "\n".join(diffs)
    steps = {sc: dict(got[sc]) for sc in SAME}
    w = steps["redis_write"]
    assert w["read 2"] == {"ok": ["v1", "hit"]}
    assert w["read after write"] == {"ok": ["v2", "miss"]}
    assert w["read after del"] == {"ok": [None, "miss"]}
    m = steps["mset50"]
    assert m["cache all"] == {"ok": 50} and m["cache size"] == {"ok": 0}
    assert m["reads"] == {"ok": ['["new","miss"]']} and m["heard"] == {"ok": 50}
    assert steps["expiry"]["invalidated"] == {"ok": True}
    assert steps["expiry"]["read after expiry"] == {"ok": [None, "miss"]}
    f = steps["flushall"]
    assert f["heard null"] == {"ok": True} and f["cache size"] == {"ok": 0}


def test_client_side_cache_memcached_and_eviction(tb, rd):
    """A memcached write or delete invalidates what the RESP3 client cached; so does the
    node evicting the key (the layout has 256 MB: 512 KiB values up to 1.5 GB, each read
    once: S3-FIFO keeps the key, read before, in its main queue, which keys written and
    never read do not reach; so the fill's keys are read too)."""
    got = cache_script(node_ip(1), 6379, ["memcached", "eviction"], mcPort=MC_PORT,
                       evictBytes=1536 << 20, limit_s=150)
    mc = dict(got["memcached"])
    assert mc["read 2"] == {"ok": ["redis", "hit"]}, got
    assert mc["memcached set"] == {"ok": "STORED"}, got
    assert mc["read after"] == {"ok": ["memcached", "miss"]}, got
    assert mc["read after delete"] == {"ok": [None, "miss"]}, got
    ev = dict(got["eviction"])
    assert ev["fill until evicted"] == {"ok": True}, str(ev)
    assert ev["server has it"] == {"ok": 0}, got
    assert ev["read after"] == {"ok": [None, "miss"]}, got


def test_invalidation_before_next_reply(tb, rd):
    """Readers and writers on both lcores: after a write's reply, a reader that read the
    key gets its invalidate push before the reply to its next command (PING)."""
    readers = [tb.track(Resp(node_ip(1))) for _ in range(6)]
    writers = [tb.track(Resp(node_ip(1))) for _ in range(4)]
    for r in readers:
        assert isinstance(r("HELLO", "3"), dict)
        assert r("CLIENT", "TRACKING", "ON") == "OK"
    for i in range(300):
        key = "ord:%d" % i
        r, w = readers[i % len(readers)], writers[i % len(writers)]
        assert r("GET", key) is None
        assert w("SET", key, str(i)) == "OK"
        r.send(b"*1\r\n$4\r\nPING\r\n")
        first = decode(r.reply())
        assert first == ("push", [b"invalidate", [key.encode()]]), (i, first)
        assert decode(r.reply()) == "PONG"
    info = rd.raw("INFO", "clients").decode()
    assert "tracking_clients:6\r\n" in info, info


def test_bcast_and_noloop(tb, rd):
    a = tb.track(Resp(node_ip(1)))
    b = tb.track(Resp(node_ip(1)))
    for c in (a, b):
        assert isinstance(c("HELLO", "3"), dict)
    assert a("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "cfg:") == "OK"
    assert b("CLIENT", "TRACKING", "ON", "NOLOOP") == "OK"
    assert b("GET", "user:1") is None
    assert b("SET", "user:1", "x") == "OK"          # b wrote it itself: NOLOOP, no push
    assert rd("SET", "other", "y") == "OK"
    assert rd("SET", "cfg:a", "z") == "OK"
    a.send(b"*1\r\n$4\r\nPING\r\n")
    got = []
    while True:
        v = decode(a.reply())
        if v == "PONG":
            break
        got.append(v)
    keys = [k for push in got for k in push[1][1]]
    assert sorted(keys) == [b"cfg:a", b"user:1"], got
    assert b("PING") == "PONG" and b.buf == b""
    info = rd.raw("INFO", "stats").decode()
    assert re.search(r"tracking_total_prefixes:2\r\n", info), info
    assert re.search(r"tracking_total_keys:\d+\r\n", info), info


def test_redis_cli_resp2_redirect(tb, rd):
    """redis-cli subscribed to __redis__:invalidate gets the invalidations of a RESP2
    connection that tracks with REDIRECT to it, and a null one on FLUSHALL."""
    sub = subprocess.Popen(["redis-cli", "-h", node_ip(1), "-p", "6379", "SUBSCRIBE",
                            "__redis__:invalidate"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    try:
        sid = None
        for _ in range(100):
            for line in rd.raw("CLIENT", "LIST").decode().split("\n"):
                if "cmd=subscribe" in line:
                    sid = int(re.search(r"id=(\d+)", line).group(1))
            if sid:
                break
            time.sleep(0.05)
        assert sid, "redis-cli's SUBSCRIBE never showed in CLIENT LIST"
        t = tb.track(Resp(node_ip(1)))
        assert t("CLIENT", "TRACKING", "ON", "REDIRECT", str(sid)) == "OK"
        assert t("CLIENT", "GETREDIR") == sid
        assert t("GET", "rk1") is None
        assert t("MGET", "rk2", "rk3") == [None, None]
        assert rd("SET", "rk1", "1") == "OK"
        assert rd("MSET", "rk2", "2", "rk3", "3") == "OK"
        time.sleep(0.3)
        # more tracking connections (some on the other lcore than redis-cli's) redirect there
        more = [tb.track(Resp(node_ip(1))) for _ in range(6)]
        for i, m in enumerate(more):
            assert m("CLIENT", "TRACKING", "ON", "REDIRECT", str(sid)) == "OK"
            assert m("GET", "far%d" % i) is None
        for i in range(len(more)):
            assert rd("SET", "far%d" % i, "x") == "OK"
        time.sleep(0.3)
        assert rd("FLUSHALL") == "OK"
        time.sleep(0.5)
    finally:
        sub.terminate()
        out = sub.communicate(timeout=10)[0].decode(errors="replace")
    lines = out.split("\n")
    # redis-cli prints each message as: message, the channel, then the keys (or "")
    msgs = [i for i, line in enumerate(lines) if line == "message"]
    keys = [lines[i + 2] for i in msgs]
    assert all(lines[i + 1] == "__redis__:invalidate" for i in msgs), out
    assert keys[0] == "rk1" and sorted(keys[1:3]) == ["rk2", "rk3"], out
    assert sorted(keys[3:9]) == ["far%d" % i for i in range(6)], out
    # FLUSHALL: a null invalidation for each of the 7 tracking connections
    assert keys[9:] == [""] * 7, out
