"""test_cluster_ops.py - operating a 3-node cluster on 3 etcd members (issue 13):
the testbed's fault commands and its live table.

- `tools/testbed etcd kill K` of the etcd leader changes nothing: every node
  keeps serving its slots, every control plane still reports etcd up,
  `wirecachectl cluster check` passes at once, and map changes still commit
  and reach every dataplane (`cluster add-node` of a registered node with no
  slots, then `del-node` of it: epoch +1 each); `etcd start K` brings the
  member back healthy;
- `tools/testbed kill N` (SIGKILL of node N's dataplane and control plane):
  its liveness key goes within the node timeout, `cluster check` fails, the
  other nodes serve; `start N` brings it back with the same node id, running
  the map (`cluster check` passes, it serves its slots again);
- `isolate N` / `heal N`: node N's liveness key goes, its control plane says
  etcd is unreachable, its dataplane is off the bridge while the others
  serve; healed, it registers again and `cluster check` passes;
- `tools/testbed watch --once`: one row per node, every line at most 100
  columns, the slots adding up to 16384.

The node with no slots is a registry entry written here under an etcd lease
of its own (a node that registered and has not joined the map yet).
"""
import json
import os
import re
import subprocess
import time

import pytest

from lib import cp, resp
from lib import testbed as tbmod
from lib.testbed import in_root_ns

pytestmark = pytest.mark.testbed("cluster-etcd3")

NODES = 3
NAME = cp.CLUSTER_NAME
TIMEOUT_S = 2.0      # the testbed's --node-timeout for a cluster without replicas
SPARE_ID = "5a" * 20     # the registered node with no slots
SPARE = {"id": SPARE_ID, "ip": "198.18.0.99", "port": 6379, "cport": 16379,
         "mcport": 11211, "http": "127.0.0.1:1", "role": "master", "master": None}


endpoints = cp.etcd_endpoints
ctl = cp.cluster_ctl


def etcdctl(*args, eps=None):
    with in_root_ns():
        r = subprocess.run(["etcdctl", "--endpoints", eps or endpoints(),
                            "--command-timeout=5s", *args], capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def doc(i):
    return cp.Http(cp.cp_port(i)).json("/api/cluster")


def map_epoch():
    rc, out, err = cp.ctl("--json", "--timeout", "5", "cluster", "info", "--etcd", endpoints())
    assert rc == 0, out + err
    return json.loads(out)["epoch"]


def registered():
    rc, out, _ = cp.ctl("--json", "--timeout", "5", "cluster", "info", "--etcd", endpoints())
    return set(json.loads(out)["registered"]) if rc == 0 else set()


def wait_dataplanes(epoch, nodes=range(1, NODES + 1), timeout=10.0):
    for i in nodes:
        cp.Http(cp.cp_port(i)).wait(lambda d: d.get("dataplane_epoch") == epoch,
                                    "node %d's dataplane on epoch %d" % (i, epoch), timeout,
                                    "/api/cluster")


def serves_its_slots(i, tag):
    """Node i's dataplane writes and reads a key of a slot it owns (asked over Redis)."""
    me = [n for n in doc(i)["nodes"] if n["myself"]][0]
    lo = me["slots"][0][0]
    with resp.Resp(tbmod.node_ip(i)) as r:
        # a key in node i's first slot range: try names until CLUSTER KEYSLOT says so
        for k in range(20000):
            key = "%s-%d" % (tag, k)
            slot = r("CLUSTER", "KEYSLOT", key)
            if any(a <= slot <= b for a, b in me["slots"]):
                break
        else:
            raise AssertionError("no key found for node %d (slots from %d)" % (i, lo))
        assert r.raw("SET", key, tag) == b"+OK\r\n"
        assert r.raw("GET", key) == b"$%d\r\n%s\r\n" % (len(tag), tag.encode())


def member_urls():
    urls = {}
    for f in os.listdir(tbmod.STATE):
        m = re.match(r"^etcd(\d+)\.url$", f)
        if m:
            urls[int(m.group(1))] = open(os.path.join(tbmod.STATE, f)).read().strip()
    return urls


def leader_member():
    """The etcd member (its number K) that leads the etcd cluster."""
    rc, out, err = etcdctl("endpoint", "status", "-w", "json")
    assert rc == 0, out + err
    st = json.loads(out)
    leader = st[0]["Status"]["leader"]
    for e in st:
        if e["Status"]["header"]["member_id"] == leader:
            for k, url in member_urls().items():
                if url == e["Endpoint"]:
                    return k
    raise AssertionError("no leader among %s" % out)


def register_spare(ttl=60):
    rc, out, err = etcdctl("lease", "grant", str(ttl))
    assert rc == 0, out + err
    lease = out.split()[1]
    rc, out, err = etcdctl("put", "--lease=%s" % lease, "/wirecache/%s/nodes/%s" % (NAME, SPARE_ID),
                           json.dumps(SPARE))
    assert rc == 0, out + err
    return lease


def test_etcd_leader_killed_changes_nothing(tb):
    assert len(member_urls()) == 3
    k = leader_member()
    rc, out = tb.command("etcd", "kill", str(k))
    assert rc == 0 and "killed" in out, out
    try:
        # at once: wirecachectl rides over the election (503s are retried)
        rc, out, err = ctl("check")
        assert rc == 0 and "[OK] all 16384 slots covered" in out, out + err
        for i in range(1, NODES + 1):
            serves_its_slots(i, "etcd-kill")
        # the control planes use the other members: etcd stays up for every one
        time.sleep(3 * TIMEOUT_S / 2)       # past a lease renewal or two
        for i in range(1, NODES + 1):
            d = doc(i)
            assert d["etcd"] is True and d["registered"], d
            assert all(n["alive"] for n in d["nodes"]), d
        # a map change commits and reaches every dataplane
        e0 = map_epoch()
        register_spare()
        rc, out, err = ctl("add-node", SPARE_ID)
        assert rc == 0, out + err
        assert map_epoch() == e0 + 1
        wait_dataplanes(e0 + 1)
        assert SPARE_ID in [n["id"] for n in doc(1)["nodes"]]
        rc, out, err = ctl("del-node", SPARE_ID)
        assert rc == 0, out + err
        assert map_epoch() == e0 + 2
        wait_dataplanes(e0 + 2)
        rc, out, err = ctl("check")
        assert rc == 0, out + err
    finally:
        rc, out = tb.command("etcd", "start", str(k))
    assert rc == 0 and "started again" in out, out
    rc, out, err = etcdctl("endpoint", "health", eps=member_urls()[k])
    assert rc == 0, out + err
    # idempotent: starting a running member says so and succeeds
    rc, out = tb.command("etcd", "start", str(k))
    assert rc == 0 and "already running" in out, out


def test_kill_and_start_a_node(tb):
    before = doc(2)
    victim = before["id"]
    epoch = map_epoch()
    rc, out = tb.command("kill", "2")
    assert rc == 0 and "killed" in out, out
    rc, out = tb.command("kill", "2")
    assert rc == 0 and "already down" in out, out
    t0 = time.monotonic()
    while victim in registered():
        assert time.monotonic() - t0 < TIMEOUT_S + 2.5, "nodes/%s still there" % victim
        time.sleep(0.1)
    rc, out, _ = ctl("check")
    assert rc == 1, out
    for i in (1, 3):
        serves_its_slots(i, "node-kill")
    rc, out = tb.command("start", "2")
    assert rc == 0 and "rejoined the cluster" in out, out
    after = doc(2)
    assert after["id"] == victim, (before, after)
    assert after["epoch"] == epoch and after["dataplane_epoch"] == epoch, after
    assert victim in registered()
    rc, out, err = ctl("check")
    assert rc == 0, out + err
    assert not tb.dead_nodes()
    serves_its_slots(2, "node-start")
    rc, out = tb.command("start", "2")
    assert rc == 0 and "already running" in out, out


def test_isolate_and_heal(tb):
    victim = doc(3)["id"]
    rc, out = tb.command("isolate", "3")
    try:
        assert rc == 0 and "isolated" in out, out
        rc, out = tb.command("isolate", "3")
        assert rc == 0 and "already isolated" in out, out
        cp.Http(cp.cp_port(3)).wait(lambda d: d["etcd"] is False, "node 3 to lose etcd", 15,
                                    "/api/cluster")
        t0 = time.monotonic()
        while victim in registered():
            assert time.monotonic() - t0 < TIMEOUT_S + 5, "nodes/%s still there" % victim
            time.sleep(0.1)
        ping, _, _ = tbmod.node_answers(3, timeout=1.5)
        assert not ping, "node 3 answers ping while off the bridge"
        for i in (1, 2):
            serves_its_slots(i, "isolated")
    finally:
        rc, out = tb.command("heal", "3")
    assert rc == 0 and "healed" in out, out
    cp.Http(cp.cp_port(3)).wait(lambda d: d["etcd"] is True and d["registered"],
                                "node 3 back on etcd", 15, "/api/cluster")
    t0 = time.monotonic()
    while True:
        rc, out, err = ctl("check")
        if rc == 0:
            break
        assert time.monotonic() - t0 < 15, out + err
        time.sleep(0.2)
    serves_its_slots(3, "healed")


def test_watch_table(tb):
    rc, out = tb.command("watch", "--once")
    assert rc == 0, out
    lines = out.rstrip("\n").splitlines()
    assert all(len(l) <= 100 for l in lines), [len(l) for l in lines]
    assert lines[1].split()[:4] == ["NODE", "ADDRESS", "ID", "ROLE"], lines
    rows = {int(l.split()[0]): l.split() for l in lines[2:]}
    assert sorted(rows) == [1, 2, 3], lines
    total = 0
    for i, cells in rows.items():
        assert cells[1] == tbmod.node_ip(i), cells
        assert cells[2] == doc(i)["id"][:8], cells
        assert cells[3] == "master" and cells[-2:] == ["alive", "up"], cells
        total += int(cells[4])
    assert total == 16384, lines
