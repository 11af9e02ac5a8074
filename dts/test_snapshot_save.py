"""test_snapshot_save.py - RDB snapshots written by the node, read by Redis's tools.

Node 1 (layout "redis": two workers, so the writer walks two partitions) is
filled with strings (short, integer, negative, long and compressible,
binary), hashes (listpack-sized, over 128 fields, with a long value), sets
(intset, small strings, over 512 integers, many strings), some of each with
a TTL, memcached items with client flags (over memcached's TCP port) and a
key that has already expired. CONFIG SET dir points it at a fresh directory;
BGSAVE ("Background saving started"), then INFO persistence until the save
is done. Then:
  - Debian's redis-check-rdb accepts the file (checksum, every key; a
    "wc-mcflags" aux field per flagged item; nothing already expired);
  - Debian's redis-server (loopback, a free port, the file copied into its
    --dir, killed at the end) loads it: the same keys (DBSIZE), and with
    redis-py every value, type and TTL (within the time the test took) is
    what the node holds; memcached items are plain strings there.
Also SAVE ("OK"), LASTSAVE moving on, and CONFIG GET dir/dbfilename; and
through the control plane: `wirecachectl snapshot save --wait` (the file
written, its keys counted), `snapshot save` (started), `snapshot` (the
saver's state), and the rdb_* counters on /metrics. Last, SHUTDOWN SAVE:
the node writes the file, closes the connection without a reply and exits
(the testbed is taken down after it).
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import redis

from conftest import node_redis
from lib import cp
from lib.mctcp import McTcp
from lib.resp import RedisServer, Resp, encode, run
from lib.testbed import in_root_ns, node_ip

pytestmark = pytest.mark.testbed("redis")

TTL_MS = 400000


class LoadedRedis:
    """redis-server on the host's loopback, started on a copy of an RDB file."""

    def __init__(self, rdb):
        self.dir = tempfile.mkdtemp(prefix="wc-snap-redis-")
        shutil.copy(rdb, os.path.join(self.dir, "dump.rdb"))
        with in_root_ns():
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
            s.close()
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", self.dir,
                 "--dbfilename", "dump.rdb", "--logfile", os.path.join(self.dir, "log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                with in_root_ns():
                    c = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10)
                    if c.info("persistence")["loading"] == 0:
                        break
            except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                log = open(os.path.join(self.dir, "log")).read()[-2000:]
                self.close()
                raise RuntimeError("redis-server did not load the file:\n" + log)
            time.sleep(0.05)

    def client(self):
        with in_root_ns():
            c = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=30)
            c.ping()     # (connects now, in the host's namespace)
        return c

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def savedir(tb):
    d = tempfile.mkdtemp(prefix="wc-snap-save-")
    os.chmod(d, 0o755)
    c = node_redis(tb, timeout=60)
    old = c.config_get("dir")["dir"]
    yield d
    c.config_set("dir", old)
    shutil.rmtree(d, ignore_errors=True)


def fill(c, mc):
    """What the node holds: {key: (type, value, ttl_ms or None)}."""
    want = {}
    strings = {b"s:short": b"hello world", b"s:int": b"12345", b"s:neg": b"-100000",
               b"s:bigint": b"1099511627776", b"s:long": b"wirecache-rdb " * 3000,
               b"s:bin": bytes(range(256)) * 3, b"s:empty": b""}
    for i in range(2000):
        strings[b"s:%d" % i] = b"value-%d" % (i * 7)
    for n, (k, v) in enumerate(sorted(strings.items())):
        ttl = TTL_MS + n if n % 5 == 0 else None
        c.set(k, v, px=ttl)
        want[k] = ("string", v, ttl)
    hashes = {b"h:small": {b"f%d" % i: b"v%d" % i for i in range(10)},
              b"h:big": {b"field:%d" % i: b"value:%d" % (i * 3) for i in range(300)},
              b"h:longval": {b"a": b"x" * 100, b"b": b"2"}}
    for i in range(100):
        hashes[b"h:%d" % i] = {b"a": b"%d" % i, b"b": b"bee", b"c%d" % i: b"see"}
    for n, (k, v) in enumerate(sorted(hashes.items())):
        items = list(v.items())
        for j in range(0, len(items), 100):
            c.hset(k, mapping=dict(items[j:j + 100]))
        ttl = TTL_MS + n if n % 3 == 0 else None
        if ttl:
            c.pexpire(k, ttl)
        want[k] = ("hash", v, ttl)
    sets = {b"set:intset": {b"%d" % i for i in range(-5, 20)} | {b"9000000000"},
            b"set:small": {b"alpha", b"beta", b"gamma"},
            b"set:bigint": {b"%d" % i for i in range(600)},
            b"set:bigstr": {b"m:%d" % i for i in range(700)}}
    for i in range(100):
        sets[b"set:%d" % i] = {b"%d" % i, b"x%d" % i, b"y"}
    for n, (k, v) in enumerate(sorted(sets.items())):
        m = sorted(v)
        for j in range(0, len(m), 100):
            c.sadd(k, *m[j:j + 100])
        ttl = TTL_MS + n if n % 4 == 0 else None
        if ttl:
            c.pexpire(k, ttl)
        want[k] = ("set", v, ttl)
    # memcached items with client flags: strings on the Redis side
    for i in range(50):
        k, v = b"mc:%d" % i, b"memcached value %d" % i
        mc.send(b"set %s %d 0 %d\r\n%s\r\n" % (k, i + 1, len(v), v))
        assert mc.replies(1) == [b"STORED\r\n"]
        want[k] = ("string", v, None)
    # gone before the save: never written
    c.set(b"expired", b"x", px=1)
    time.sleep(0.05)
    return want


def wait_save(c, saves_before, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        p = c.info("persistence")
        if p["rdb_bgsave_in_progress"] == 0 and p["rdb_saves"] > saves_before:
            return p
        assert time.monotonic() < deadline, p
        time.sleep(0.05)


def test_bgsave_loads_in_redis(tb, savedir):
    c = node_redis(tb, timeout=60)
    c.flushall()
    with McTcp(node_ip(1)) as mc:
        want = fill(c, mc)
    # DBSIZE counts the expired key until the crawler removes it, as Redis's counts one
    # until active expiry does (no read may remove it: the save must leave it out itself)
    assert c.dbsize() in (len(want), len(want) + 1)
    t0 = time.monotonic()
    assert c.config_set("dir", savedir)
    assert c.config_get("dir") == {"dir": savedir}
    assert c.config_get("dbfilename") == {"dbfilename": "dump.rdb"}
    p0 = c.info("persistence")
    assert c.bgsave() is True        # "Background saving started"
    p = wait_save(c, p0["rdb_saves"])
    assert p["rdb_last_bgsave_status"] == "ok"
    assert p["rdb_changes_since_last_save"] == 0
    assert p["rdb_last_save_time"] >= p0["rdb_last_save_time"]
    path = os.path.join(savedir, "dump.rdb")
    assert os.path.exists(path)
    assert not [f for f in os.listdir(savedir) if f.startswith("temp-")]

    chk = run(["redis-check-rdb", path], 60, root_ns=True)
    out = chk.stdout.decode(errors="replace")
    assert chk.returncode == 0, out
    assert "RDB looks OK" in out and "Checksum OK" in out
    assert "[info] %d keys read" % len(want) in out
    assert "[info] 0 already expired" in out
    assert out.count("AUX FIELD wc-mcflags") == 50
    assert "AUX FIELD redis-ver = '7.0.15'" in out

    ref = LoadedRedis(path)
    try:
        r = ref.client()
        with in_root_ns():
            assert r.dbsize() == len(want)
            elapsed = int((time.monotonic() - t0) * 1000) + 5000	# (slack: a busy machine)
            for k, (typ, v, ttl) in want.items():
                assert r.type(k).decode() == typ, k
                if typ == "string":
                    assert r.get(k) == v, k
                elif typ == "hash":
                    assert r.hgetall(k) == v, k
                else:
                    assert r.smembers(k) == v, k
                pttl = r.pttl(k)
                if ttl is None:
                    assert pttl == -1, k
                else:
                    assert ttl - elapsed <= pttl <= ttl, (k, ttl, pttl)
            r.close()
    finally:
        ref.close()


def test_save_and_lastsave(tb, savedir):
    c = node_redis(tb, timeout=60)
    c.flushall()
    c.set("a", "1")
    c.config_set("dir", savedir)
    c.config_set("dbfilename", "other.rdb")
    try:
        before = c.lastsave()
        time.sleep(1.1)
        assert c.save() is True      # "+OK", once the file is written
        assert c.lastsave() > before
        assert os.path.exists(os.path.join(savedir, "other.rdb"))
        chk = run(["redis-check-rdb", os.path.join(savedir, "other.rdb")], 60, root_ns=True)
        assert chk.returncode == 0 and b"[info] 1 keys read" in chk.stdout, chk.stdout
    finally:
        c.config_set("dbfilename", "dump.rdb")


def test_wirecachectl_snapshot(tb, savedir):
    api = cp.Http(cp.cp_port(1))
    api.wait(lambda d: d.get("attached"), "the testbed's control plane to attach")
    c = node_redis(tb, timeout=60)
    c.flushall()
    for i in range(0, 1000, 100):
        c.mset({"ctl:%d" % j: "v%d" % j for j in range(i, i + 100)})
    c.config_set("dir", savedir)
    rc, out, err = cp.ctl("--node", "1", "snapshot", "save", "--wait")
    assert rc == 0, err
    assert out.startswith("snapshot saved: 1000 keys, "), out
    chk = run(["redis-check-rdb", os.path.join(savedir, "dump.rdb")], 60, root_ns=True)
    assert chk.returncode == 0 and b"[info] 1000 keys read" in chk.stdout, chk.stdout
    rc, out, err = cp.ctl("--node", "1", "--json", "snapshot")
    assert rc == 0, err
    st = json.loads(out)
    assert st["last_ok"] is True and st["keys"] == 1000 and st["saves"] >= 1, st
    saves = st["saves"]
    rc, out, err = cp.ctl("--node", "1", "snapshot", "save")
    assert rc == 0 and out.startswith("snapshot save started (ticket "), (out, err)
    wait_save(c, saves)
    rc, out, _ = cp.ctl("--node", "1", "snapshot")
    assert rc == 0 and out.startswith("snapshot: idle; %d good save(s)" % (saves + 1)), out
    rc, _, err = cp.ctl("--node", "1", "snapshot", "frobnicate")
    assert rc == 2 and "unknown subcommand 'frobnicate'" in err
    # the counters reach /metrics (published every 100 ms)
    deadline = time.monotonic() + 10
    while True:
        _, text = api.text("/metrics")
        samples, _ = cp.parse_prometheus(text)
        if samples.get(("wirecache_rdb_saves_total", frozenset()), 0) >= saves + 1:
            break
        assert time.monotonic() < deadline, [k for k in samples if "rdb" in k[0]]
        time.sleep(0.2)
    assert samples[("wirecache_rdb_saved_keys_total", frozenset())] >= 2000
    assert samples[("wirecache_rdb_saved_bytes_total", frozenset())] > 0


def test_command_info_as_redis(tb):
    """COMMAND INFO of SAVE, BGSAVE, SHUTDOWN and LASTSAVE: Redis 7.0's, byte for byte."""
    ref = RedisServer(26397)
    try:
        with ref.connect() as r, Resp() as n:
            for name in ("save", "bgsave", "shutdown", "lastsave"):
                assert n.raw("COMMAND", "INFO", name) == r.raw("COMMAND", "INFO", name), name
    finally:
        ref.close()


def test_shutdown_save_stops_the_node(tb):
    d = tempfile.mkdtemp(prefix="wc-snap-shutdown-")
    os.chmod(d, 0o755)
    try:
        c = node_redis(tb, timeout=60)
        c.flushall()
        c.mset({"sd:%d" % i: "v%d" % i for i in range(100)})
        c.config_set("dir", d)
        with Resp() as n:
            n.send(encode("SHUTDOWN", "SAVE"))
            closed, got = n.wait_closed(timeout=30)
            assert closed and got == b"", got
        deadline = time.monotonic() + 15
        while tb.dead_nodes() != [1]:
            assert time.monotonic() < deadline, "node 1 still running after SHUTDOWN"
            time.sleep(0.1)
        log = tb.log(1)
        assert "SHUTDOWN asked by a client (the dataset was saved): stopping" in log, log[-2000:]
        chk = run(["redis-check-rdb", os.path.join(d, "dump.rdb")], 60, root_ns=True)
        assert chk.returncode == 0 and b"[info] 100 keys read" in chk.stdout, chk.stdout
    finally:
        tb.down()       # (the next suite brings its layout up again)
        shutil.rmtree(d, ignore_errors=True)
