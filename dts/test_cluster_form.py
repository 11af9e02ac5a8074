"""test_cluster_form.py - three nodes forming one cluster through etcd (issue
13, M1): `tools/testbed up --nodes 3` starts etcd on the host's loopback,
runs the dataplanes with --cluster and the control planes with --etcd, creates
the map and waits until every dataplane runs it. Checked here:

- `wirecachectl cluster info` and `check` (and their JSON): epoch 1, three
  live masters with 5462/5461/5461 slots, every dataplane on the map's epoch;
  /api/cluster, "etcd" in /api/status and wirecache_etcd_up on every node;
- every node describes the same cluster (CLUSTER SLOTS), a key of another
  node's slot gets -MOVED to its owner over Redis and is forwarded to it over
  memcached, `redis-cli -c` follows, `redis-cli --cluster check` passes;
- registry liveness: a control plane killed (SIGKILL), its nodes/<id> key is
  gone within the node timeout (2 s, plus the lease's granularity); started
  again, the node is registered again and check passes;
- etcd stopped: every control plane reports etcd down (/api/cluster,
  /api/status, /metrics) and the dataplanes keep serving with the map they
  have. This test is last: it takes the testbed down after itself.

Needs the dataplane's side of interface I1 (ID, CMAP) to run.
"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from lib import cp, resp
from lib import testbed as tbmod

pytestmark = pytest.mark.testbed("cluster")

NODES = 3
NAME = cp.CLUSTER_NAME
TIMEOUT_S = 2.0      # wirecache-cp's --node-timeout default


endpoints = cp.etcd_endpoints
ctl = cp.cluster_ctl


def crc16(data):
    """CRC16-CCITT (XMODEM), Redis Cluster's key hash."""
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


def cluster_docs():
    return [cp.Http(cp.cp_port(i)).json("/api/cluster") for i in range(1, NODES + 1)]


def owner_ip(doc, slot):
    for n in doc["nodes"]:
        for a, b in n["slots"]:
            if a <= slot <= b:
                return n["ip"], n["port"], n["mcport"]
    raise AssertionError("slot %d has no owner in %r" % (slot, doc))


def key_on(ip, doc, avoid=False):
    """A key whose slot node ip owns (or, avoid=True, does not own)."""
    for i in range(10000):
        k = "k%d" % i
        if (owner_ip(doc, slot_of(k))[0] == ip) != avoid:
            return k
    raise AssertionError("no key found")


def test_info_and_check(tb):
    rc, out, err = ctl("info")
    assert rc == 0, out + err
    assert "epoch 1, 3 node(s), 16384 of 16384 slots assigned" in out, out
    rows = [l for l in out.splitlines() if re.match(r"^[0-9a-f]{8} ", l)]
    assert len(rows) == NODES, out
    assert sorted(int(r.split()[4]) for r in rows) == [5461, 5461, 5462], out
    assert all(r.rstrip().endswith("yes") for r in rows), out
    rc, out, err = ctl("check")
    assert rc == 0 and "[OK] all 16384 slots covered" in out, out + err
    rc, out, err = cp.ctl("--json", "--timeout", "5", "cluster", "check", "--etcd",
                          endpoints())
    assert rc == 0 and '"ok": true' in out, out + err
    # a second create is refused: the map exists
    rc, out, err = ctl("create")
    assert rc == 1 and "already has a map" in err, out + err
    ids = set()
    for i, doc in enumerate(cluster_docs(), 1):
        assert doc["enabled"] and doc["etcd"] is True, doc
        assert doc["cluster_name"] == NAME and doc["registered"], doc
        assert doc["epoch"] == 1 and doc["dataplane_epoch"] == 1, doc
        assert len(doc["nodes"]) == NODES and all(n["alive"] for n in doc["nodes"]), doc
        me = [n for n in doc["nodes"] if n["myself"]]
        assert len(me) == 1 and me[0]["id"] == doc["id"], doc
        assert me[0]["ip"] == tbmod.node_ip(i), doc
        ids.add(doc["id"])
        h = cp.Http(cp.cp_port(i))
        assert h.json("/api/status")["etcd"] is True
        metrics, _ = cp.parse_prometheus(h.text("/metrics")[1])
        assert metrics[("wirecache_etcd_up", frozenset())] == 1
    assert len(ids) == NODES


def test_same_cluster_everywhere_and_moved(tb):
    doc = cluster_docs()[0]
    views = []
    for i in range(1, NODES + 1):
        with resp.Resp(tbmod.node_ip(i)) as r:
            views.append(sorted((s[0], s[1], s[2][0].decode() if isinstance(s[2][0], bytes)
                                 else s[2][0], s[2][1]) for s in r("CLUSTER", "SLOTS")))
            info = r("CLUSTER", "INFO")
            info = info.decode() if isinstance(info, bytes) else info
            assert "cluster_state:ok" in info and "cluster_known_nodes:3" in info, info
    assert views[0] == views[1] == views[2], views
    assert len(views[0]) == NODES
    ip1 = tbmod.node_ip(1)
    other = key_on(ip1, doc, avoid=True)
    oip, oport, omc = owner_ip(doc, slot_of(other))
    with resp.Resp(ip1) as r:
        got = r.raw("SET", other, "v")
        assert got == b"-MOVED %d %s:%d\r\n" % (slot_of(other), oip.encode(), oport), got
        mine = key_on(ip1, doc)
        assert r.raw("SET", mine, "here") == b"+OK\r\n"
    # memcached: forwarded to the owner over the node-to-node link (the testbed gives
    # every node a cluster secret; test_cluster_forward.py), its answer unchanged
    c = tb.tcp(1)
    got = c.cmd(b"get %s\r\n" % other.encode())
    for _ in range(60):	# (the links come up within a few seconds of the map)
        if not got.startswith(b"SERVER_ERROR moved"):
            break
        time.sleep(0.5)
        got = c.cmd(b"get %s\r\n" % other.encode())
    assert got == b"END\r\n", got
    assert omc	# the owner's memcached port is in the map
    # redis-cli follows MOVED; --cluster check agrees with the map
    r = subprocess.run(["redis-cli", "-c", "-h", ip1, "SET", other, "followed"],
                       capture_output=True, timeout=20)
    assert r.stdout.strip() == b"OK", r
    with resp.Resp(oip) as o:
        assert o.raw("GET", other) == b"$8\r\nfollowed\r\n"
    r = subprocess.run(["redis-cli", "--cluster", "check", "%s:6379" % ip1],
                       capture_output=True, timeout=60)
    assert r.returncode == 0 and b"[OK] All 16384 slots covered." in r.stdout, r.stdout


def registered():
    rc, out, _ = cp.ctl("--json", "--timeout", "5", "cluster", "info", "--etcd", endpoints())
    return set(json.loads(out)["registered"]) if rc == 0 else set()


def test_registry_liveness(tb):
    doc = cp.Http(cp.cp_port(2)).json("/api/cluster")
    victim = doc["id"]
    assert victim in registered()
    pidfile = os.path.join(tbmod.STATE, "cp2.pid")
    os.kill(int(open(pidfile).read()), signal.SIGKILL)
    t0 = time.monotonic()
    while victim in registered():
        assert time.monotonic() - t0 < TIMEOUT_S + 2.5, "nodes/%s still there" % victim
        time.sleep(0.1)
    rc, out, _ = ctl("check")
    assert rc == 1 and "not registered" in out, out
    # started again (its pid where `down` finds it), it registers and runs the map
    p, h = cp.spawn_cp(cp.cp_port(2), "--node", "node2", "--etcd", endpoints(),
                       "--cluster-name", NAME, socket_path=cp.node_socket(2),
                       log=os.path.join(tbmod.STATE, "cp2.log"))
    with open(pidfile, "w") as f:
        f.write("%d\n" % p.pid)
    h.wait(lambda d: d.get("dataplane_epoch") == 1, "node 2's dataplane on the map", 15,
           "/api/cluster")
    assert victim in registered()
    rc, out, _ = ctl("check")
    assert rc == 0, out


def test_etcd_down_keeps_serving(tb):
    doc = cluster_docs()[0]
    for f in sorted(os.listdir(tbmod.STATE)):
        if re.match(r"^etcd\d+\.pid$", f):
            os.kill(int(open(os.path.join(tbmod.STATE, f)).read()), signal.SIGTERM)
    try:
        for i in range(1, NODES + 1):
            h = cp.Http(cp.cp_port(i))
            d = h.wait(lambda x: x["etcd"] is False, "node %d to report etcd down" % i, 15,
                       "/api/cluster")
            assert d["epoch"] == 1 and d["dataplane_epoch"] == 1, d
            assert "etcd unreachable" in d["etcd_error"], d
            assert h.json("/api/status")["etcd"] is False
            metrics, _ = cp.parse_prometheus(h.text("/metrics")[1])
            assert metrics[("wirecache_etcd_up", frozenset())] == 0
        rc, _, err = ctl("info")
        assert rc == 1 and "etcd unreachable at" in err, err
        # the dataplanes serve with the map they have
        for i in range(1, NODES + 1):
            ip = tbmod.node_ip(i)
            k = key_on(ip, doc)
            with resp.Resp(ip) as r:
                assert r.raw("SET", k, "still") == b"+OK\r\n"
                assert r.raw("GET", k) == b"$5\r\nstill\r\n"
                o = key_on(ip, doc, avoid=True)
                assert r.raw("GET", o).startswith(b"-MOVED %d " % slot_of(o))
    finally:
        tb.down()   # etcd is gone: the next module gets a fresh testbed
