"""test_redis_node.py - the Node.js clients ioredis 5 and node-redis 4 (dts/node/,
installed by tools/deps.sh from the committed lockfile) through their APIs
against the node. Each client's script (dts/node/*_check.js) runs its
scenarios as lists of steps and prints every step's value or error as JSON;
the same script also runs against Debian's redis-server on loopback, and the
two runs must agree step for step (values, and error classes and texts as the
client reports them). Scenarios: strings (binary and 1 MiB values), keys and
expiry (SCAN iterators), transactions (MULTI/EXEC, errors inside and at
queue time, WATCH), pipelines (5,000 commands), connection commands and
HELLO 2 (both clients speak RESP2 only: RESP3 is in test_redis_resp3.py),
hashes, sets and INFO/CONFIG once merged, AUTH (layout "redis-auth"), and
ioredis Cluster and node-redis createCluster in Cluster mode once the CLUSTER
commands exist (layout "redis-cluster").
"""
import json
import os

import pytest

from conftest import redis_password
from lib.resp import FEATURES, RedisServer, knows, need, run
from lib.testbed import ROOT, node_ip

pytestmark = pytest.mark.testbed("redis")

NODE_DIR = os.path.join(ROOT, "dts", "node")
CLIENTS = ["ioredis", "node_redis"]


@pytest.fixture(scope="module", autouse=True)
def node_modules():
    for m in ("ioredis", "redis"):
        if not os.path.isfile(os.path.join(NODE_DIR, "node_modules", m, "package.json")):
            pytest.fail("dts/node/node_modules/%s is missing: run make deps (tools/deps.sh)" % m)


@pytest.fixture(scope="module")
def ref():
    srv = RedisServer(26410)
    yield srv
    srv.close()


def script(client, host, port, scenarios, features, password=None, root_ns=False, limit_s=60):
    """Run dts/node/<client>_check.js; its JSON as {scenario: [(step, result)]}."""
    opts = {"host": host, "port": port, "password": password, "features": sorted(features),
            "scenarios": scenarios, "limitMs": limit_s * 1000}
    r = run(["node", os.path.join(NODE_DIR, client + "_check.js"), json.dumps(opts)],
            limit_s + 15, root_ns=root_ns, cwd=NODE_DIR)
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    assert r.returncode == 0, "%s exited %d:\n%s\n%s" % (client, r.returncode, out[-3000:],
                                                         err[-3000:])
    return {k: [tuple(s) for s in v] for k, v in json.loads(out.strip().splitlines()[-1]).items()}


def features_of(rd):
    return {f for f in ("hash", "set", "info", "config", "cluster") if knows(rd, *FEATURES[f])}


def same_as_redis(tb, rd, ref, client, scenarios, password=None, ref_password=None):
    """Run the scenarios against the node and redis-server; assert they agree; return the
    node's results as {scenario: {step: result}}."""
    feats = features_of(rd)
    got = script(client, node_ip(1), 6379, scenarios, feats, password)
    want = script(client, "127.0.0.1", ref.port, scenarios, feats, ref_password, root_ns=True)
    diffs = []
    for sc in scenarios:
        assert [s for s, _ in got[sc]] == [s for s, _ in want[sc]], (got[sc], want[sc])
        diffs += ["  %s / %s:\n    node:  %s\n    redis: %s" % (sc, s, json.dumps(g), json.dumps(w))
                  for (s, g), (_, w) in zip(got[sc], want[sc]) if g != w]
    assert not diffs, "%s saw differences from redis-server:\n%s" % (client, "\n".join(diffs))
    return {sc: dict(steps) for sc, steps in got.items()}


@pytest.mark.parametrize("client", CLIENTS)
def test_core_families(tb, rd, ref, client):
    got = same_as_redis(tb, rd, ref, client, ["strings", "keys", "transactions", "connection"])
    assert got["strings"]["get"] == {"ok": "v"}
    assert got["strings"]["large"] == {"ok": [1048576, True]}
    assert got["strings"]["buffer"] == {"ok": {"buf": "\x00\x01\x02\xff\r\n"}}
    assert got["strings"]["incr wrong"]["err"][1] == "ERR value is not an integer or out of range"
    assert got["connection"]["hello 2"]["ok"]["version"] == "7.0.15"
    assert got["connection"]["hello 4"]["err"][1] == "NOPROTO unsupported protocol version"
    tx = got["transactions"]
    assert "EXECABORT" in tx["queue error"]["err"][1]
    if client == "ioredis":
        assert tx["watch changed"] == {"ok": None}
        assert tx["big pipeline"] == {"ok": [5000, True, 50, "50"]}
    else:
        assert tx["watch changed"]["err"][0] == "WatchError"
        assert tx["auto pipeline"] == {"ok": [5000, "50"]}


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("family", ["hash", "set", "info"])
def test_later_families(tb, rd, ref, client, family):
    need(rd, family)
    if family == "info":
        need(rd, "config")
    got = same_as_redis(tb, rd, ref, client, [family])
    assert all("err" not in r or "WRONGTYPE" in r["err"][1] or "not an integer" in r["err"][1]
               for r in got[family].values()), got


@pytest.mark.testbed("redis-auth")
@pytest.mark.parametrize("client", CLIENTS)
def test_auth(tb, rd, ref, client):
    pw = redis_password(tb.config)
    c = ref.connect()
    try:
        assert c.raw("CONFIG", "SET", "requirepass", pw) == b"+OK\r\n"
        got = same_as_redis(tb, rd, ref, client, ["auth"], password=pw, ref_password=pw)
    finally:
        c.close()
        with ref.connect() as c:
            c.raw("AUTH", pw)
            c.raw("CONFIG", "SET", "requirepass", "")
    auth = got["auth"]
    assert auth["right password"] == {"ok": ["OK", "v"]}
    assert auth["as default"] == {"ok": "v"}, auth
    assert "NOAUTH Authentication required." in json.dumps(auth["no password"]), auth
    if client == "node_redis":       # (ioredis reports a failed AUTH as an event, not here)
        assert "WRONGPASS" in json.dumps(auth["wrong password"]), auth


@pytest.mark.testbed("redis-cluster")
@pytest.mark.parametrize("client", CLIENTS)
def test_cluster_clients(tb, rd, client):
    """ioredis Cluster and node-redis createCluster discover the node's slots (all of
    them) through CLUSTER SLOTS, route every key to it, and get CROSSSLOT for keys of
    different slots."""
    need(rd, "cluster")
    got = script(client, node_ip(1), 6379, ["cluster"], features_of(rd))["cluster"]
    steps = dict(got)
    assert steps["set many"] == {"ok": True}, got
    assert steps["crossslot"]["err"][1] == "CROSSSLOT Keys in request don't hash to the same slot"
    assert steps["hash tag"] == {"ok": "OK"}, got
    if client == "ioredis":
        assert steps["slots"] == {"ok": [[0, 16383]]}, got
