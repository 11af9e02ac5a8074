"""test_repl_replica.py - node 1 as the replica of a real Redis master.

Debian's redis-server 7.0 runs in the clients' namespace (198.18.0.1, a free
port, --requirepass so the node AUTHs with its masterauth, a temporary --dir,
stopped by each test). The layout is "redis": two workers, so the stream's
writes cross lcores through the mailbox.

  - sync under load: the master holds 100,000 keys (strings, some integers and
    long compressible ones; hashes, some large; sets, some intsets and large
    ones; a tenth with a TTL), a bounded write load runs on it (SET with and
    without PX, HSET/HDEL, SADD/SREM, DEL, EXPIRE, PERSIST, INCR, MULTI/EXEC
    across partitions, lists the node does not store, writes to db 1) while
    node 1 takes REPLICAOF; once the node's slave_repl_offset reached the
    master's master_repl_offset, every key is compared (type, value, expiry
    within 1 s); it keeps following new writes, deletes and expiries; clients'
    writes are refused (-READONLY; memcached: SERVER_ERROR read only replica)
    while reads are served; REPLICAOF NO ONE then nothing is missing and
    writes work. Printed: full-sync time and MB/s, stream apply rate.
  - the master killed (SIGKILL) and restarted empty, disk-based this time
    (the "$<len>" transfer instead of the diskless "$EOF:" one): the node
    reconnects and resyncs to exactly the new master's keys.
  - a bad master address (nobody there; a closed port): the link stays down,
    the node serves; a master that is no IPv4 address or port: errors.
  - garbage from a "master" (a python fake: a broken RDB, a broken command
    stream, an endless line): the link drops and retries, the node stays healthy.
  - the control socket's REPLICAOF and REPLSTATE drive the same, and the
    control plane's /metrics carries the replica_* counters.
Every wait is bounded.
"""
import os
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import redis

from lib import cp
from lib.testbed import CLIENT_IP, node_ip

pytestmark = pytest.mark.testbed("redis")

N = 100000
PASSWORD = "repl-secret"
TTL_MS = 3600 * 1000


def free_port(first):
    for p in range(first, first + 200):
        s = socket.socket()
        try:
            s.bind((CLIENT_IP, p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port from %d" % first)


class Master:
    """redis-server in the clients' namespace (the test process is there) on 198.18.0.1."""

    def __init__(self, port=None, diskless=True):
        self.port = port or free_port(26500 + random.randrange(500))
        self.dir = tempfile.mkdtemp(prefix="wc-repl-master-")
        self.diskless = diskless
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", CLIENT_IP,
             "--requirepass", PASSWORD, "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--logfile", os.path.join(self.dir, "log"),
             "--repl-diskless-sync", "yes" if self.diskless else "no",
             "--repl-diskless-sync-delay", "0",
             "--hash-max-listpack-entries", "128", "--set-max-intset-entries", "512"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client(timeout=1).ping():
                    return
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("redis-server did not start on %s:%d" % (CLIENT_IP,
                                                                          self.port))
            time.sleep(0.05)

    def client(self, timeout=60, db=0):
        return redis.Redis(host=CLIENT_IP, port=self.port, password=PASSWORD, db=db,
                           socket_timeout=timeout)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def node(timeout=60):
    return redis.Redis(host=node_ip(1), port=6379, socket_timeout=timeout)


def info(r):
    return r.info("replication")


def sync_log(tb):
    """The node's own account of its last full sync (transfer and load times)."""
    lines = [ln for ln in tb.log(1).splitlines() if "replica: full sync:" in ln]
    return lines[-1].split("replica: ", 1)[1] if lines else "?"


def wait_for(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(0.02)


def wait_caught_up(m, n, timeout=60):
    """Until the node applied everything the master wrote to its stream so far."""
    def done():
        mo = info(m)["master_repl_offset"]
        ni = info(n)
        return ni.get("master_link_status") == "up" and ni["slave_repl_offset"] >= mo
    wait_for("the node to reach the master's offset", done, timeout)


@pytest.fixture
def replica(tb):
    """Node 1, flushed, given back as a master after the test."""
    n = node()
    n.execute_command("REPLICAOF", "NO", "ONE")
    n.flushall()
    n.config_set("masterauth", PASSWORD)
    yield n
    n.execute_command("REPLICAOF", "NO", "ONE")
    n.config_set("masterauth", "")
    n.flushall()
    n.close()


@pytest.fixture
def master(tb):
    m = Master()
    yield m
    m.close()


# ---- the data ----

def key_kind(i):
    return ("s", "h", "t")[i % 3]    # string, hash, set (t)


def value_of(i):
    kind = key_kind(i)
    if kind == "s":
        if i % 100 == 0:
            return b"compressible-%d-" % i + b"z" * 300
        if i % 7 == 0:
            return b"%d" % (i * 13 - 500000)
        return b"value-%d" % i
    if kind == "h":
        if i % 1000 == 1:
            return {b"field-%d" % j: b"v%d" % (i + j) for j in range(200)}
        return {b"f1": b"%d" % i, b"f2": b"x" * (i % 20), b"name": b"key-%d" % i}
    if i % 1000 == 2:
        return {b"m%d" % j for j in range(600)}
    if i % 2 == 0:
        return {b"%d" % (i + j) for j in range(5)}
    return {b"a-%d" % i, b"b", b"c"}


def fill(r, n, prefix="k"):
    p = r.pipeline(transaction=False)
    for i in range(n):
        k = "%s:%d" % (prefix, i)
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
    p.execute()


def dump(r):
    """Every key of db 0: {key: (type, value, PEXPIRETIME)}."""
    keys = list(r.scan_iter(count=2000))
    out = {}
    for a in range(0, len(keys), 1000):
        part = keys[a:a + 1000]
        p = r.pipeline(transaction=False)
        for k in part:
            p.type(k)
        types = p.execute()
        p = r.pipeline(transaction=False)
        for k, t in zip(part, types):
            if t == b"string":
                p.get(k)
            elif t == b"hash":
                p.hgetall(k)
            elif t == b"set":
                p.smembers(k)
            else:
                p.exists(k)
            p.execute_command("PEXPIRETIME", k)
        got = p.execute()
        for j, (k, t) in enumerate(zip(part, types)):
            if t == b"none":
                continue    # (expired between SCAN and TYPE)
            out[k] = (t, got[2 * j], got[2 * j + 1])
    return out


def compare(m, n):
    # (lists, sorted sets, streams: types the node does not store, skipped in the stream)
    want = {k: v for k, v in dump(m).items() if v[0] in (b"string", b"hash", b"set")}
    got = dump(n)
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    wrong = [k for k in want if k in got and want[k][:2] != got[k][:2]]

    def ttl_differs(k):
        a, b = want[k][2], got[k][2]
        return (a < 0) != (b < 0) or (a >= 0 and abs(a - b) > 1000)
    ttl = [k for k in want if k in got and ttl_differs(k)]
    assert not (missing or extra or wrong or ttl), (
        "master %d keys, node %d: missing %d %r, extra %d %r, wrong %d %r, ttl %d %r" % (
            len(want), len(got), len(missing), missing[:5], len(extra), extra[:5],
            len(wrong), [(k, want[k], got.get(k)) for k in wrong[:3]], len(ttl),
            [(k, want[k][2], got.get(k, (0, 0, 0))[2]) for k in ttl[:3]]))
    return len(want)


class Load(threading.Thread):
    """A bounded write load on the master (count and time), pipelined in batches."""

    def __init__(self, m, ops=40000, secs=20.0):
        super().__init__(daemon=True)
        self.m, self.ops, self.secs = m, ops, secs
        self.done = 0
        self.error = None
        self.stop = threading.Event()

    def run(self):
        try:
            r = self.m.client()
            r1 = self.m.client(db=1)
            rng = random.Random(7)
            end = time.monotonic() + self.secs
            i = 0
            while i < self.ops and time.monotonic() < end and not self.stop.is_set():
                p = r.pipeline(transaction=False)
                for _ in range(100):
                    j = rng.randrange(N)
                    op = i % 12
                    if op == 0:
                        p.set("live:%d" % i, b"L" * (i % 50))
                    elif op == 1:
                        p.set("live:%d" % i, b"ttl", px=TTL_MS)
                    elif op == 2 and key_kind(j) == "h":
                        p.hset("k:%d" % j, "live", i)
                    elif op == 3 and key_kind(j) == "h":
                        p.hdel("k:%d" % j, "f1")
                    elif op == 4 and key_kind(j) == "t":
                        p.sadd("k:%d" % j, "live-%d" % i)
                    elif op == 5 and key_kind(j) == "t":
                        p.srem("k:%d" % j, "b")
                    elif op == 6:
                        p.delete("k:%d" % j)
                    elif op == 7:
                        p.expire("k:%d" % j, 7200)
                    elif op == 8:
                        p.persist("k:%d" % j)
                    elif op == 9:
                        p.incr("counter:%d" % (i % 100))
                    elif op == 10:
                        p.lpush("list:%d" % (i % 10), i)    # a type the node skips
                    else:
                        p.set("live:%d" % i, i)
                    i += 1
                p.execute(raise_on_error=False)
                # a transaction over keys of several partitions, and db 1
                with r.pipeline(transaction=True) as t:
                    t.set("tx:a:%d" % i, 1).set("tx:b:%d" % i, 2).delete("live:%d" % (i - 50))
                    t.execute()
                r1.set("db1:%d" % i, i)
                self.done = i
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e


def test_sync_under_load_then_follow_then_promote(tb, master, replica):
    m = master.client()
    fill(m, N)
    assert m.dbsize() == N
    load = Load(master, ops=300000, secs=3.0)    # (it outlasts the sync)
    load.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    assert replica.execute_command("REPLICAOF", CLIENT_IP, master.port) == b"OK"
    base = info(replica)    # (the node's counters so far: it may have replicated before)
    assert replica.execute_command("REPLICAOF", CLIENT_IP, master.port) == \
        b"OK Already connected to specified master"
    wait_for("the link to come up", lambda: info(replica).get("master_link_status") == "up",
             120)
    sync_s = time.monotonic() - t0
    ri = info(replica)
    load.join(60)
    assert not load.is_alive() and load.error is None, load.error
    assert ri["role"] == "slave" and ri["master_host"] == CLIENT_IP
    assert ri["master_port"] == master.port and ri["slave_read_only"] == 1
    wait_caught_up(m, replica)
    keys = compare(m, replica)
    ri = info(replica)
    mb = (ri["replica_rdb_bytes"] - base["replica_rdb_bytes"]) / 1e6
    print("\nfull sync of %d keys under a live load: %.2f s from REPLICAOF to link up; the "
          "node's transfer + load %d ms of a %.1f MB RDB (%.1f MB/s); %d keys loaded; live "
          "load %d ops meanwhile; %d keys compared" % (
              N, sync_s, ri["replica_last_sync_ms"], mb,
              mb / max(ri["replica_last_sync_ms"] / 1000, 1e-3),
              ri["replica_loaded_keys"] - base["replica_loaded_keys"], load.done, keys))
    print("node: %s" % sync_log(tb))
    assert ri["replica_full_syncs"] == base["replica_full_syncs"] + 1
    # the lists: counted and skipped; db 1's writes: skipped (once more now, surely after the sync)
    m.lpush("list:late", 1)
    master.client(db=1).set("db1:late", 1)
    wait_caught_up(m, replica)
    ri = info(replica)
    assert ri["replica_stream_errors"] > base["replica_stream_errors"]
    assert ri["replica_stream_skipped"] > base["replica_stream_skipped"]
    assert not replica.exists("db1:%d" % load.done)

    # it follows: writes, deletes, expiries (the master's DELs)
    p = m.pipeline(transaction=False)
    for i in range(200):
        p.set("exp:%d" % i, i, px=300)
        p.set("new:%d" % i, b"n" * i)
        p.delete("k:%d" % (i * 3))
        p.hset("newh:%d" % i, mapping={"a": i, "b": "x"})
    p.execute()
    wait_for("the master to expire exp:*",
             lambda: sum(m.exists("exp:%d" % i) for i in range(200)) == 0, 30)
    wait_caught_up(m, replica)
    assert sum(replica.exists("exp:%d" % i) for i in range(200)) == 0
    assert replica.get("new:150") == b"n" * 150 and not replica.exists("k:300")
    assert replica.hgetall("newh:7") == {b"a": b"7", b"b": b"x"}

    # ROLE, and the node's writes refused while its reads are served
    role = replica.execute_command("ROLE")
    assert role[0] == b"slave" and role[1] == CLIENT_IP.encode() and role[2] == master.port
    assert role[3] == b"connected" and role[4] >= 0
    with pytest.raises(redis.exceptions.ReadOnlyError):
        replica.set("mine", 1)
    with pytest.raises(redis.exceptions.ReadOnlyError):
        replica.hset("newh:7", "x", "y")
    mct = tb.tcp(1)
    assert mct.cmd("set mine 0 0 1\r\nx") == b"SERVER_ERROR read only replica\r\n"
    assert mct.cmd("delete new:150") == b"SERVER_ERROR read only replica\r\n"
    assert mct.cmd("get new:150") == b"VALUE new:150 0 150\r\n%s\r\nEND\r\n" % (b"n" * 150)
    assert replica.get("new:150") == b"n" * 150

    # the stream's apply rate: a burst of SETs, until the node's offset caught up
    burst = 50000
    t1 = time.monotonic()
    for a in range(0, burst, 5000):
        p = m.pipeline(transaction=False)
        for i in range(a, a + 5000):
            p.set("burst:%d" % i, i)
        p.execute()
    pushed = time.monotonic() - t1
    wait_caught_up(m, replica, 120)
    took = time.monotonic() - t1
    assert replica.get("burst:%d" % (burst - 1)) == b"%d" % (burst - 1)
    print("stream apply: %d SETs in %.2f s from the first write to caught up (%.0f "
          "commands/s; the client took %.2f s to write them to the master)" % (
              burst, took, burst / took, pushed))
    keys = compare(m, replica)

    # promoted: nothing missing, writes work
    assert replica.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    assert replica.dbsize() == keys
    assert replica.set("mine", 1) and replica.get("mine") == b"1"
    assert mct.cmd("set mine2 0 0 1\r\nx") == b"STORED\r\n"
    assert replica.execute_command("ROLE")[0] == b"master"
    assert info(replica)["role"] == "master"
    m.set("after", 1)
    time.sleep(0.3)
    assert not replica.exists("after")


def test_master_restart_resyncs(tb, master, replica):
    m = master.client()
    fill(m, N, prefix="old")
    t0 = time.monotonic()
    replica.execute_command("REPLICAOF", CLIENT_IP, master.port)
    base = info(replica)
    wait_for("the link", lambda: info(replica).get("master_link_status") == "up", 60)
    took = time.monotonic() - t0
    ri = info(replica)
    mb = (ri["replica_rdb_bytes"] - base["replica_rdb_bytes"]) / 1e6
    print("\nquiet full sync of %d keys: %.2f s from REPLICAOF to link up; the node's "
          "transfer + load %d ms of a %.1f MB RDB (%.1f MB/s)" % (
              N, took, ri["replica_last_sync_ms"], mb,
              mb / max(ri["replica_last_sync_ms"] / 1000, 1e-3)))
    print("node: %s" % sync_log(tb))
    wait_caught_up(m, replica)
    assert replica.dbsize() == N
    master.kill()
    wait_for("the link to go down",
             lambda: info(replica).get("master_link_status") == "down", 30)
    assert replica.ping() and replica.get("old:6") == value_of(6)   # still served
    # restarted empty, disk-based: the "$<len>" transfer
    master.diskless = False
    t0 = time.monotonic()
    master.start()
    m = master.client()
    fill(m, 1000, prefix="new")
    wait_for("a resync", lambda: info(replica).get("replica_full_syncs") ==
             base["replica_full_syncs"] + 2, 60)
    wait_caught_up(m, replica)
    print("\nreconnected and resynced %.2f s after the master came back" % (
        time.monotonic() - t0))
    assert compare(m, replica) == 1000
    assert not replica.exists("old:6")
    assert info(replica)["replica_link_drops"] > base["replica_link_drops"]


def test_bad_master_address(tb, replica):
    with pytest.raises(redis.exceptions.ResponseError, match="IPv4"):
        replica.execute_command("REPLICAOF", "no-such-host", 6379)
    with pytest.raises(redis.exceptions.ResponseError, match="not an integer"):
        replica.execute_command("REPLICAOF", CLIENT_IP, "port")
    assert info(replica)["role"] == "master"
    closed = free_port(27000)
    for host, port in (("198.18.0.99", 6379), (CLIENT_IP, closed)):
        assert replica.execute_command("REPLICAOF", host, port) == b"OK"
        time.sleep(2.5)
        ri = info(replica)
        assert ri["role"] == "slave" and ri["master_link_status"] == "down"
        assert ri["master_link_down_since_seconds"] >= 2
        assert replica.ping() and replica.dbsize() == 0
        assert replica.execute_command("ROLE")[3] in (b"connect", b"connecting")
    assert replica.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    assert replica.set("x", 1)


# ---- a fake master that sends garbage ----

EMPTY_RDB = b"REDIS0010" + b"\xff" + b"\0" * 8    # (CRC 0: not checked)


class FakeMaster(threading.Thread):
    """Answers the handshake, then sends what mode says; counts connections."""

    def __init__(self, mode):
        super().__init__(daemon=True)
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((CLIENT_IP, 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.acks = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            self.connections += 1
            try:
                self.serve(c)
            except OSError:
                pass
            finally:
                c.close()
        self.sock.close()

    def serve(self, c):
        c.settimeout(5)
        buf = b""
        while not self.stop.is_set():
            d = c.recv(65536)
            if not d:
                return
            buf += d
            while b"\r\n" in buf:
                # commands come as RESP arrays: take the whole array's words
                words, rest = parse_array(buf)
                if words is None:
                    break
                buf = rest
                w0 = words[0].upper()
                if w0 == b"PING":
                    if self.mode == "longline":
                        c.sendall(b"+" + b"x" * 5000)
                        continue
                    c.sendall(b"+PONG\r\n")
                elif w0 in (b"AUTH", b"REPLCONF"):
                    if w0 == b"REPLCONF" and words[1].upper() == b"ACK":
                        self.acks += 1
                        continue
                    c.sendall(b"+OK\r\n")
                elif w0 == b"PSYNC":
                    c.sendall(b"+FULLRESYNC %s 0\r\n" % (b"ab" * 20))
                    if self.mode == "badrdb":
                        junk = bytes(random.randrange(256) for _ in range(300))
                        c.sendall(b"\n\n$300\r\n" + junk)
                    else:
                        c.sendall(b"$%d\r\n%s" % (len(EMPTY_RDB), EMPTY_RDB))
                        time.sleep(0.3)
                        c.sendall(b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1x\r\n")


def parse_array(buf):
    """The words of the RESP array at the start of buf, and the rest; (None, buf) if
    it is not all there."""
    try:
        end = buf.index(b"\r\n")
        n = int(buf[1:end])
        i = end + 2
        words = []
        for _ in range(n):
            e = buf.index(b"\r\n", i)
            ln = int(buf[i + 1:e])
            words.append(buf[e + 2:e + 2 + ln])
            if len(buf) < e + 4 + ln:
                return None, buf
            i = e + 4 + ln
        return words, buf[i:]
    except ValueError:
        return None, buf


@pytest.mark.parametrize("mode", ["badrdb", "badstream", "longline"])
def test_garbage_from_master(tb, replica, mode):
    fake = FakeMaster(mode)
    fake.start()
    try:
        assert replica.execute_command("REPLICAOF", CLIENT_IP, fake.port) == b"OK"
        base = info(replica)
        wait_for("the node to reconnect (%s)" % mode, lambda: fake.connections >= 2, 20)
        ri = info(replica)
        assert ri["master_link_status"] in ("down", "up")
        if mode == "badstream":
            assert fake.acks >= 1, tb.log(1)[-1500:]    # it reached the stream first
        assert replica.ping() and replica.dbsize() == 0
        assert ri["replica_link_drops"] > base["replica_link_drops"]
    finally:
        replica.execute_command("REPLICAOF", "NO", "ONE")
        fake.stop.set()
        fake.join(5)
    assert replica.set("x", 1) and replica.get("x") == b"1"


def control(line):
    """One command on node 1's control socket (a unix socket: no namespace)."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    try:
        s.connect(cp.node_socket(1))
        s.sendall(line.encode() + b"\n")
        out = b""
        while not out.endswith(b"\n"):
            d = s.recv(4096)
            if not d:
                break
            out += d
        return out.decode().strip()
    finally:
        s.close()


def test_control_socket_and_metrics(tb, master, replica):
    m = master.client()
    fill(m, 500)
    assert control("REPLSTATE") == "OK role=master"
    assert control("REPLICAOF %s %d" % (CLIENT_IP, master.port)) == "OK"
    assert control("REPLICAOF %s %d" % (CLIENT_IP, master.port)) == "OK already"
    assert control("REPLICAOF 198.18.0.1 x").startswith("ERR bad port")
    st = wait_for("REPLSTATE to say up",
                  lambda: (lambda t: t if " link=up " in t else None)(control("REPLSTATE")),
                  30)
    assert st.startswith("OK role=replica master=%s:%d link=up state=connected offset=" % (
        CLIENT_IP, master.port)), st
    wait_caught_up(m, replica)
    assert compare(m, replica) == 500
    http = cp.Http(cp.cp_port(1))

    def synced():
        v = cp.parse_prometheus(http.text("/metrics")[1])[0]
        return v.get(("wirecache_replica_full_syncs_total", frozenset()), 0) >= 1 and v
    v = wait_for("/metrics to carry the replica counters", synced, 20)
    assert v[("wirecache_replica_rdb_bytes_total", frozenset())] > 0
    assert control("REPLICAOF NO ONE") == "OK"
    assert control("REPLSTATE") == "OK role=master"
    assert replica.set("mine", 1)
