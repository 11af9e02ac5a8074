"""test_repl_master.py - a real Redis replicates from a wirecache master.

Node 1 (layout "repl": two workers, so two partitions and two logs, a
password, 64 MiB) is filled with strings (some with a TTL), hashes, sets and
memcached items with client flags. Debian's redis-server 7.0 then runs as its
replica (`--replicaof <node> 6379 --masterauth ...`) in the clients'
namespace, bound to 198.18.0.1 (a free port; stopped by the test): it
full-syncs while a live write load of both protocols goes on (SET with and
without PX, DEL, HSET/HDEL, SADD/SREM, EXPIRE/PERSIST, INCR; memcached set
with flags and exptime, delete, append, incr; keys that expire on the node
during the run), then follows the stream. When the load stops, every key
of both sides must match: type, value, TTL (within 2 s). A bulk of
memcached sets then makes the node evict: evictions reach the replica as
DELs and both sides match again. Meanwhile:
  - INFO replication (role, connected_slaves, slave0 with ip, port,
    state=online, offset, lag; master_repl_offset, repl_backlog_*), ROLE,
    and the repl_* counters on /metrics;
  - WAIT 1 answers 1 with the replica attached, 0 at its timeout without;
  - min-replicas-to-write 1: writes pass with the replica, answer
    NOREPLICAS without it (reads still pass).
A replica killed in the middle of its sync leaves the node healthy (the
feed and its snapshot go, writes go on), and the next replica syncs whole.
The wire itself is checked over a raw socket: REPLCONF's errors,
+FULLRESYNC <40 hex> <offset>, keep-alives, $len and an RDB, SELECT 0, a
write arriving as SET, WCREPL.MARK per partition to a "capa wc" replica,
and a partial resync (+CONTINUE) from named per-partition offsets (refused:
+FULLRESYNC, when they left the backlog or the replid is not ours).

Measured and printed: full-sync time for N keys / MB, stream throughput
(entries/s) to the real replica, and its lag under load.
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import redis

from lib import cp
from lib.resp import RedisServer, Resp
from lib.testbed import NET, node_ip

pytestmark = pytest.mark.testbed("repl")

PW = "wc-secret"
RPORT = 6379
MCPORT = 11211
REPLICA_IP = NET + ".1"
N_STR, N_HASH, N_SET, N_MC, N_BIG = 8000, 4000, 4000, 2000, 1000
BIG = 8192
TTL_TOL_MS = 2000


def node(decode=False):
    return redis.Redis(host=node_ip(1), port=RPORT, password=PW, socket_timeout=20,
                       socket_connect_timeout=5, decode_responses=decode)


def free_port(first=27100):
    for p in range(first, first + 200):
        s = socket.socket()
        try:
            s.bind((REPLICA_IP, p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port")


class Replica:
    """Debian's redis-server as a replica of node 1, in this (the clients') namespace."""

    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="wc-repl-replica-")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", REPLICA_IP,
             "--save", "", "--appendonly", "no", "--dir", self.dir,
             "--logfile", os.path.join(self.dir, "log"),
             "--replicaof", node_ip(1), str(RPORT), "--masterauth", PW,
             "--repl-timeout", "30", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.r = redis.Redis(host=REPLICA_IP, port=self.port, socket_timeout=20,
                             socket_connect_timeout=5)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.r.ping():
                    break
            except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                pass
            assert time.monotonic() < deadline and self.proc.poll() is None, \
                "redis-server did not start: " + self.log()
            time.sleep(0.05)

    def log(self):
        try:
            with open(os.path.join(self.dir, "log")) as f:
                return f.read()[-3000:]
        except OSError:
            return "(no log)"

    def synced(self):
        try:
            i = self.r.info("replication")
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            return False
        return i.get("master_link_status") == "up" and i.get("master_sync_in_progress") == 0

    def wait_synced(self, timeout=60):
        deadline = time.monotonic() + timeout
        while not self.synced():
            assert time.monotonic() < deadline and self.proc.poll() is None, \
                "the replica did not sync within %ds:\n%s" % (timeout, self.log())
            time.sleep(0.05)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.r.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def replicas():
    made = []

    def make():
        r = Replica()
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


def mc_conn():
    s = socket.create_connection((node_ip(1), MCPORT), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def mc_batch(s, reqs):
    """Send memcached requests, read one reply line each (storage/delete/incr)."""
    s.sendall(b"".join(reqs))
    buf = b""
    n = 0
    while n < len(reqs):
        d = s.recv(1 << 16)
        assert d, "memcached connection closed"
        buf += d
        n = buf.count(b"\r\n")
    return buf


def fill(r):
    p = r.pipeline(transaction=False)
    for i in range(N_STR):
        if i % 5 == 0:
            p.set("s:%d" % i, "v%d" % i, px=3600 * 1000 + i)
        else:
            p.set("s:%d" % i, "value-%d" % i)
    for i in range(N_HASH):
        p.hset("h:%d" % i, mapping={"f1": str(i), "f2": "x" * (i % 30), "n": "k%d" % i})
        if i % 7 == 0:
            p.pexpire("h:%d" % i, 7200 * 1000)
    for i in range(N_SET):
        p.sadd("t:%d" % i, *["m%d" % (i + j) for j in range(1 + i % 9)])
    for i in range(N_BIG):
        p.set("big:%d" % i, os.urandom(BIG // 2).hex())
    p.execute()
    s = mc_conn()
    try:
        reqs = [b"set mc:%d %d %d 5\r\nhello\r\n" % (i, i + 1, 0 if i % 3 else 3600)
                for i in range(N_MC)]
        for k in range(0, len(reqs), 200):
            assert mc_batch(s, reqs[k:k + 200]).count(b"STORED") == len(reqs[k:k + 200])
    finally:
        s.close()


def live_load(stop, stats, seconds=8.0, max_ops=60000, seed=1):
    """Writes of both protocols on both partitions, bounded in time and count."""
    rnd = random.Random(seed)
    r = node()
    s = mc_conn()
    t_end = time.monotonic() + seconds
    ops = 0
    try:
        while ops < max_ops and time.monotonic() < t_end and not stop.is_set():
            p = r.pipeline(transaction=False)
            mreq = []
            for _ in range(100):
                k = rnd.randrange(3000)
                c = rnd.randrange(14)
                if c == 0:
                    p.set("live:%d" % k, "v%d" % ops)
                elif c == 1:
                    p.set("live:%d" % k, "p%d" % ops, px=rnd.choice((800, 1500, 600000)))
                elif c == 2:
                    p.delete("live:%d" % k)
                elif c == 3:
                    p.hset("lh:%d" % (k % 500), "f%d" % rnd.randrange(20), "v%d" % ops)
                elif c == 4:
                    p.hdel("lh:%d" % (k % 500), "f%d" % rnd.randrange(20))
                elif c == 5:
                    p.sadd("ls:%d" % (k % 500), "m%d" % rnd.randrange(30))
                elif c == 6:
                    p.srem("ls:%d" % (k % 500), "m%d" % rnd.randrange(30))
                elif c == 7:
                    p.pexpire("s:%d" % rnd.randrange(N_STR), rnd.choice((1200, 900000)))
                elif c == 8:
                    p.persist("s:%d" % rnd.randrange(N_STR))
                elif c == 9:
                    p.incr("cnt:%d" % (k % 50))
                elif c == 10:
                    mreq.append(b"set lmc:%d %d %d 4\r\nabcd\r\n" % (
                        k, rnd.randrange(1, 1 << 16), rnd.choice((0, 0, 2, 3600))))
                elif c == 11:
                    mreq.append(b"delete lmc:%d\r\n" % k)
                elif c == 12:
                    mreq.append(b"append mc:%d 0 0 2\r\nzz\r\n" % rnd.randrange(N_MC))
                else:
                    mreq.append(b"incr mcn:%d 1\r\n" % (k % 50))
                    mreq.append(b"add mcn:%d 0 0 1\r\n0\r\n" % (k % 50))
                ops += 1
            p.execute(raise_on_error=False)
            if mreq:
                mc_batch(s, mreq)
    finally:
        stats["ops"] = ops
        s.close()
        r.close()


def dump_all(r):
    """{key: (type, value, pttl)} of every key r holds."""
    keys = list(r.scan_iter(count=2000))
    out = {}
    for k0 in range(0, len(keys), 2000):
        ks = keys[k0:k0 + 2000]
        p = r.pipeline(transaction=False)
        for k in ks:
            p.type(k)
            p.pttl(k)
        tt = p.execute()
        p = r.pipeline(transaction=False)
        for j, k in enumerate(ks):
            t = tt[2 * j]
            if t == b"string":
                p.get(k)
            elif t == b"hash":
                p.hgetall(k)
            elif t == b"set":
                p.smembers(k)
            else:
                p.exists(k)
        vals = p.execute()
        for j, k in enumerate(ks):
            out[k] = (tt[2 * j], vals[j], tt[2 * j + 1])
    return out


def differences(a, b):
    diffs = []
    for k in set(a) | set(b):
        x, y = a.get(k), b.get(k)
        # a key about to expire (or just expired) may be on one side only for a moment
        near = [v[2] for v in (x, y) if v and 0 <= v[2] < 3000]
        if near:
            continue
        if x is None or y is None:
            diffs.append((k, x, y))
            continue
        if x[0] != y[0] or x[1] != y[1]:
            diffs.append((k, x, y))
        elif (x[2] < 0) != (y[2] < 0) or (x[2] >= 0 and abs(x[2] - y[2]) > TTL_TOL_MS):
            diffs.append((k, x, y))
    return diffs


def wait_equal(rep, timeout=60):
    m = node()
    deadline = time.monotonic() + timeout
    try:
        while True:
            a, b = dump_all(m), dump_all(rep.r)
            d = differences(a, b)
            if not d:
                return len(a)
            if time.monotonic() > deadline:
                pytest.fail("%d keys differ between the node and its replica, e.g. %r\n%s" % (
                    len(d), d[:5], rep.log()))
            time.sleep(0.5)
    finally:
        m.close()


def metrics(want="wirecache_repl_syncs_full_total", timeout=10):
    """The node's wirecache_repl_* samples on /metrics, summed over labels (published every
    100 ms: waits until want is there)."""
    api = cp.Http(cp.cp_port(1))
    deadline = time.monotonic() + timeout
    while True:
        _, text = api.text("/metrics")
        samples, _ = cp.parse_prometheus(text)
        out = {}
        for (name, _labels), v in samples.items():
            if name.startswith("wirecache_repl_"):
                out[name] = out.get(name, 0) + v
        if out.get(want) or time.monotonic() > deadline:
            return out
        time.sleep(0.2)


def info_repl(r):
    return r.info("replication")


def slave0(r):
    i = info_repl(r)
    return i, i.get("slave0")


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.02)


def report(capsys, line):
    with capsys.disabled():
        print("\n[repl-master] " + line)


def test_full_sync_under_load_then_the_stream(tb, replicas, capsys):
    m = node()
    m.flushall()
    fill(m)
    stop = threading.Event()
    stats = {}
    load = threading.Thread(target=live_load, args=(stop, stats))
    # the replica full-syncs while both protocols write
    load.start()
    try:
        t0 = time.monotonic()
        rep = replicas()
        rep.wait_synced()
        sync_s = time.monotonic() - t0
    finally:
        load.join(30)
    assert not load.is_alive()
    assert stats["ops"] > 1000
    n = wait_equal(rep)
    met = metrics()
    assert met["wirecache_repl_syncs_full_total"] >= 1
    assert met["wirecache_repl_replicas_connected"] == 1
    assert met["wirecache_repl_output_bytes_total"] > BIG * N_BIG / 2
    assert met["wirecache_repl_snapshots_total"] >= 1
    snap_ms = met["wirecache_repl_snapshot_ms_total"] / met["wirecache_repl_snapshots_total"]
    report(capsys, "full sync of %d keys, a %.1f MB RDB (snapshot written in %.0f ms), under a "
           "live load: the replica was online %.2f s after it started; %d live writes of both "
           "protocols; then %d keys equal on both sides" % (
               met["wirecache_repl_snapshot_keys_total"] / met["wirecache_repl_snapshots_total"],
               met["wirecache_repl_snapshot_bytes_total"] / met["wirecache_repl_snapshots_total"]
               / 1e6, snap_ms, sync_s, stats["ops"], n))

    # INFO replication and ROLE on the master
    i, s0 = slave0(m)
    assert i["role"] == "master"
    assert i["connected_slaves"] == 1
    assert s0["ip"] == REPLICA_IP and s0["port"] == rep.port and s0["state"] == "online"
    assert i["repl_backlog_active"] == 1 and i["repl_backlog_size"] > 0
    assert i["master_repl_offset"] > 0
    assert len(i["master_replid"]) == 40
    assert i["repl_backlog_first_byte_offset"] == \
        i["master_repl_offset"] - i["repl_backlog_histlen"] + 1
    # the replica's offset reaches the master's once the stream is quiet (ACK every second)
    wait_for(lambda: slave0(m)[1]["offset"] == info_repl(m)["master_repl_offset"], 5,
             "slave0's offset to reach master_repl_offset")
    cl = m.client_list(_type="replica")
    assert len(cl) == 1 and cl[0]["flags"] == "S", cl
    role = m.execute_command("ROLE")
    assert role[0] == b"master" and role[1] >= i["master_repl_offset"]
    assert role[2] == [[REPLICA_IP.encode(), str(rep.port).encode(), role[2][0][2]]]
    assert rep.r.info("replication")["master_host"] == node_ip(1)

    # WAIT: the replica has every write made before it
    waits = []
    for k in range(20):
        m.set("w:%d" % k, "x")
        t0 = time.monotonic()
        assert m.execute_command("WAIT", 1, 5000) == 1
        waits.append(time.monotonic() - t0)
    waits.sort()
    report(capsys, "WAIT 1 after a SET, 20 times: median %.1f ms, max %.1f ms" % (
        1000 * waits[10], 1000 * waits[-1]))
    # min-replicas-to-write 1 is met with the replica attached
    m.config_set("min-replicas-to-write", 1)
    try:
        assert m.config_get("min-replicas-to-write") == {"min-replicas-to-write": "1"}
        m.set("guarded", "1")
    finally:
        m.config_set("min-replicas-to-write", 0)

    # stream throughput and lag under load: redis-benchmark writes as fast as it can (bounded
    # in count and time) while probes time how long a write takes to show on the replica
    e0 = metrics()["wirecache_repl_entries_streamed_total"]
    bench = subprocess.Popen(
        ["redis-benchmark", "-h", node_ip(1), "-p", str(RPORT), "-a", PW, "-t", "set",
         "-n", "100000", "-P", "32", "-c", "8", "-r", "100000", "-d", "32", "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    lags = []
    try:
        k = 0
        while bench.poll() is None and time.monotonic() - t0 < 60:
            k += 1
            m.set("probe", k)
            tp = time.monotonic()
            while rep.r.get("probe") != b"%d" % k:
                assert time.monotonic() - tp < 10, "a write took over 10 s to reach the replica"
                time.sleep(0.0005)
            lags.append(time.monotonic() - tp)
            time.sleep(0.02)
        assert bench.wait(60) == 0, "redis-benchmark failed"
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait(5)
    t_written = time.monotonic() - t0
    assert m.execute_command("WAIT", 1, 30000) == 1
    t_all = time.monotonic() - t0
    time.sleep(0.3)     # (/metrics is published every 100 ms)
    entries = metrics()["wirecache_repl_entries_streamed_total"] - e0
    assert entries >= 100000
    lags.sort()
    report(capsys, "stream under redis-benchmark (100000 SETs, -P 32 -c 8): written in %.2f s, "
           "acknowledged by the replica (WAIT 1) after %.2f s: %d entries, %.0f entries/s; "
           "lag of a write to the replica under that load over %d probes: p50 %.1f ms, "
           "p99 %.1f ms, max %.1f ms" % (
               t_written, t_all, entries, entries / t_all, len(lags),
               1000 * lags[len(lags) // 2], 1000 * lags[min(len(lags) - 1, len(lags) * 99 // 100)],
               1000 * lags[-1]))

    # evictions on the node become DELs on the replica
    before = m.info("stats")["evicted_keys"]
    s = mc_conn()
    try:
        val = b"e" * 16384
        for k0 in range(0, 6000, 100):
            reqs = [b"set ev:%d 0 0 %d\r\n%s\r\n" % (k, len(val), val)
                    for k in range(k0, k0 + 100)]
            mc_batch(s, reqs)
    finally:
        s.close()
    evicted = m.info("stats")["evicted_keys"] - before
    assert evicted > 0, "the bulk load did not make the node evict"
    n = wait_equal(rep)
    report(capsys, "%d evictions reached the replica as DELs: %d keys equal" % (evicted, n))
    assert i["role"] == "master"

    # the replica goes: WAIT times out with 0, NOREPLICAS refuses writes
    rep.close()
    wait_for(lambda: info_repl(m)["connected_slaves"] == 0, 10, "the replica to be gone")
    m.set("after", "1")
    t0 = time.monotonic()
    assert m.execute_command("WAIT", 1, 300) == 0
    assert time.monotonic() - t0 >= 0.28
    assert m.execute_command("WAIT", 0, 0) == 0
    m.config_set("min-replicas-to-write", 1)
    try:
        with pytest.raises(redis.ResponseError, match="NOREPLICAS Not enough good replicas"):
            m.set("refused", "1")
        with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
            m.hset("refusedh", "f", "v")
        assert m.get("after") == b"1"      # reads go on
    finally:
        m.config_set("min-replicas-to-write", 0)
    m.set("allowed", "1")
    assert m.exists("refused") == 0
    m.close()


def test_replica_killed_mid_sync_leaves_the_node_healthy(tb, replicas, capsys):
    m = node()
    m.flushall()
    fill(m)
    # first, how fast the node serves a full sync by itself: PSYNC to the RDB's last byte,
    # read as fast as this client can (no replica loading it)
    raw = Raw()
    t0 = time.monotonic()
    _, _, rdb = full_sync(raw)
    t = time.monotonic() - t0
    raw.close()
    report(capsys, "full sync served to a raw reader: %d keys, %.1f MB RDB in %.3f s "
           "(snapshot + transfer): %.0f MB/s, %.1f s per GiB at that rate" % (
               m.dbsize(), len(rdb) / 1e6, t, len(rdb) / 1e6 / t, t * (1 << 30) / len(rdb)))
    wait_for(lambda: info_repl(m)["connected_slaves"] == 0, 10, "the raw replica to go")
    # a replica that reads a little of its RDB (a small receive buffer holds the transfer
    # back) and is then reset: the node was in the middle of sending it
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.settimeout(10)
    s.connect((node_ip(1), RPORT))
    s.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n"
              % (len(PW), PW.encode()))
    got = b""
    while len(got) < 4096:
        got += s.recv(4096)
    assert got.startswith(b"+OK\r\n+FULLRESYNC "), got[:100]
    wait_for(lambda: slave0(m)[1] and slave0(m)[1]["state"] == "send_bulk", 10,
             "the node to be sending the RDB")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()       # (a reset: linger 0)
    wait_for(lambda: info_repl(m)["connected_slaves"] == 0, 10, "the reset replica to go")
    # a real redis-server killed as soon as the node has it (syncing or just done)
    rep = replicas()
    wait_for(lambda: slave0(m)[1], 20, "the node to see the replica")
    rep.proc.kill()
    rep.proc.wait(5)
    wait_for(lambda: info_repl(m)["connected_slaves"] == 0, 10, "the killed replica to go")
    # the node serves on
    assert m.ping()
    m.set("still", "here")
    assert m.get("still") == b"here"
    s = mc_conn()
    try:
        assert mc_batch(s, [b"set mcstill 5 0 2\r\nok\r\n"]) == b"STORED\r\n"
    finally:
        s.close()
    # and the next replica syncs whole
    rep2 = replicas()
    rep2.wait_synced()
    wait_equal(rep2)
    m.close()


def pipeline_sets(m, prefix, n, value):
    p = m.pipeline(transaction=False)
    for k in range(n):
        p.set("%s:%d" % (prefix, k), value)
        if k % 10000 == 9999:
            p.execute()
    p.execute()


def test_catch_up_and_falling_out_of_the_backlog(tb, replicas, capsys):
    m = node()
    m.flushall()
    rep = replicas()
    rep.wait_synced()
    # a replica that stopped reading catches up from the backlog, without a new sync
    time.sleep(0.5)     # (/metrics is published every 100 ms: this sync is counted in it)
    met = metrics()
    full0 = met["wirecache_repl_syncs_full_total"]
    dropped0 = met.get("wirecache_repl_replicas_dropped_total", 0)
    rep.proc.send_signal(signal.SIGSTOP)
    try:
        # a stopped replica acknowledges nothing: WAIT answers 0 at its timeout
        m.set("unacked", "1")
        assert m.execute_command("WAIT", 1, 200) == 0
        pipeline_sets(m, "cu", 60000, "v")    # ~3.4 MB of log: within the 8 MB backlog
    finally:
        rep.proc.send_signal(signal.SIGCONT)
    t0 = time.monotonic()
    assert m.execute_command("WAIT", 1, 60000) == 1
    t = time.monotonic() - t0
    report(capsys, "catch-up: a replica stopped during 60000 SETs had them all (WAIT 1) %.2f s "
           "after it went on: %.0f entries/s (from the backlog, no new sync)" % (t, 60000 / t))
    assert rep.r.get("cu:59999") == b"v"
    time.sleep(0.3)
    met = metrics()
    assert met["wirecache_repl_syncs_full_total"] == full0 and \
        met.get("wirecache_repl_replicas_dropped_total", 0) == dropped0, (met, full0, dropped0)
    # one that stops for longer than the backlog holds is dropped, and full-syncs again
    rep.proc.send_signal(signal.SIGSTOP)
    try:
        pipeline_sets(m, "over", 100000, "x" * 100)     # ~16 MB of log: past the backlog
        wait_for(lambda: metrics("wirecache_repl_replicas_dropped_total", 1).get(
            "wirecache_repl_replicas_dropped_total", 0) > dropped0, 20,
            "the node to drop a replica that fell out of its backlog")
    finally:
        rep.proc.send_signal(signal.SIGCONT)
    wait_for(lambda: metrics().get("wirecache_repl_syncs_full_total", 0) > full0, 60,
             "the dropped replica to full-sync again")
    rep.wait_synced()
    wait_equal(rep)
    m.close()


def test_two_replicas_at_once(tb, replicas):
    m = node()
    m.flushall()
    fill(m)
    a, b = replicas(), replicas()
    a.wait_synced()
    b.wait_synced()
    m.set("both", "1")
    assert m.execute_command("WAIT", 2, 10000) == 2
    i = info_repl(m)
    assert i["connected_slaves"] == 2
    assert sorted((i["slave0"]["port"], i["slave1"]["port"])) == sorted((a.port, b.port))
    wait_equal(a)
    wait_equal(b)
    b.close()
    wait_for(lambda: info_repl(m)["connected_slaves"] == 1, 10, "one replica to go")
    assert m.execute_command("WAIT", 2, 200) == 1
    m.close()


# ---- the wire, over a raw socket ----

class Raw:
    def __init__(self):
        self.s = socket.create_connection((node_ip(1), RPORT), timeout=10)
        self.buf = b""

    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)

    def _more(self):
        d = self.s.recv(1 << 20)
        assert d, "closed by the node"
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self._more()
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def exact(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def command(self):
        """The next RESP array of bulks from the stream, as a list of bytes."""
        head = self.line()
        assert head.startswith(b"*"), head
        args = []
        for _ in range(int(head[1:])):
            ln = self.line()
            assert ln.startswith(b"$"), ln
            args.append(self.exact(int(ln[1:]) + 2)[:-2])
        return args

    def cmd(self, *args):
        self.send(*args)
        return self.line()

    def close(self):
        self.s.close()


def full_sync(raw, *capa):
    assert raw.cmd("AUTH", PW) == b"+OK"
    assert raw.cmd("PING") == b"+PONG"
    assert raw.cmd("REPLCONF", "listening-port", "7777") == b"+OK"
    assert raw.cmd("REPLCONF", "capa", "eof", "capa", "psync2", *capa) == b"+OK"
    raw.send("PSYNC", "?", "-1")
    ln = raw.line()
    mo = re.fullmatch(rb"\+FULLRESYNC ([0-9a-f]{40}) (\d+)", ln)
    assert mo, ln
    # keep-alives ("\n") until the RDB's length
    while True:
        while not raw.buf:
            raw._more()
        if raw.buf[:1] == b"\n":
            raw.buf = raw.buf[1:]
            continue
        break
    ln = raw.line()
    assert ln.startswith(b"$"), ln
    rdb = raw.exact(int(ln[1:]))
    assert rdb.startswith(b"REDIS0010")
    return mo.group(1).decode(), int(mo.group(2)), rdb


def test_the_wire_full_and_partial(tb):
    m = node()
    m.flushall()
    m.set("before", "1")
    # errors a replica (or anyone) can make
    raw = Raw()
    assert raw.cmd("AUTH", PW) == b"+OK"
    assert raw.cmd("REPLCONF", "bogus", "1").startswith(b"-ERR Unrecognized REPLCONF option")
    assert raw.cmd("REPLCONF", "listening-port", "abc") == b"-ERR value is out of range"
    assert raw.cmd("REPLCONF", "listening-port") == b"-ERR syntax error"
    assert raw.cmd("PSYNC", "?", "x").startswith(b"-ERR value is not an integer")
    assert raw.cmd("PSYNC", "?").startswith(b"-ERR wrong number of arguments")
    raw.close()

    # a plain (Redis-like) replica: the RDB, SELECT 0, then writes as commands
    raw = Raw()
    replid, off, rdb = full_sync(raw)
    assert b"before" in rdb
    assert raw.command() == [b"SELECT", b"0"]
    m.set("after", "v", px=100000)
    got = raw.command()
    assert got[:3] == [b"SET", b"after", b"v"] and got[3] == b"PXAT", got
    m.delete("after")
    assert raw.command() == [b"DEL", b"after"]
    raw.close()
    assert replid == info_repl(m)["master_replid"]

    # the old SYNC: no +FULLRESYNC, the RDB and the stream at once
    raw = Raw()
    assert raw.cmd("AUTH", PW) == b"+OK"
    raw.send("SYNC")
    ln = raw.line()
    assert ln.startswith(b"$"), ln
    assert raw.exact(int(ln[1:])).startswith(b"REDIS0010")
    assert raw.command() == [b"SELECT", b"0"]
    raw.close()

    # redis-cli --rdb (REPLCONF rdb-only, SYNC): a file redis-check-rdb accepts
    d = tempfile.mkdtemp(prefix="wc-repl-rdb-")
    try:
        path = os.path.join(d, "dump.rdb")
        p = subprocess.run(["redis-cli", "-h", node_ip(1), "-p", str(RPORT), "-a", PW,
                            "--no-auth-warning", "--rdb", path],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stdout + p.stderr
        p = subprocess.run(["redis-check-rdb", path], capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and "RDB looks OK" in p.stdout, p.stdout + p.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)

    # a wirecache replica (capa wc): WCREPL.MARK per partition, flags as WCREPL.SET
    raw = Raw()
    replid, off, rdb = full_sync(raw, "capa", "wc")
    assert raw.command() == [b"SELECT", b"0"]
    marks = {}
    for _ in range(2):
        c = raw.command()
        assert c[0] == b"WCREPL.MARK", c
        marks[int(c[1])] = int(c[2])
    assert sorted(marks) == [0, 1]
    stream = len(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n") + sum(
        len(b"*3\r\n$11\r\nWCREPL.MARK\r\n$1\r\n%d\r\n$%d\r\n%d\r\n" % (p, len(str(o)), o))
        for p, o in marks.items())
    s = mc_conn()
    try:
        assert mc_batch(s, [b"set flagged 77 0 3\r\nabc\r\n"]) == b"STORED\r\n"
    finally:
        s.close()
    c = raw.command()
    assert c == [b"WCREPL.SET", b"flagged", b"abc", b"77", b"-1"], c
    mk = raw.command()
    assert mk[0] == b"WCREPL.MARK"
    marks[int(mk[1])] = int(mk[2])
    raw.close()

    # partial resync from those offsets: +CONTINUE, and the writes made meanwhile follow
    m.set("while-away", "1")
    raw = Raw()
    assert raw.cmd("AUTH", PW) == b"+OK"
    assert raw.cmd("REPLCONF", "capa", "psync2", "capa", "wc") == b"+OK"
    assert raw.cmd("REPLCONF", "wc-offsets", "2", marks[0], marks[1]) == b"+OK"
    raw.send("PSYNC", replid, off + stream + 1)
    assert raw.line() == ("+CONTINUE " + replid).encode()
    assert raw.command() == [b"SELECT", b"0"]
    c = raw.command()
    assert c == [b"SET", b"while-away", b"1"], c
    raw.close()

    # offsets no longer in the backlog, or another replid: a full sync instead
    raw = Raw()
    assert raw.cmd("AUTH", PW) == b"+OK"
    assert raw.cmd("REPLCONF", "capa", "psync2", "capa", "wc") == b"+OK"
    assert raw.cmd("REPLCONF", "wc-offsets", "2", 1 << 60, 0) == b"+OK"
    raw.send("PSYNC", replid, 5)
    assert raw.line().startswith(b"+FULLRESYNC ")
    raw.close()
    raw = Raw()
    assert raw.cmd("AUTH", PW) == b"+OK"
    assert raw.cmd("REPLCONF", "capa", "wc", "wc-offsets", "2", marks[0], marks[1]) == b"+OK"
    raw.send("PSYNC", "f" * 40, 5)
    assert raw.line().startswith(b"+FULLRESYNC ")
    raw.close()
    # a real Redis (no capa wc) always full-syncs
    raw = Raw()
    assert raw.cmd("AUTH", PW) == b"+OK"
    raw.send("PSYNC", replid, off + 1)
    assert raw.line().startswith(b"+FULLRESYNC ")
    raw.close()
    wait_for(lambda: info_repl(m)["connected_slaves"] == 0, 10, "the raw replicas to go")
    m.close()


def test_command_info_as_redis(tb):
    """COMMAND INFO of SYNC, PSYNC, REPLCONF, WAIT and ROLE: Redis 7.0's, byte for byte."""
    ref = RedisServer(26398)
    try:
        with ref.connect() as r, Resp() as n:
            assert n.raw("AUTH", PW) == b"+OK\r\n"
            for name in ("sync", "psync", "replconf", "wait", "role"):
                assert n.raw("COMMAND", "INFO", name) == r.raw("COMMAND", "INFO", name), name
    finally:
        ref.close()
