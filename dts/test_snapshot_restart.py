"""test_snapshot_restart.py - a node keeps its data across a restart.

Layout "persist": one node of two workers started with `tools/testbed up
--data-dir DIR`, which gives it --dir DIR/node1 and --save-on-shutdown. The
node is filled over both protocols (20,000 strings, a third with a TTL;
hashes and sets; memcached items with client flags), taken down (SIGTERM:
the node saves its snapshot before it exits) and brought up again: before it
serves anything it loads the file, and every key is back with its value,
type, TTL (within the seconds the restart took) and memcached flags. A
snapshot that cannot be read stops the node at start with the reason,
instead of letting it run empty and save over the file.
"""
import os
import shutil
import time

import pytest
import redis

from lib.mctcp import McTcp
from lib import testbed
from lib.testbed import CONFIGS, node_ip

pytestmark = pytest.mark.testbed("persist")

DATA = "/tmp/wirecache-dts-persist"
N = 20000


def fill(r, mc):
    p = r.pipeline(transaction=False)
    for i in range(N):
        if i % 3 == 0:
            p.set("s:%d" % i, "v%d" % i, px=600000 + i)
        else:
            p.set("s:%d" % i, "v%d" % i)
        if i % 1000 == 999:
            p.execute()
    p.execute()
    for i in range(200):
        r.hset("h:%d" % i, mapping={"f%d" % j: "x%d" % (i * j) for j in range(i % 40 + 1)})
        r.sadd("t:%d" % i, *["m%d" % j for j in range(i % 30 + 1)])
        if i % 2:
            r.pexpire("h:%d" % i, 900000)
    for i in range(100):
        v = b"mc-%d" % i
        assert mc.cmd(b"set mc:%d %d 0 %d\r\n%s\r\n" % (i, 1000 + i, len(v), v)) == b"STORED\r\n"


def check(r, mc, ttl_slack_ms):
    assert r.dbsize() == N + 400 + 100
    p = r.pipeline(transaction=False)
    for i in range(N):
        p.get("s:%d" % i)
        p.pttl("s:%d" % i)
    got = p.execute()
    for i in range(N):
        v, ttl = got[2 * i], got[2 * i + 1]
        assert v == b"v%d" % i, "s:%d came back as %r" % (i, v)
        if i % 3 == 0:
            assert 600000 + i - ttl_slack_ms <= ttl <= 600000 + i, "s:%d ttl %d" % (i, ttl)
        else:
            assert ttl == -1, "s:%d got a ttl (%d)" % (i, ttl)
    for i in range(200):
        assert r.hgetall("h:%d" % i) == {b"f%d" % j: b"x%d" % (i * j) for j in range(i % 40 + 1)}
        assert r.smembers("t:%d" % i) == {b"m%d" % j for j in range(i % 30 + 1)}
        ttl = r.pttl("h:%d" % i)
        if i % 2:
            assert 900000 - ttl_slack_ms <= ttl <= 900000, "h:%d ttl %d" % (i, ttl)
        else:
            assert ttl == -1
    for i in range(100):
        v = b"mc-%d" % i
        assert mc.cmd(b"get mc:%d\r\n" % i) == b"VALUE mc:%d %d %d\r\n%s\r\nEND\r\n" % (
            i, 1000 + i, len(v), v)


def test_data_survives_a_restart(tb):
    r = tb.track(redis.Redis(host=node_ip(1), port=6379, socket_timeout=10))
    r.flushall()
    mc = McTcp(node_ip(1))
    try:
        fill(r, mc)
    finally:
        mc.close()
    t0 = time.monotonic()
    tb.down()                                     # SIGTERM: the node saves, then exits
    path = os.path.join(DATA, "node1", "dump.rdb")
    assert os.path.getsize(path) > 100000, "no snapshot at %s" % path
    tb.ensure(CONFIGS["persist"])
    log = tb.log(1)
    assert "RDB %s: loaded=%d expired=0 failed=0" % (path, N + 500) in log, log[-2000:]
    slack = int((time.monotonic() - t0) * 1000) + 2000
    r = tb.track(redis.Redis(host=node_ip(1), port=6379, socket_timeout=10))
    mc = McTcp(node_ip(1))
    try:
        check(r, mc, slack)
    finally:
        mc.close()


def test_unreadable_snapshot_stops_the_start(tb):
    tb.down()
    path = os.path.join(DATA, "node1", "dump.rdb")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"REDIS0010" + b"\xfa\x03bad" + b"\x00" * 5)
    try:
        with pytest.raises(testbed.TestbedError) as e:
            tb.up(CONFIGS["persist"])
        assert "could not be loaded" in str(e.value) and path in str(e.value), str(e.value)
    finally:
        shutil.rmtree(DATA, ignore_errors=True)
        tb.restart_next()
