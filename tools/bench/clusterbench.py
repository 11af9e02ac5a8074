#!/usr/bin/python3
"""clusterbench.py - `make bench-cluster`: how long a slot map change takes to
reach every dataplane of a 3-node cluster on the virtual testbed (issue 13),
and how fast a live reshard moves keys between two nodes (beside loading the
same keys with redis-cli --pipe, in the same run).

One change is one `wirecachectl cluster add-node` (or `del-node`) of a
registered node with no slots (a registry entry written here under an etcd
lease of its own): a transaction that writes the map with epoch + 1. Its
time runs from the moment wirecachectl exits (the transaction has committed
in etcd) until every node's control plane reports (GET /api/cluster, polled
every POLL_MS on a kept-alive connection per node, one thread each) that its
dataplane confirmed the new epoch at CMAP COMMIT: the watch event, the map
read, the CMAP lines over the control socket and the dataplane's RCU publish.
Also shown: the same from wirecachectl's start (its process, the map read and
the transaction included). p50 and max over --changes changes (default 20).

Needs root and the testbed (brought up here with --nodes 3, taken down at the
end); `make bench-cluster` runs it under flock /tmp/wc-testbed.lock.
Prints `cluster.map_change_ms.p50=...` style lines; JSON to RESULTS/cluster.json.
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TESTBED = os.path.join(ROOT, "tools", "testbed")
CTL = os.path.join(ROOT, "build", "rel", "wirecachectl")
STATE = os.environ.get("WC_TESTBED_STATE", "/run/wirecache-testbed")
NAME = "wirecache"
SPARE_ID = "5b" * 20
POLL_MS = 2.0


def endpoints():
    with open(os.path.join(STATE, "etcd.endpoints")) as f:
        return f.read().strip()


def run(*args, timeout=120):
    r = subprocess.run(list(args), capture_output=True, timeout=timeout, check=False)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(args), r.returncode,
                                                    r.stdout.decode(), r.stderr.decode()))
    return r.stdout.decode()


def register_spare(ttl=600):
    eps = endpoints()
    lease = run("etcdctl", "--endpoints", eps, "lease", "grant", str(ttl)).split()[1]
    rec = {"id": SPARE_ID, "ip": "198.18.0.99", "port": 6379, "cport": 16379,
           "mcport": 11211, "http": "127.0.0.1:1", "role": "master", "master": None}
    run("etcdctl", "--endpoints", eps, "put", "--lease=%s" % lease,
        "/wirecache/%s/nodes/%s" % (NAME, SPARE_ID), json.dumps(rec))


class Poller(threading.Thread):
    """Polls one control plane until its dataplane runs epoch `want`; records when."""

    def __init__(self, node, want):
        super().__init__(daemon=True)
        self.port, self.want, self.seen, self.error = 8179 + node, want, None, None

    def run(self):
        deadline = time.monotonic() + 10
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            while time.monotonic() < deadline:
                try:
                    conn.request("GET", "/api/cluster")
                    d = json.loads(conn.getresponse().read())
                except (OSError, ValueError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                    continue
                if d.get("dataplane_epoch") == self.want:
                    self.seen = time.monotonic()
                    return
                time.sleep(POLL_MS / 1000.0)
            self.error = "node on :%d never confirmed epoch %d" % (self.port, self.want)
        finally:
            conn.close()


def epoch():
    out = run(CTL, "--json", "--timeout", "5", "cluster", "info", "--etcd", endpoints())
    return json.loads(out)["epoch"]


def measure(nodes, changes):
    register_spare()
    from_commit, from_start, ctl_ms = [], [], []
    for k in range(changes):
        want = epoch() + 1
        pollers = [Poller(i, want) for i in range(1, nodes + 1)]
        for p in pollers:
            p.start()
        verb = "add-node" if k % 2 == 0 else "del-node"
        t0 = time.monotonic()
        run(CTL, "--timeout", "5", "cluster", verb, SPARE_ID, "--etcd", endpoints(),
            "--cluster-name", NAME)
        t1 = time.monotonic()
        for p in pollers:
            p.join()
            if p.error:
                raise RuntimeError(p.error)
        last = max(p.seen for p in pollers)
        from_commit.append(max(0.0, (last - t1) * 1000))
        from_start.append((last - t0) * 1000)
        ctl_ms.append((t1 - t0) * 1000)
        time.sleep(0.2)     # let the cps settle between changes
    if changes % 2:         # leave the map as created
        run(CTL, "--timeout", "5", "cluster", "del-node", SPARE_ID, "--etcd", endpoints(),
            "--cluster-name", NAME)
    return from_commit, from_start, ctl_ms


def resp_cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def node_cli(node, *args, stdin=None, timeout=300):
    r = subprocess.run([TESTBED, "exec", "--", "redis-cli", "-h", "198.18.0.%d" % (10 + node),
                        *args], input=stdin, capture_output=True, timeout=timeout, check=False)
    if r.returncode != 0:
        raise RuntimeError("redis-cli %s: %s%s" % (" ".join(args), r.stdout.decode(),
                                                   r.stderr.decode()))
    return r.stdout.decode()


def measure_migration(keys, vsize, slots):
    """Load `keys` keys into node 1's first `slots` slots (redis-cli --pipe: the baseline,
    one write per key), then move those slots to node 2 with wirecachectl cluster reshard
    (a read, a RESTORE on the target and a delete per key): keys/s and MB/s of each."""
    from redis.crc import key_slot      # Debian's python3-redis
    ids = {i: node_cli(i, "CLUSTER", "MYID").strip() for i in (1, 2)}
    mine = [line.split() for line in node_cli(1, "CLUSTER", "NODES").splitlines()
            if "myself" in line][0]
    lo = int(mine[8].split("-")[0])     # node 1's first range (0-5461 as created)
    hi = lo + slots - 1
    value = b"v" * vsize
    cmds, n, k = [], 0, 0
    while n < keys:
        name = b"mig:%d" % k
        k += 1
        if lo <= key_slot(name) <= hi:
            cmds.append(resp_cmd(b"SET", name, value))
            n += 1
    data = b"".join(cmds)
    t0 = time.monotonic()
    out = node_cli(1, "--pipe", stdin=data)
    load_s = time.monotonic() - t0
    if "errors: 0" not in out:
        raise RuntimeError("loading failed: %s" % out)
    t0 = time.monotonic()
    r = subprocess.run([TESTBED, "ctl", "cluster", "reshard", "--from", ids[1], "--to", ids[2],
                        "--slots", str(slots)], capture_output=True, timeout=600, check=False)
    move_s = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError("reshard failed: %s%s" % (r.stdout.decode()[-2000:],
                                                     r.stderr.decode()[-2000:]))
    left = int(node_cli(1, "DBSIZE").strip())
    moved = int(node_cli(2, "DBSIZE").strip())
    mb = keys * (vsize + 10) / 1e6
    return {"keys": keys, "value_bytes": vsize, "slots": slots, "load_s": load_s,
            "move_s": move_s, "left_on_source": left, "on_target": moved,
            "load_keys_per_s": keys / load_s, "move_keys_per_s": keys / move_s,
            "move_mb_per_s": mb / move_s}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=os.path.join(ROOT, "build", "bench-results"))
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--mig-keys", type=int, default=100000)
    ap.add_argument("--mig-value", type=int, default=100)
    ap.add_argument("--mig-slots", type=int, default=1024)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("clusterbench: needs root (the testbed)", file=sys.stderr)
        return 1
    os.makedirs(args.results, exist_ok=True)
    print("== slot map change to every dataplane: %d nodes, %d changes, %d cores" %
          (args.nodes, args.changes, os.cpu_count()))
    try:
        run(TESTBED, "up", "--nodes", str(args.nodes), "--memory", "64M", timeout=300)
        from_commit, from_start, ctl_ms = measure(args.nodes, args.changes)
        mig = measure_migration(args.mig_keys, args.mig_value, args.mig_slots)
    finally:
        subprocess.run([TESTBED, "down"], capture_output=True, timeout=120, check=False)
    res = {
        "cluster.map_change_ms.p50": round(statistics.median(from_commit), 2),
        "cluster.map_change_ms.max": round(max(from_commit), 2),
        "cluster.map_change_with_ctl_ms.p50": round(statistics.median(from_start), 2),
        "cluster.map_change_with_ctl_ms.max": round(max(from_start), 2),
        "cluster.ctl_change_ms.p50": round(statistics.median(ctl_ms), 2),
        "nodes": args.nodes, "changes": args.changes, "poll_ms": POLL_MS,
        "cluster.migrate_keys_per_s": round(mig["move_keys_per_s"]),
        "cluster.migrate_mb_per_s": round(mig["move_mb_per_s"], 2),
        "cluster.load_keys_per_s": round(mig["load_keys_per_s"]),
        "ratio.migrate_vs_pipe_load": round(mig["move_keys_per_s"] / mig["load_keys_per_s"], 3),
        "migration": mig,
    }
    print("  live reshard of %d slots holding %d keys of %d B (node 1 -> node 2): %.2f s, "
          "%.0f keys/s, %.1f MB/s; loading them with redis-cli --pipe: %.0f keys/s" %
          (mig["slots"], mig["keys"], mig["value_bytes"], mig["move_s"],
           mig["move_keys_per_s"], mig["move_mb_per_s"], mig["load_keys_per_s"]))
    if mig["left_on_source"] != 0 or mig["on_target"] < mig["keys"]:
        print("clusterbench: keys not moved: %d left on the source, %d on the target" %
              (mig["left_on_source"], mig["on_target"]), file=sys.stderr)
        return 1
    print("  commit in etcd -> every dataplane confirmed the epoch: p50 %.1f ms, max %.1f ms" %
          (res["cluster.map_change_ms.p50"], res["cluster.map_change_ms.max"]))
    print("  from wirecachectl's start (its own p50 %.1f ms included): p50 %.1f ms, max %.1f ms"
          % (res["cluster.ctl_change_ms.p50"], res["cluster.map_change_with_ctl_ms.p50"],
             res["cluster.map_change_with_ctl_ms.max"]))
    with open(os.path.join(args.results, "cluster.json"), "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    for k, v in res.items():
        if k.startswith("cluster.") or k.startswith("ratio."):
            print("%s=%s" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
