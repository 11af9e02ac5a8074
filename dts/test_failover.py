"""test_failover.py - a 6-node cluster of 3 masters with one replica each (issue 14):
the layout, replicas serving reads, and failover through etcd.

- `tools/testbed up --nodes 6 --replicas 1`: nodes 1-3 are masters with every slot,
  4-6 their replicas (CLUSTER NODES says "slave <master>"); once a replica has
  synced, CLUSTER SLOTS lists it after its master; a replica answers MOVED for
  writes and for reads without READONLY, and serves READONLY reads;
- the promise, Jepsen-style, 10 times over: writers put unique keys into the slots
  of one master, each followed by WAIT 1; `tools/testbed kill N` SIGKILLs that
  master; its replica is promoted through etcd (the master's lease lapses, the
  replica wins the map transaction) and clients follow MOVED. Every write that WAIT
  acknowledged is on the new master; the writes acknowledged without WAIT that
  were lost are counted. The killed node comes back as a replica of the new master
  and syncs before the next kill. Printed: how long writes to the shard were
  unavailable (from the kill to the first write the new master took), p50 and max;
- `tools/testbed isolate N` of a master: it fences its writes before its lease can
  lapse, its replica takes over, and once healed it rejoins as a replica with
  nothing WAIT-acknowledged lost.
Every wait is bounded.
"""
import socket
import statistics
import threading
import time

import pytest

from lib import cp
from lib import testbed as tbmod
from lib.resp import Resp

pytestmark = pytest.mark.testbed("cluster-replicas")

NODES = 6
KILLS = 10


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def slot_of(key):
    k = key.encode()
    s = k.find(b"{")
    if s >= 0:
        e = k.find(b"}", s + 1)
        if e > s + 1:
            k = k[s + 1:e]
    return crc16(k) % 16384


def ip(i):
    return tbmod.node_ip(i)


def node_of_ip(addr):
    return int(addr.split(".")[-1]) - 10


def nodes_view(i):
    """CLUSTER NODES from node i: {id: {"node": n, "role", "master", "slots": [(a, b)]}}."""
    with Resp(ip(i), timeout=5.0) as c:
        text = c("CLUSTER", "NODES").decode()
    out = {}
    for line in text.strip().splitlines():
        w = line.split()
        slots = []
        for r in w[8:]:
            a, _, b = r.partition("-")
            slots.append((int(a), int(b or a)))
        out[w[0]] = {"node": node_of_ip(w[1].split(":")[0]),
                     "role": "slave" if "slave" in w[2] else "master",
                     "master": w[3] if w[3] != "-" else None, "slots": slots}
    return out


def master_of_slot(view, slot):
    for nid, n in view.items():
        if n["role"] == "master" and any(a <= slot <= b for a, b in n["slots"]):
            return n["node"]
    return None


def wait_for(pred, timeout, what, step=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except (OSError, ConnectionError, AssertionError) as e:
            last = e
        time.sleep(step)
    raise AssertionError("%s: not within %.0f s (last: %r)" % (what, timeout, last))


def control(i, line):
    """One line on node i's control socket (the dataplane's): its reply line."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5.0)
    try:
        s.connect(cp.node_socket(i))
        s.sendall(line.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            d = s.recv(4096)
            if not d:
                break
            buf += d
        return buf.decode().strip()
    finally:
        s.close()


def keys_in_slots(prefix, slot_lo, slot_hi, n):
    out, i = [], 0
    while len(out) < n:
        k = "%s:%d" % (prefix, i)
        if slot_lo <= slot_of(k) <= slot_hi:
            out.append(k)
        i += 1
    return out


def replicas_synced(view_node=1, timeout=60.0):
    """Every master's replica is listed in CLUSTER SLOTS (it has synced something)."""
    def ok():
        with Resp(ip(view_node), timeout=5.0) as c:
            slots = c("CLUSTER", "SLOTS")
        return slots and all(len(r) >= 4 for r in slots)
    return wait_for(ok, timeout, "every slot range lists a replica in CLUSTER SLOTS")


def test_layout(tb):
    view = nodes_view(1)
    masters = sorted(n["node"] for n in view.values() if n["role"] == "master")
    assert masters == [1, 2, 3], view
    for nid, n in view.items():
        if n["role"] == "slave":
            assert n["slots"] == [], n
            assert view[n["master"]]["node"] == n["node"] - 3, (nid, n)
    # each replica lists under its master in CLUSTER SLOTS once it synced
    replicas_synced()
    with Resp(ip(2), timeout=5.0) as c:
        for r in c("CLUSTER", "SLOTS"):
            m, rep = node_of_ip(r[2][0].decode()), node_of_ip(r[3][0].decode())
            assert rep == m + 3, r
    rc, out, err = cp.cluster_ctl("check")
    assert rc == 0, out + err


def test_replica_reads_and_redirects(tb):
    replicas_synced()
    view = nodes_view(1)
    key = keys_in_slots("rr", 0, 16383, 1)[0]
    m = master_of_slot(view, slot_of(key))
    r = [n["node"] for n in view.values()
         if n["role"] == "slave" and view[n["master"]]["node"] == m][0]
    with Resp(ip(m)) as c:
        assert c("SET", key, "v1") == b"OK"
        assert c("WAIT", "1", "5000") == 1
    with Resp(ip(r)) as c:
        moved = c("GET", key)
        assert isinstance(moved, Exception) and str(moved).startswith(
            "MOVED %d %s:6379" % (slot_of(key), ip(m))), moved
        assert c("READONLY") == b"OK"
        assert c("GET", key) == b"v1"
        moved = c("SET", key, "v2")
        assert isinstance(moved, Exception) and str(moved).startswith("MOVED"), moved
    # memcached through the replica: forwarded to the master
    s = socket.create_connection((ip(r), 11211), timeout=5.0)
    try:
        s.sendall(b"get %s\r\n" % key.encode())
        got = b""
        while not got.endswith(b"END\r\n"):
            d = s.recv(4096)
            assert d, got
            got += d
        assert b"v1" in got, got
    finally:
        s.close()


class Writer(threading.Thread):
    """Unique keys into slots lo..hi, each SET followed by WAIT 1; follows MOVED."""

    def __init__(self, tag, lo, hi, first_master):
        super().__init__(daemon=True)
        self.tag, self.lo, self.hi = tag, lo, hi
        self.master = first_master
        self.stop = threading.Event()
        self.waited, self.unwaited = [], []
        self.ok_times = []
        self.errors = 0
        self.keys = keys_in_slots(tag, lo, hi, 20000)

    def run(self):
        c, n = None, 0
        deadline = time.monotonic() + 60
        while not self.stop.is_set() and time.monotonic() < deadline and n < len(self.keys):
            k = self.keys[n]
            try:
                if c is None:
                    c = Resp(ip(self.master), timeout=1.0)
                r = c("SET", k, "val-" + k)
                if r != b"OK":
                    raise ConnectionError(str(r))
                self.ok_times.append(time.monotonic())
                w = c("WAIT", "1", "300")
                (self.waited if isinstance(w, int) and w >= 1 else self.unwaited).append(k)
                n += 1
            except Exception as e:  # noqa: BLE001 (a dead master, MOVED, CLUSTERDOWN)
                self.errors += 1
                if c is not None:
                    c.close()
                    c = None
                text = str(e)
                if text.startswith("MOVED"):
                    self.master = node_of_ip(text.split()[2].split(":")[0])
                else:
                    time.sleep(0.02)
                    for i in range(1, NODES + 1):
                        if i == self.master:
                            continue
                        try:
                            m = master_of_slot(nodes_view(i), self.lo)
                            if m:
                                self.master = m
                                break
                        except Exception:  # noqa: BLE001
                            continue
        if c is not None:
            c.close()


def read_all(node, keys):
    missing = []
    with Resp(ip(node), timeout=10.0) as c:
        c("READONLY")
        for i in range(0, len(keys), 200):
            chunk = keys[i:i + 200]
            got = c("MGET", *chunk) if len({slot_of(k) for k in chunk}) == 1 else [
                c("GET", k) for k in chunk]
            missing += [k for k, v in zip(chunk, got) if v != ("val-" + k).encode()]
    return missing


def one_kill(tb, rnd):
    view = nodes_view(((rnd + 1) % 3) + 1 if rnd % 2 else 1)
    shard_slot = [0, 5462, 10923][rnd % 3]
    victim = master_of_slot(view, shard_slot)
    lo, hi = [(0, 5461), (5462, 10922), (10923, 16383)][rnd % 3]
    w = Writer("fo%d" % rnd, lo, hi, victim)
    w.start()
    wait_for(lambda: len(w.waited) >= 50, 20, "50 WAIT-acknowledged writes before the kill")
    rc, out = tb.command("kill", str(victim))
    t_kill = time.monotonic()
    assert rc == 0, out
    wait_for(lambda: any(t > t_kill for t in w.ok_times) and
             len([t for t in w.ok_times if t > t_kill]) >= 50, 30,
             "50 writes taken by the new master")
    w.stop.set()
    w.join(10)
    first = min(t for t in w.ok_times if t > t_kill)
    new_master = w.master
    assert new_master != victim
    lost = read_all(new_master, w.waited)
    lost_unwaited = read_all(new_master, w.unwaited)
    # the killed node comes back as a replica of the new master and syncs
    rc, out = tb.command("start", str(victim))
    assert rc == 0, out
    view = wait_for(lambda: (lambda v: v if [n for n in v.values() if n["node"] == victim and
                                             n["role"] == "slave"] else None)(nodes_view(
                                                 new_master)), 20, "node %d a replica" % victim)

    def synced():
        with Resp(ip(new_master), timeout=5.0) as c:
            return c("SET", "sync-probe:{%s}" % w.tag, "1") == b"OK" and c("WAIT", "1", "500") == 1
    wait_for(synced, 60, "node %d synced from node %d" % (victim, new_master), step=0.5)
    return {"victim": victim, "new_master": new_master, "unavailable_s": first - t_kill,
            "waited": len(w.waited), "lost": lost, "unwaited": len(w.unwaited),
            "lost_unwaited": len(lost_unwaited)}


def test_failover_keeps_every_waited_write(tb):
    replicas_synced()
    results = []
    for rnd in range(KILLS):
        r = one_kill(tb, rnd)
        print("kill %d: node %d -> node %d: writes unavailable %.3f s, %d WAIT-acked "
              "(%d lost), %d acked without WAIT (%d lost)" % (
                  rnd + 1, r["victim"], r["new_master"], r["unavailable_s"], r["waited"],
                  len(r["lost"]), r["unwaited"], r["lost_unwaited"]))
        results.append(r)
        assert not r["lost"], r
    t = [r["unavailable_s"] for r in results]
    print("failover over %d kills: writes unavailable p50 %.3f s, max %.3f s; writes "
          "acknowledged without WAIT lost: %d of %d" % (
              len(t), statistics.median(t), max(t), sum(r["lost_unwaited"] for r in results),
              sum(r["unwaited"] for r in results)))
    assert statistics.median(t) < 2.0, t


def test_isolated_master_fences_and_rejoins(tb):
    replicas_synced()
    view = nodes_view(1)
    victim = master_of_slot(view, 0)
    w = Writer("iso", 0, 5461, victim)
    w.start()
    wait_for(lambda: len(w.waited) >= 50, 20, "50 WAIT-acknowledged writes")
    rc, out = tb.command("isolate", str(victim))
    assert rc == 0, out
    t0 = time.monotonic()
    try:
        # the isolated master fences itself before its lease can lapse
        wait_for(lambda: "fence=on" in control(victim, "FENCE STATE"), 5,
                 "node %d fenced" % victim)
        wait_for(lambda: len([t for t in w.ok_times if t > t0]) >= 50, 30,
                 "50 writes taken by the replica that took over")
    finally:
        w.stop.set()
        w.join(10)
        rc, out = tb.command("heal", str(victim))
        assert rc == 0, out
    new_master = w.master
    assert new_master != victim
    assert not read_all(new_master, w.waited)
    wait_for(lambda: [n for n in nodes_view(new_master).values()
                      if n["node"] == victim and n["role"] == "slave"], 20,
             "node %d back as a replica" % victim)
