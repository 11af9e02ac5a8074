"""test_cluster_clients.py - real cluster clients against a three-node cluster
formed through etcd (`tools/testbed up --nodes 3`; test_cluster_form.py checks
the forming itself): every node gives the same CLUSTER INFO and NODES, a key of
another node's slot gets MOVED with the owner CLUSTER SLOTS names, redis-py's
RedisCluster, ioredis's Cluster and node-redis's createCluster each write and
read back one key in every one of the 16384 slots, and pymemcache through one
node reads and writes keys of every node's slots (forwarded to the owner).
"""
import json
import os
import subprocess
import time

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot
from pymemcache.client.base import Client as McClient

from lib import resp
from lib.testbed import ROOT, node_ip

pytestmark = pytest.mark.testbed("cluster")

NODES = (1, 2, 3)
RPORT = 6379
MCPORT = 11211
NODE_DIR = os.path.join(ROOT, "dts", "node")


def direct(i):
    return redis.Redis(host=node_ip(i), port=RPORT, socket_timeout=5, decode_responses=True)


def key_per_slot():
    """One key for each of the 16384 slots (the first k:<n> that hashes there)."""
    keys = [None] * 16384
    left, n = 16384, 0
    while left:
        k = "k:%d" % n
        s = key_slot(k.encode())
        if keys[s] is None:
            keys[s] = k
            left -= 1
        n += 1
    return keys


@pytest.fixture(scope="module")
def slot_keys():
    return key_per_slot()


def raw(i, *args):
    """A command's decoded reply from node i (lib.resp: no client-side parsing)."""
    with resp.Resp(node_ip(i), RPORT, timeout=5) as c:
        return c(*args)


def slot_owners():
    """slot -> (ip, port), from node 1's CLUSTER SLOTS."""
    owner = {}
    for lo, hi, master, *_ in raw(1, "CLUSTER", "SLOTS"):
        for s in range(lo, hi + 1):
            owner[s] = (master[0].decode(), int(master[1]))
    return owner


def test_every_node_describes_the_same_cluster():
    views = []
    for i in NODES:
        info = dict(line.split(":", 1) for line in
                    raw(i, "CLUSTER", "INFO").decode().split() if ":" in line)
        assert info["cluster_state"] == "ok", (i, info)
        assert info["cluster_known_nodes"] == "3" and info["cluster_size"] == "3", (i, info)
        assert info["cluster_slots_assigned"] == "16384", (i, info)
        slots = sorted((lo, hi, m[0], int(m[1])) for lo, hi, m, *_ in
                       raw(i, "CLUSTER", "SLOTS"))
        # id, address, master, link state and slots: "myself" aside, the same line everywhere
        nodes = sorted(" ".join([f[0], f[1], f[3], f[7]] + f[8:]) for f in
                       (line.split() for line in raw(i, "CLUSTER", "NODES").decode().splitlines()))
        views.append((info["cluster_current_epoch"], slots, nodes))
        assert len({s[2] for s in slots}) == 3, "three masters serve slots: %s" % slots
        assert sum(hi - lo + 1 for lo, hi, *_ in slots) == 16384
    assert views[0] == views[1] == views[2], "nodes disagree: %s" % views


def test_other_nodes_keys_are_moved(slot_keys):
    owner = slot_owners()
    for s in (0, 5000, 5461, 10922, 10923, 16383):
        k = slot_keys[s]
        for i in NODES:
            r = direct(i)
            if owner[s] == (node_ip(i), RPORT):
                r.set(k, "v%d" % s)
                assert r.get(k) == "v%d" % s
            else:
                with pytest.raises(redis.exceptions.ResponseError) as e:
                    r.get(k)
                assert str(e.value) == "MOVED %d %s:%d" % (s, *owner[s]), str(e.value)


def test_redis_py_cluster_routes_every_slot(slot_keys):
    rc = RedisCluster(startup_nodes=[ClusterNode(node_ip(1), RPORT)], socket_timeout=10,
                      decode_responses=True)
    try:
        for lo in range(0, 16384, 2048):
            p = rc.pipeline()
            for s in range(lo, lo + 2048):
                p.set(slot_keys[s], "s%d" % s)
            assert all(p.execute())
        for lo in range(0, 16384, 2048):
            p = rc.pipeline()
            for s in range(lo, lo + 2048):
                p.get(slot_keys[s])
            assert p.execute() == ["s%d" % s for s in range(lo, lo + 2048)]
    finally:
        rc.close()
    # each node holds exactly its own slots' keys
    owner = slot_owners()
    for i in NODES:
        mine = sum(1 for s in range(16384) if owner[s] == (node_ip(i), RPORT))
        assert direct(i).dbsize() >= mine


@pytest.mark.parametrize("client", ["ioredis", "node_redis"])
def test_node_cluster_clients_route_every_slot(client, slot_keys, tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps(slot_keys))
    r = subprocess.run(["node", os.path.join(NODE_DIR, "cluster_check.js"), json.dumps({
        "client": client, "host": node_ip(2), "port": RPORT, "limitMs": 60000,
        "keysFile": str(keys)})], capture_output=True, timeout=90, cwd=NODE_DIR)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out[-2000:] + r.stderr.decode(errors="replace")[-2000:]
    res = json.loads(out.strip().splitlines()[-1])
    assert res == {"set": 16384, "same": 16384}, res


def test_memcached_any_node_serves_every_key(slot_keys):
    """A key of another node's slot is forwarded to its owner (test_cluster_forward.py)."""
    owner = slot_owners()
    mc = McClient((node_ip(1), MCPORT), timeout=5)
    # links come up (again) within a few seconds of a map change or a node's restart
    deadline = time.time() + 30
    while int(mc.stats().get(b"cluster_links_open", 0)) != 2:
        assert time.time() < deadline, "node 1's links are not up"
        time.sleep(0.5)
    try:
        for s in (2, 7000, 15000):
            k = slot_keys[s]
            mc.set(k, b"via-1", noreply=False)
            assert mc.get(k) == b"via-1"
            # the owner holds it
            own = McClient((owner[s][0], MCPORT), timeout=5)
            assert own.get(k) == b"via-1"
            own.set(k, b"owner", noreply=False)
            own.close()
            assert mc.get(k) == b"owner"
    finally:
        mc.close()
