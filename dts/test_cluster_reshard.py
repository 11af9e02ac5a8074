"""test_cluster_reshard.py - live resharding of a three-node cluster formed
through etcd (issue 13), under load, with real clients:

- CLUSTER SETSLOT by hand: IMPORTING on the target and MIGRATING on the source
  go through etcd (the map holds them; CLUSTER NODES shows [slot->-id] and
  [slot-<-id]); the source answers ASK for a key it no longer has, the target
  serves it after ASKING and answers MOVED without; MIGRATE moves keys with
  their TTLs and types; SETSLOT NODE flips the slot in one etcd transaction
  (new epoch, the new owner's config epoch bumped), the source then answers
  MOVED; `redis-cli --cluster check` passes;
- `redis-cli --cluster reshard` of 150 slots between two nodes while checkers write and read
  (redis-py's RedisCluster, ioredis's Cluster, node-redis's createCluster),
  then `redis-cli --cluster rebalance` evening it out again under load;
- a fourth node added live (`tools/testbed add`, `wirecachectl cluster
  add-node`), `wirecachectl cluster rebalance --use-empty-masters` under load,
  then node 1 emptied (`rebalance --weight ID=0`) and removed (`del-node`):
  every acknowledged write is readable afterwards and no read returned a value
  older than the last acknowledged write;
- with etcd stopped the cluster keeps serving, and SETSLOT and a reshard are
  refused with a clear error.

Each checker thread owns its keys: it writes a key, and reads one back, one at
a time, so it knows the exact value every read must return (a write that
failed leaves both its old and its new value possible).
"""
import json
import os
import random
import re
import subprocess
import threading
import time

import socket

import pytest
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot
from pymemcache.client.base import Client as McClient

from lib import cp, resp
from lib.testbed import ROOT, node_ip

pytestmark = pytest.mark.testbed("cluster-reshard")

RPORT = 6379
NODE_DIR = os.path.join(ROOT, "dts", "node")
CHECK_S = 90            # a checker stops after this long, whatever happens


def raw(i, *args):
    with resp.Resp(node_ip(i), RPORT, timeout=10) as c:
        return c(*args)


def raw_bytes(i, *args):
    with resp.Resp(node_ip(i), RPORT, timeout=10) as c:
        return c.raw(*args)


def mc(i, line, data=None):
    """One memcached request over TCP to node i: its whole reply."""
    with socket.create_connection((node_ip(i), 11211), timeout=10) as c:
        c.sendall(line.encode() + b"\r\n" + (data + b"\r\n" if data is not None else b""))
        out = b""
        while not (out.endswith(b"END\r\n") or out.endswith(b"STORED\r\n") or
                   out.startswith(b"SERVER_ERROR") and out.endswith(b"\r\n") or
                   out.startswith(b"NOT_") and out.endswith(b"\r\n")):
            b = c.recv(65536)
            if not b:
                break
            out += b
        return out


def node_id(i):
    return raw(i, "CLUSTER", "MYID").decode()


def settle(timeout=20):
    """Every node of the map runs its epoch (wirecachectl's flips do not wait for that)."""
    deadline = time.monotonic() + timeout
    while True:
        rc, out, err = cp.cluster_ctl("check")
        if rc == 0:
            return
        assert time.monotonic() < deadline, out + err
        time.sleep(0.2)


def owners(via=None):
    """slot -> node id, from a live node's CLUSTER NODES (its own view), once settled."""
    own = {}
    settle()
    if via is None:
        via = 1 if 1 in alive_nodes() else 2
    for line in raw(via, "CLUSTER", "NODES").decode().splitlines():
        f = line.split()
        for r in f[8:]:
            if r.startswith("["):
                continue
            lo, _, hi = r.partition("-")
            for s in range(int(lo), int(hi or lo) + 1):
                own[s] = f[0]
    return own


_DEAD = set()


def alive_nodes():
    return [i for i in (1, 2, 3, 4) if i not in _DEAD]


def slots_of(nid):
    own = owners()
    return sorted(s for s, o in own.items() if o == nid)


def map_doc():
    rc, out, err = cp.ctl("--json", "--timeout", "5", "cluster", "info", "--etcd",
                          cp.etcd_endpoints(), "--cluster-name", cp.CLUSTER_NAME)
    assert rc == 0, out + err
    return json.loads(out)


def key_in(slot, tag):
    for n in range(200000):
        k = "%s:%d" % (tag, n)
        if key_slot(k.encode()) == slot:
            return k
    raise AssertionError("no key for slot %d" % slot)


def cli_check(i=1):
    r = subprocess.run(["redis-cli", "--cluster", "check", "%s:%d" % (node_ip(i), RPORT)],
                       capture_output=True, timeout=60)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0 and "[OK] All 16384 slots covered." in out, out
    assert "[WARNING]" not in out, out


def wait_epoch_everywhere(nodes, epoch, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        got = {}
        for i in nodes:
            info = raw(i, "CLUSTER", "INFO").decode()
            got[i] = int(re.search(r"cluster_current_epoch:(\d+)", info).group(1))
        if all(e >= epoch for e in got.values()):
            return
        assert time.monotonic() < deadline, "epochs %s, want %d" % (got, epoch)
        time.sleep(0.1)


class Checker:
    """One thread writing and reading its own keys through RedisCluster."""

    def __init__(self, name, nkeys=400, seed=0):
        self.name = name
        self.keys = ["{%s%d}:%d" % (name, n % 97, n) for n in range(nkeys)]
        self.acked = {}          # key -> the value of its last acknowledged write
        self.maybe = {}          # key -> values of failed writes (may or may not be there)
        self.ops = self.errors = self.stale = 0
        self.problems = []
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def client(self):
        return RedisCluster(startup_nodes=[ClusterNode(node_ip(2), RPORT)], socket_timeout=5,
                            decode_responses=True, cluster_error_retry_attempts=8)

    def ok_values(self, k):
        return {self.acked.get(k)} | self.maybe.get(k, set())

    def run(self):
        rc = self.client()
        deadline = time.monotonic() + CHECK_S
        seq = 0
        try:
            while not self.stop.is_set() and time.monotonic() < deadline and seq < 500000:
                seq += 1
                k = self.rng.choice(self.keys)
                v = "%s-%d" % (k, seq)
                try:
                    assert rc.set(k, v) is True
                    self.acked[k] = v
                    self.maybe.pop(k, None)
                except Exception as e:      # noqa: BLE001 (either client's errors)
                    self.errors += 1
                    self.maybe.setdefault(k, set()).add(v)
                    if len(self.problems) < 5:
                        self.problems.append("set %s: %r" % (k, e))
                    time.sleep(0.05)
                    continue
                k = self.rng.choice(self.keys)
                try:
                    got = rc.get(k)
                except Exception as e:      # noqa: BLE001
                    self.errors += 1
                    if len(self.problems) < 5:
                        self.problems.append("get %s: %r" % (k, e))
                    continue
                if got not in self.ok_values(k):
                    self.stale += 1
                    if len(self.problems) < 5:
                        self.problems.append("get %s: %r, want %r" % (k, got, self.acked.get(k)))
                self.ops += 2
        finally:
            rc.close()

    def start(self):
        self.t.start()
        return self

    def finish(self):
        self.stop.set()
        self.t.join(CHECK_S + 30)
        assert not self.t.is_alive()

    def verify(self):
        """Every key holds its last acknowledged value (read through a fresh client)."""
        rc = self.client()
        try:
            lost = [(k, rc.get(k), self.acked[k]) for k in self.acked
                    if rc.get(k) not in self.ok_values(k)]
        finally:
            rc.close()
        assert not lost, "%d lost writes, e.g. %s" % (len(lost), lost[:3])
        assert self.stale == 0, self.problems
        return self.ops


class McChecker(Checker):
    """The same over memcached (pymemcache), through one node: keys of other nodes'
    slots are forwarded to their owner, and during a move to where the key is."""

    def __init__(self, name, node=3, nkeys=400, seed=0):
        super().__init__(name, nkeys, seed)
        self.node = node
        self.keys = ["mc-%s:%d" % (name, n) for n in range(nkeys)]

    def client(self):
        c = McClient((node_ip(self.node), 11211), connect_timeout=5, timeout=5, no_delay=True)
        return _McAdapter(c)


class _McAdapter:
    def __init__(self, c):
        self.c = c

    def set(self, k, v):
        return self.c.set(k, v.encode(), noreply=False)

    def get(self, k):
        v = self.c.get(k)
        return v.decode() if v is not None else None

    def close(self):
        self.c.close()


class NodeChurn:
    """ioredis's Cluster or node-redis's createCluster writing and reading its keys (its
    own: a prefix of each run's own, as keys of an earlier run are still there)."""

    runs = 0

    def __init__(self, client, ms):
        NodeChurn.runs += 1
        self.p = subprocess.Popen(["node", os.path.join(NODE_DIR, "cluster_churn.js"),
                                   json.dumps({"client": client, "host": node_ip(3),
                                               "port": RPORT, "ms": ms,
                                               "prefix": "%s%d" % (client, NodeChurn.runs)})],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=NODE_DIR)

    def result(self, timeout=120):
        out, err = self.p.communicate(timeout=timeout)
        assert self.p.returncode == 0, out.decode()[-1500:] + err.decode()[-1500:]
        res = json.loads(out.decode().strip().splitlines()[-1])
        assert res["lost"] == 0 and res["stale"] == 0, json.dumps(res)
        assert res["ops"] > 0, res
        return res


def links_open(i):
    c = McClient((node_ip(i), 11211), connect_timeout=5, timeout=5)
    try:
        st = {k.decode() if isinstance(k, bytes) else k: v for k, v in c.stats().items()}
    finally:
        c.close()
    return int(st.get("cluster_links_open", 0))


def wait_links(nodes, want, timeout=30):
    """Every node's links to the others are up (memcached is forwarded over them)."""
    deadline = time.monotonic() + timeout
    while True:
        got = [links_open(i) for i in nodes]
        if all(g >= want for g in got):
            return
        assert time.monotonic() < deadline, "links not up: %s" % got
        time.sleep(0.3)


def cli_cluster_under(checkers, command, *args):
    """`redis-cli --cluster <command> node1 <args>` while the (started) checkers run; then
    the checkers stop and every acknowledged write is verified. Returns redis-cli's output."""
    time.sleep(1)
    r = subprocess.run(["redis-cli", "--cluster", command, "%s:%d" % (node_ip(1), RPORT), *args],
                       capture_output=True, timeout=300)
    out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
    time.sleep(1)
    for c in checkers:
        c.finish()
    assert r.returncode == 0, out[-3000:]
    for c in checkers:
        assert c.verify() > 50
    return out


@pytest.fixture(autouse=True)
def _inside(tb):
    wait_links((1, 2, 3) if not tb.dead_nodes() else (2, 3), 2)
    return tb


def test_setslot_by_hand_ask_migrate_and_flip():
    src, dst = node_id(1), node_id(2)
    slot = slots_of(src)[7]
    e0 = map_doc()["epoch"]
    moved_key, kept_key = key_in(slot, "hand-a"), key_in(slot, "hand-b")
    hkey = key_in(slot, "hand-h")
    assert raw_bytes(1, "SET", moved_key, "one", "PX", "600000") == b"+OK\r\n"
    assert raw_bytes(1, "SET", kept_key, "two") == b"+OK\r\n"
    assert raw(1, "HSET", hkey, "f1", "v1", "f2", "v2") == 2
    mkey = key_in(slot, "hand-mc")
    assert mc(1, "set %s 42 0 5" % mkey, b"hello") == b"STORED\r\n"

    assert raw_bytes(2, "CLUSTER", "SETSLOT", slot, "IMPORTING", src) == b"+OK\r\n"
    assert raw_bytes(1, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst) == b"+OK\r\n"
    # the states are in etcd's map, and each node shows its own
    d = map_doc()
    assert d["epoch"] >= e0 + 2, d
    assert "[%d->-%s]" % (slot, dst) in raw(1, "CLUSTER", "NODES").decode()
    assert "[%d-<-%s]" % (slot, src) in raw(2, "CLUSTER", "NODES").decode()
    # the source's own error texts for what Redis refuses
    assert raw_bytes(2, "CLUSTER", "SETSLOT", slot, "MIGRATING", src).startswith(
        b"-ERR I'm not the owner of hash slot %d" % slot)
    assert raw_bytes(1, "CLUSTER", "SETSLOT", slot, "IMPORTING", dst).startswith(
        b"-ERR I'm already the owner of hash slot %d" % slot)

    # MIGRATE a string with a TTL and a hash; the third key stays
    r = raw_bytes(1, "MIGRATE", node_ip(2), RPORT, "", 0, 5000, "KEYS", moved_key, hkey,
                  mkey, key_in(slot, "hand-none"))
    assert r == b"+OK\r\n", r
    # memcached has no ASK: any node finds the moved key, its flags kept (through node 1,
    # which sends it on to node 2; through node 3, which sends it to node 1 first)
    want = b"VALUE %s 42 5\r\nhello\r\nEND\r\n" % mkey.encode()
    for i in (1, 2, 3):
        assert mc(i, "get %s" % mkey) == want, i
    assert mc(3, "set %s 7 0 5" % mkey, b"world") == b"STORED\r\n"
    assert mc(2, "get %s" % mkey) == b"VALUE %s 7 5\r\nworld\r\nEND\r\n" % mkey.encode()
    assert raw(1, "CLUSTER", "COUNTKEYSINSLOT", slot) == 1     # kept_key alone: set went to 2
    ask = "ASK %d %s:%d" % (slot, node_ip(2), RPORT)
    assert raw_bytes(1, "GET", moved_key) == ("-%s\r\n" % ask).encode()
    assert raw_bytes(1, "GET", kept_key) == b"$3\r\ntwo\r\n"
    assert raw_bytes(1, "SET", key_in(slot, "hand-new"), "x") == ("-%s\r\n" % ask).encode()
    with resp.Resp(node_ip(2), RPORT, timeout=10) as c:
        assert c.raw("GET", moved_key).startswith(b"-MOVED %d %s:%d" % (slot, node_ip(1).encode(), RPORT))
        assert c.raw("ASKING") == b"+OK\r\n"
        assert c.raw("GET", moved_key) == b"$3\r\none\r\n"
        assert c.raw("ASKING") == b"+OK\r\n"
        assert 590000 < c("PTTL", moved_key) <= 600000
        assert c.raw("ASKING") == b"+OK\r\n"
        assert sorted(c("HGETALL", hkey)) == [b"f1", b"f2", b"v1", b"v2"]
    # still holding kept_key: the source refuses to give the slot away
    assert raw_bytes(1, "CLUSTER", "SETSLOT", slot, "NODE", dst).startswith(
        b"-ERR Can't assign hashslot %d to a different node while I still hold keys" % slot)
    assert raw_bytes(1, "MIGRATE", node_ip(2), RPORT, kept_key, 0, 5000) == b"+OK\r\n"
    assert raw_bytes(1, "MIGRATE", node_ip(2), RPORT, kept_key, 0, 5000) == b"+NOKEY\r\n"
    assert raw_bytes(1, "GET", kept_key) == ("-%s\r\n" % ask).encode()
    assert raw(1, "CLUSTER", "COUNTKEYSINSLOT", slot) == 0

    e1 = map_doc()["epoch"]
    for i in (2, 1, 3):
        assert raw_bytes(i, "CLUSTER", "SETSLOT", slot, "NODE", dst) == b"+OK\r\n", i
    d = map_doc()
    assert d["epoch"] == e1 + 1, "one flip, one new epoch: %s" % d["epoch"]
    wait_epoch_everywhere((1, 2, 3), e1 + 1)
    moved = "MOVED %d %s:%d" % (slot, node_ip(2), RPORT)
    assert raw_bytes(1, "GET", kept_key) == ("-%s\r\n" % moved).encode()
    assert raw_bytes(2, "GET", kept_key) == b"$3\r\ntwo\r\n"
    assert "[%d" % slot not in raw(1, "CLUSTER", "NODES").decode()
    assert "[%d" % slot not in raw(2, "CLUSTER", "NODES").decode()
    # the new owner's config epoch is the flip's
    line = [x for x in raw(1, "CLUSTER", "NODES").decode().splitlines() if x.startswith(dst)][0]
    assert int(line.split()[6]) == e1 + 1, line
    cli_check()


def test_redis_cli_reshard_under_load():
    src, dst = node_id(1), node_id(3)
    before = len(slots_of(dst))
    checkers = [Checker("cli%d" % n, seed=n).start() for n in range(2)]
    checkers.append(McChecker("cli", seed=5).start())
    churn = [NodeChurn(c, 20000) for c in ("ioredis", "node_redis")]
    cli_cluster_under(checkers, "reshard", "--cluster-from", src, "--cluster-to", dst,
                      "--cluster-slots", "150", "--cluster-yes", "--cluster-pipeline", "50")
    for ch in churn:
        ch.result()
    assert len(slots_of(dst)) == before + 150
    cli_check()


def test_redis_cli_rebalance_under_load():
    """redis-cli --cluster rebalance evens out what the reshard above moved, keys and all,
    while checkers write and read on both protocols."""
    counts = {i: len(slots_of(node_id(i))) for i in (1, 2, 3)}
    assert max(counts.values()) - min(counts.values()) >= 100, counts
    checkers = [Checker("clireb", seed=7).start(), McChecker("clireb", seed=8).start()]
    out = cli_cluster_under(checkers, "rebalance", "--cluster-threshold", "1",
                            "--cluster-pipeline", "50")
    assert "Moving" in out, out[-3000:]
    counts = {i: len(slots_of(node_id(i))) for i in (1, 2, 3)}
    assert max(counts.values()) - min(counts.values()) <= 2, (counts, out[-2000:])
    cli_check()

def test_rebalance_to_a_new_node_then_remove_one_under_load(tb):
    rc, out = tb.command("add")
    assert rc == 0, out
    new = re.search(r"registered with id ([0-9a-f]{40})", out).group(1)
    rc, out = tb.command("ctl", "cluster", "add-node", new)
    assert rc == 0, out
    checkers = [Checker("reb%d" % n, seed=10 + n).start() for n in range(2)]
    checkers.append(McChecker("reb", seed=15).start())
    churn = [NodeChurn(c, 25000) for c in ("ioredis", "node_redis")]
    t0 = time.monotonic()
    rc, out = tb.command("ctl", "cluster", "rebalance", "--use-empty-masters", timeout=300)
    took = time.monotonic() - t0
    assert rc == 0, out[-3000:]
    counts = {n: len(slots_of(n)) for n in (node_id(i) for i in (1, 2, 3, 4))}
    assert all(abs(c - 4096) <= 1 for c in counts.values()), counts
    assert re.search(r"keys/s", out), out[-2000:]
    print("rebalance to 4 nodes: %.1f s\n%s" % (took, out[-1500:]))

    # node 1 hands everything over and leaves the map
    old = node_id(1)
    rc, out = tb.command("ctl", "cluster", "rebalance", "--weight", "%s=0" % old, timeout=300)
    assert rc == 0, out[-3000:]
    assert slots_of(old) == []
    rc, out = tb.command("ctl", "cluster", "del-node", old)
    assert rc == 0, out
    for c in checkers:
        c.finish()
    for c in checkers:
        assert c.verify() > 50
    for ch in churn:
        ch.result()
    assert len(map_doc()["nodes"]) == 3
    # the old node is cut off (as if switched off); the others serve every slot
    rc, out = tb.command("isolate", "1")
    assert rc == 0, out
    _DEAD.add(1)
    try:
        cli_check(2)
        rc, out, err = cp.cluster_ctl("check")
        assert rc == 0, out + err
        rc = RedisCluster(startup_nodes=[ClusterNode(node_ip(2), RPORT)], socket_timeout=5)
        try:
            want, n = set(range(0, 16384, 97)), 0
            while want:
                k = "after:%d" % n
                n += 1
                if key_slot(k.encode()) in want:
                    want.discard(key_slot(k.encode()))
                    assert rc.set(k, "x") is True and rc.get(k) == b"x"
        finally:
            rc.close()
    finally:
        rc, out = tb.command("heal", "1")
        _DEAD.discard(1)
    assert rc == 0, out
    # the move is counted where the keys came from
    _, m = cp.Http(cp.cp_port(2)).text("/metrics")
    got = re.search(r"^wirecache_migrate_keys_total(?:\{[^}]*\})? (\d+)", m, re.M)
    assert got and int(got.group(1)) > 0, m[:2000]


def test_reshard_refused_while_etcd_is_down(tb):
    ids = {i: node_id(i) for i in (2, 3)}
    slot = slots_of(ids[2])[0]
    rc, out = tb.command("etcd", "kill", "1")
    assert rc == 0, out
    try:
        r = raw_bytes(3, "CLUSTER", "SETSLOT", slot, "IMPORTING", ids[2])
        assert r.startswith(b"-ERR") and b"etcd" in r, r
        rc, out = tb.command("ctl", "cluster", "reshard", "--from", ids[2], "--to", ids[3],
                             "--slots", "10")
        assert rc != 0 and "etcd unreachable" in out, out
        # serving goes on with the last map
        k = key_in(slot, "etcd-down")
        assert raw_bytes(2, "SET", k, "v") == b"+OK\r\n"
        assert raw_bytes(2, "GET", k) == b"$1\r\nv\r\n"
    finally:
        rc, out = tb.command("etcd", "start", "1")
    assert rc == 0, out
    assert "[%d" % slot not in raw(3, "CLUSTER", "NODES").decode()
