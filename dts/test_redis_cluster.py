"""test_redis_cluster.py - Redis Cluster on one node (`--cluster`): the
CLUSTER commands as clients read them (INFO, MYID, NODES, SLOTS, SHARDS
agreeing on the node's id and announced address 198.18.0.11:6379, bus port
16379), CROSSSLOT, the node id surviving a restart with the same
--state-dir, `redis-cli -c`, and `redis-benchmark --cluster`, which parses
CLUSTER NODES and then refuses a cluster of a single master.
"""
import re
import socket
import subprocess

import pytest

from lib.testbed import CONFIGS, node_ip

pytestmark = pytest.mark.testbed("redis-cluster")

IP = node_ip(1)
RPORT = 6379


class Resp:
    """A minimal RESP2 client: send a command, read one whole reply (bounded waits)."""

    def __init__(self, host=IP, port=RPORT):
        self.s = socket.create_connection((host, port), timeout=5)
        self.buf = b""

    def close(self):
        self.s.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            assert d, "connection closed"
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                d = self.s.recv(65536)
                assert d, "connection closed"
                self.buf += d
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v.decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise AssertionError("unexpected reply %r" % line)

    def __call__(self, *args):
        req = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a), a) for a in (str(x).encode() for x in args))
        self.s.sendall(req)
        return self._read()


@pytest.fixture
def r(tb):
    c = Resp()
    yield c
    c.close()


def test_cluster_views_agree(r):
    info = dict(l.split(":", 1) for l in r("CLUSTER", "INFO").split("\r\n") if l)
    assert info["cluster_state"] == "ok"
    assert info["cluster_slots_assigned"] == info["cluster_slots_ok"] == "16384"
    assert info["cluster_known_nodes"] == info["cluster_size"] == "1"
    myid = r("CLUSTER", "MYID")
    assert re.fullmatch(r"[0-9a-f]{40}", myid)
    assert r("CLUSTER", "NODES") == \
        "%s %s:6379@16379 myself,master - 0 0 0 connected 0-16383\n" % (myid, IP)
    assert r("CLUSTER", "SLOTS") == [[0, 16383, [IP, 6379, myid, []]]]
    shard = r("CLUSTER", "SHARDS")[0]
    assert shard[:3] == ["slots", [0, 16383], "nodes"]
    node = dict(zip(shard[3][0][::2], shard[3][0][1::2]))
    assert node == {"id": myid, "port": 6379, "ip": IP, "endpoint": IP, "role": "master",
                    "replication-offset": 0, "health": "online"}
    assert r("CLUSTER", "KEYSLOT", "foo") == 12182


def test_crossslot(r):
    err = r("MSET", "a", "1", "b", "2")
    assert isinstance(err, RuntimeError)
    assert str(err) == "CROSSSLOT Keys in request don't hash to the same slot"
    assert r("MSET", "{t}a", "1", "{t}b", "2") == "OK"
    assert r("MGET", "{t}a", "{t}b") == ["1", "2"]
    assert str(r("SELECT", "1")) == "ERR SELECT is not allowed in cluster mode"


def test_node_id_survives_restart(tb, r):
    before = r("CLUSTER", "MYID")
    with open("/tmp/wirecache-dts-redis-cluster/node-id") as f:
        assert f.read() == before + "\n"
    r.close()
    tb.up(CONFIGS["redis-cluster"])        # down, then up with the same --state-dir
    c = Resp()
    try:
        assert c("CLUSTER", "MYID") == before
        assert c("CLUSTER", "SLOTS")[0][2][2] == before
    finally:
        c.close()


def test_redis_cli_cluster_mode(tb):
    def cli(*args):
        return subprocess.run(["redis-cli", "-c", "-h", IP, "-p", str(RPORT), *args],
                              capture_output=True, text=True, timeout=10).stdout.strip()

    assert cli("set", "foo", "bar") == "OK"
    assert cli("get", "foo") == "bar"


def test_redis_benchmark_needs_two_masters(tb):
    # it reads CLUSTER NODES (one master with all slots) and wants more than one
    p = subprocess.run(["redis-benchmark", "--cluster", "-h", IP, "-p", str(RPORT),
                        "-t", "set,get", "-n", "1000", "-q"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert "Invalid cluster: 1 node(s)." in p.stderr + p.stdout
