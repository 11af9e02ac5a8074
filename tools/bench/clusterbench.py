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

memcached forwarding (a node not owning a key's slot sends the request to its
owner over a node-to-node link and relays the reply): the same GET load
(wirecache-loadgen over kernel TCP sockets from the testbed's namespace, keys
chosen by slot with --slots, all preloaded, every GET a hit) against node 1,
(a) with keys node 1 owns, (b) with keys the other nodes own (every request
forwarded): ops/s at the same concurrency (--lg-flows x --lg-depth), the
added end-to-end p50/p99 with one request outstanding (the cost per request)
and under that load, and node 1's own figure from `stats`
(mc_forward_latency_us_sum / mc_forwarded: from the request leaving on the
link to its reply coming back). The same over UDP, one request outstanding,
from a small Python client (the loadgen's UDP mode needs a DPDK port of its
own): only latency, no throughput. A forwarded request holds its client
connection until the owner answers (replies stay in order), so a closed
loop's forwarded ops/s is about connections / round trip. On the testbed
every node's worker lcore is pinned to the same CPU, and while a request is
forwarded both workers poll without sleeping, so each hop also waits for the
OS to preempt one node's worker for the other's (two involuntary switches
per request): most of the added latency measured here is that, not the
link. So the single-request TCP run is also made with the owners'
dataplanes moved to the other CPUs (sched_setaffinity, restored after):
`*_other_cpu` figures, nearer to nodes on machines of their own.

Aggregate GET rate: the loaded run against node 1 alone (its own keys), then
against all three nodes at once (each its own keys, nothing forwarded), same
flows and depth per node: per-node ops/s, their sum, and the ratio. Every
node, every load generator and etcd share this machine's CPUs, so the sum
cannot grow here; on real hardware each node is a machine of its own and
the aggregate is the sum of the per-node figures measured alone.

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
LOADGEN = os.path.join(ROOT, "build", "rel", "wirecache-loadgen")
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


# ---- memcached forwarding and the aggregate GET rate ----

def node_ip(node):
    return "198.18.0.%d" % (10 + node)


def slot_owners(nodes):
    """{node: "lo-hi,lo-hi"} from node 1's CLUSTER NODES (stable slots only)."""
    by_ip = {node_ip(i): i for i in range(1, nodes + 1)}
    owned = {i: [] for i in range(1, nodes + 1)}
    for line in node_cli(1, "CLUSTER", "NODES").splitlines():
        f = line.split()
        if len(f) < 8 or "master" not in f[2]:
            continue
        node = by_ip.get(f[1].split("@")[0].rsplit(":", 1)[0])
        if node is None:
            raise RuntimeError("CLUSTER NODES names an unknown node: %s" % line)
        owned[node] += [r for r in f[8:] if not r.startswith("[")]
    for i, r in owned.items():
        if not r:
            raise RuntimeError("node %d owns no slots" % i)
    return {i: ",".join(r) for i, r in owned.items()}


def mc_stats(node):
    """Node's memcached `stats` (TCP from the namespace) as {name: int}."""
    code = ("import socket,sys\n"
            "s=socket.create_connection((sys.argv[1],11211),timeout=5)\n"
            "s.sendall(b'stats\\r\\n');b=b''\n"
            "while not b.endswith(b'END\\r\\n'):\n"
            "  d=s.recv(65536)\n"
            "  if not d: break\n"
            "  b+=d\n"
            "sys.stdout.write(b.decode())\n")
    out = run(TESTBED, "exec", "--", "/usr/bin/python3", "-c", code, node_ip(node), timeout=30)
    st = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == "STAT" and f[2].isdigit():
            st[f[1]] = int(f[2])
    if "mc_forwarded" not in st:
        raise RuntimeError("node %d's stats have no mc_forwarded (no cluster secret?)" % node)
    return st


def wait_links(node, nodes, limit=30):
    """Until node's links to every other node are up (it answers the moved line meanwhile)."""
    deadline = time.monotonic() + limit
    while mc_stats(node).get("cluster_links_open", 0) < nodes - 1:
        if time.monotonic() > deadline:
            raise RuntimeError("node %d: links to the other nodes not up in %d s" % (node, limit))
        time.sleep(0.2)


def stats_delta(before, after):
    return {k: after[k] - before.get(k, 0) for k in after}


def loadgen_cmd(node, slots, args, label, flows, depth, preload=False):
    out = os.path.join(args.results, "cluster-lg-%s.json" % label)
    cmd = [TESTBED, "exec", "--", LOADGEN, "--socket", "%s:11211" % node_ip(node),
           "--slots", slots, "--keys", str(args.lg_keys), "--zipf", "0", "--mix", "100:0",
           "--key-size", "16", "--value-size", "32", "--flows", str(flows),
           "--depth", str(depth), "--quiet", "--json", out, "--label", label]
    if preload:
        cmd += ["--preload", "--duration", "0.2", "--warmup", "0"]
    else:
        cmd += ["--duration", str(args.lg_seconds), "--warmup", "1"]
    return cmd, out


def loadgen_result(proc_out, path, label, want_hits=True):
    if proc_out.returncode != 0:
        raise RuntimeError("loadgen %s failed (%d): %s" % (label, proc_out.returncode,
                                                          proc_out.stderr.decode()[-2000:]))
    with open(path) as f:
        r = json.load(f)
    bad = [k for k in ("errors", "timeouts", "verify_failed", "conn_failed") if r.get(k)]
    if bad or not r.get("measured") or (want_hits and r["hits"] != r["gets"]):
        raise RuntimeError("loadgen %s: %s" % (label, {k: r.get(k) for k in (
            "measured", "gets", "hits", "errors", "timeouts", "verify_failed", "conn_failed")}))
    return r


def loadgen(node, slots, args, label, flows, depth, preload=False):
    cmd, path = loadgen_cmd(node, slots, args, label, flows, depth, preload)
    limit = (5 if preload else args.lg_seconds + 1) + 60
    p = subprocess.run(cmd, capture_output=True, timeout=limit, check=False)
    return loadgen_result(p, path, label, want_hits=not preload)


def udp_probe(host, spec, count, verb):
    """In the namespace (--udp-probe): `count` memcached UDP requests, one outstanding, on
    keys u<m> of the slots in spec (set: every key once; get: round robin, each must hit).
    Prints {"n", "p50_us", "p99_us", "lost"} as JSON. Bounded: 20 s, 200 ms per request."""
    import socket
    import struct
    from redis.crc import key_slot
    want = set()
    for r in spec.split(","):
        lo, _, hi = r.partition("-")
        want.update(range(int(lo), int(hi or lo) + 1))
    keys, m = [], 0
    while len(keys) < 200:
        k = b"u%d" % m
        m += 1
        if key_slot(k) in want:
            keys.append(k)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    lat, lost, rid = [], 0, 0
    deadline = time.monotonic() + 20
    n = len(keys) if verb == "set" else count
    for i in range(n):
        if time.monotonic() > deadline:
            break
        k = keys[i % len(keys)]
        rid = (rid + 1) & 0xffff
        body = (b"set %s 0 0 8\r\nudpvalue\r\n" % k) if verb == "set" else (b"get %s\r\n" % k)
        t0 = time.perf_counter()
        s.sendto(struct.pack(">HHHH", rid, 0, 1, 0) + body, (host, 11211))
        try:
            while True:
                d = s.recv(65536)
                if struct.unpack(">H", d[:2])[0] == rid:
                    break
        except socket.timeout:
            lost += 1
            continue
        lat.append((time.perf_counter() - t0) * 1e6)
        ok = b"STORED" if verb == "set" else b"VALUE %s 0 8\r\nudpvalue\r\nEND" % k
        if not d[8:].startswith(ok):
            print(json.dumps({"error": "key %s: %r" % (k.decode(), d[8:60])}))
            return 1
    lat.sort()
    print(json.dumps({"n": len(lat), "lost": lost,
                      "p50_us": lat[len(lat) // 2] if lat else None,
                      "p99_us": lat[min(len(lat) - 1, len(lat) * 99 // 100)] if lat else None}))
    return 0


def udp_run(node, spec, count, verb):
    out = run(TESTBED, "exec", "--", "/usr/bin/python3", os.path.abspath(__file__),
              "--udp-probe", node_ip(node), spec, str(count), verb, timeout=60)
    r = json.loads(out.strip().splitlines()[-1])
    if "error" in r or not r["n"] or r["lost"] > r["n"] // 100:
        raise RuntimeError("UDP %s probe on node %d: %s" % (verb, node, r))
    return r


def dp_threads(node):
    """{tid: thread name} of node's wirecache-dp (the testbed gives it --file-prefix wctb<i>)."""
    want = ["--file-prefix", "wctb%d" % node]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
            if not argv[0].endswith("wirecache-dp") or not any(
                    argv[i:i + 2] == want for i in range(len(argv) - 1)):
                continue
            out = {}
            for tid in os.listdir("/proc/%s/task" % pid):
                with open("/proc/%s/task/%s/comm" % (pid, tid)) as f:
                    out[int(tid)] = f.read().strip()
            return out
        except OSError:
            continue
    raise RuntimeError("node %d's wirecache-dp not found" % node)


class OtherCpus:
    """While in effect: every thread of the given nodes' dataplanes runs only on CPUs other
    than those of `node`'s worker lcores (the testbed pins every node's worker to one CPU);
    the threads' own affinities come back at the end."""

    def __init__(self, node, others):
        self.node, self.others, self.saved = node, others, {}

    def __enter__(self):
        busy = set()
        for tid, name in dp_threads(self.node).items():
            if name.startswith("rte-worker"):
                busy |= os.sched_getaffinity(tid)
        free = set(range(os.cpu_count())) - busy
        if not busy or not free:
            raise RuntimeError("no CPU left beside node %d's workers %s" % (self.node, busy))
        for n in self.others:
            for tid in dp_threads(n):
                self.saved[tid] = os.sched_getaffinity(tid)
                os.sched_setaffinity(tid, free)
        return self

    def __exit__(self, *exc):
        for tid, cpus in self.saved.items():
            try:
                os.sched_setaffinity(tid, cpus)
            except OSError:
                pass            # a thread that ended
        return False


def forward_case(node, slots, args, label, owners_apart=None):
    """Preload, then the single-request run and the loaded run, with node's stats over each;
    with owners_apart (the owners' nodes) also the single-request run once more with the
    owners' dataplanes moved off node's worker CPU (single_other_cpu)."""
    loadgen(node, slots, args, label + "-preload", args.lg_flows, args.lg_depth, preload=True)
    res = {}
    runs = [("single", 1, 1), ("loaded", args.lg_flows, args.lg_depth)]
    if owners_apart:
        runs.append(("single_other_cpu", 1, 1))
    for kind, flows, depth in runs:
        before = mc_stats(node)
        if kind == "single_other_cpu":
            with OtherCpus(node, owners_apart):
                r = loadgen(node, slots, args, "%s-%s" % (label, kind), flows, depth)
        else:
            r = loadgen(node, slots, args, "%s-%s" % (label, kind), flows, depth)
        d = stats_delta(before, mc_stats(node))
        res[kind] = {"ops_per_s": r["ops_per_sec"], "p50_us": r["latency"]["p50_us"],
                     "p99_us": r["latency"]["p99_us"], "requests": r["requests"],
                     "mc_forwarded": d["mc_forwarded"],
                     "mc_forward_answered": d["mc_forward_answered"],
                     "mc_forward_failed": d["mc_forward_failed"],
                     "mc_forward_timeouts": d["mc_forward_timeouts"],
                     "mc_forward_latency_us_sum": d["mc_forward_latency_us_sum"]}
    before = mc_stats(node)
    udp_run(node, slots, args.udp_requests, "set")
    mid = mc_stats(node)
    u = udp_run(node, slots, args.udp_requests, "get")
    d = stats_delta(mid, mc_stats(node))
    u.update(mc_forwarded=d["mc_forwarded"],
             mc_forward_latency_us_sum=d["mc_forward_latency_us_sum"],
             mc_forwarded_with_set=mid["mc_forwarded"] - before["mc_forwarded"])
    res["udp"] = u
    return res


def measure_forwarding(nodes, args):
    """Node 1 serving its own keys (local) and the other nodes' keys (forwarded)."""
    owners = slot_owners(nodes)
    wait_links(1, nodes)
    others = ",".join(owners[i] for i in range(2, nodes + 1))
    local = forward_case(1, owners[1], args, "local")
    fwd = forward_case(1, others, args, "forwarded", list(range(2, nodes + 1)))
    for kind in ("single", "loaded", "single_other_cpu"):
        if kind in local and local[kind]["mc_forwarded"] != 0:
            raise RuntimeError("local %s run: node 1 forwarded %d requests" %
                               (kind, local[kind]["mc_forwarded"]))
        f = fwd[kind]
        if (f["mc_forwarded"] < f["requests"] or f["mc_forward_failed"]
                or f["mc_forward_timeouts"] or not f["mc_forward_latency_us_sum"]):
            raise RuntimeError("forwarded %s run: %d requests measured but %s" %
                               (kind, f["requests"], f))
    if local["udp"]["mc_forwarded"] != 0 or fwd["udp"]["mc_forwarded"] < fwd["udp"]["n"]:
        raise RuntimeError("UDP: forwarded %d local, %d of %d in the forwarded run" %
                           (local["udp"]["mc_forwarded"], fwd["udp"]["mc_forwarded"],
                            fwd["udp"]["n"]))
    return {"owners": owners, "local": local, "forwarded": fwd}


def measure_aggregate(nodes, args, owners):
    """The loaded GET run on node 1 alone, then on every node at once (own keys each)."""
    for i in range(2, nodes + 1):       # node 1's keys are loaded by measure_forwarding
        loadgen(i, owners[i], args, "own%d-preload" % i, args.lg_flows, args.lg_depth,
                preload=True)
    before = mc_stats(1)
    alone = loadgen(1, owners[1], args, "node1-alone", args.lg_flows, args.lg_depth)
    procs = []
    try:
        for i in range(1, nodes + 1):
            cmd, path = loadgen_cmd(i, owners[i], args, "cluster%d-node%d" % (nodes, i),
                                    args.lg_flows, args.lg_depth)
            procs.append((i, path, subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                                    stderr=subprocess.PIPE)))
        per = {}
        for i, path, p in procs:
            try:
                out, err = p.communicate(timeout=args.lg_seconds + 61)
            except subprocess.TimeoutExpired:
                raise RuntimeError("loadgen against node %d did not finish" % i)
            per[i] = loadgen_result(subprocess.CompletedProcess(p.args, p.returncode, out, err),
                                    path, "cluster node %d" % i)
    finally:
        for _, _, p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    fwd = stats_delta(before, mc_stats(1))["mc_forwarded"]
    if fwd:
        raise RuntimeError("aggregate runs: node 1 forwarded %d requests" % fwd)
    return {"node1": alone["ops_per_sec"],
            "per_node": {i: r["ops_per_sec"] for i, r in per.items()},
            "per_node_p99_us": {i: r["latency"]["p99_us"] for i, r in per.items()},
            "node1_p99_us": alone["latency"]["p99_us"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=os.path.join(ROOT, "build", "bench-results"))
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--mig-keys", type=int, default=100000)
    ap.add_argument("--mig-value", type=int, default=100)
    ap.add_argument("--mig-slots", type=int, default=1024)
    ap.add_argument("--lg-keys", type=int, default=20000, help="keys per GET load")
    ap.add_argument("--lg-flows", type=int, default=4, help="connections per GET load")
    ap.add_argument("--lg-depth", type=int, default=8, help="outstanding per connection")
    ap.add_argument("--lg-seconds", type=float, default=4, help="measured seconds per run")
    ap.add_argument("--udp-requests", type=int, default=2000)
    ap.add_argument("--udp-probe", nargs=4, metavar=("HOST", "SLOTS", "COUNT", "VERB"),
                    help=argparse.SUPPRESS)     # run by this script in the namespace
    args = ap.parse_args()
    if args.udp_probe:
        h, spec, count, verb = args.udp_probe
        return udp_probe(h, spec, int(count), verb)
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
        fw = measure_forwarding(args.nodes, args)
        agg = measure_aggregate(args.nodes, args, fw["owners"])
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
    lo, fo = fw["local"], fw["forwarded"]
    n = args.nodes
    res.update({
        "cluster.mc_get_ops_per_s.local": round(lo["loaded"]["ops_per_s"]),
        "cluster.mc_get_ops_per_s.forwarded": round(fo["loaded"]["ops_per_s"]),
        "ratio.mc_forwarded_vs_local_get": round(fo["loaded"]["ops_per_s"] /
                                                 lo["loaded"]["ops_per_s"], 3),
        "cluster.mc_forward_added_us.p50": round(fo["single"]["p50_us"] -
                                                 lo["single"]["p50_us"], 1),
        "cluster.mc_forward_added_us.p99": round(fo["single"]["p99_us"] -
                                                 lo["single"]["p99_us"], 1),
        "cluster.mc_forward_node_us": round(fo["single"]["mc_forward_latency_us_sum"] /
                                            fo["single"]["mc_forwarded"], 1),
        "cluster.mc_forward_added_other_cpu_us.p50": round(fo["single_other_cpu"]["p50_us"] -
                                                           lo["single"]["p50_us"], 1),
        "cluster.mc_forward_added_other_cpu_us.p99": round(fo["single_other_cpu"]["p99_us"] -
                                                           lo["single"]["p99_us"], 1),
        "cluster.mc_forward_node_other_cpu_us": round(
            fo["single_other_cpu"]["mc_forward_latency_us_sum"] /
            fo["single_other_cpu"]["mc_forwarded"], 1),
        "cluster.mc_forward_added_loaded_us.p50": round(fo["loaded"]["p50_us"] -
                                                        lo["loaded"]["p50_us"], 1),
        "cluster.mc_forward_added_loaded_us.p99": round(fo["loaded"]["p99_us"] -
                                                        lo["loaded"]["p99_us"], 1),
        "cluster.mc_forward_node_loaded_us": round(fo["loaded"]["mc_forward_latency_us_sum"] /
                                                   fo["loaded"]["mc_forwarded"], 1),
        "cluster.mc_udp_forward_added_us.p50": round(fo["udp"]["p50_us"] - lo["udp"]["p50_us"], 1),
        "cluster.mc_udp_forward_added_us.p99": round(fo["udp"]["p99_us"] - lo["udp"]["p99_us"], 1),
        "cluster.mc_udp_forward_node_us": round(fo["udp"]["mc_forward_latency_us_sum"] /
                                                fo["udp"]["mc_forwarded"], 1),
        "cluster.get_ops_per_s.node1": round(agg["node1"]),
    })
    for i, v in sorted(agg["per_node"].items()):
        res["cluster.get_ops_per_s.cluster%d_node%d" % (n, i)] = round(v)
    res["cluster.get_ops_per_s.cluster%d" % n] = round(sum(agg["per_node"].values()))
    res["ratio.cluster%d_vs_node1_get" % n] = round(sum(agg["per_node"].values()) / agg["node1"], 3)
    res.update({"lg_flows": args.lg_flows, "lg_depth": args.lg_depth, "lg_keys": args.lg_keys,
                "lg_seconds": args.lg_seconds, "forwarding": fw, "aggregate": agg})
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
    conc = "%d connections x %d outstanding" % (args.lg_flows, args.lg_depth)
    print("  memcached GET on node 1, TCP, %s: its own keys %.0f ops/s, other nodes' keys "
          "(every request forwarded) %.0f ops/s (x%.3f)" %
          (conc, lo["loaded"]["ops_per_s"], fo["loaded"]["ops_per_s"],
           res["ratio.mc_forwarded_vs_local_get"]))
    for kind, what in (("single", "one request outstanding"), ("loaded", conc)):
        print("    %s: p50 %.1f -> %.1f us, p99 %.1f -> %.1f us; node 1's own forward "
              "latency (stats) %.1f us over %d forwarded" %
              (what, lo[kind]["p50_us"], fo[kind]["p50_us"], lo[kind]["p99_us"],
               fo[kind]["p99_us"], fo[kind]["mc_forward_latency_us_sum"] /
               fo[kind]["mc_forwarded"], fo[kind]["mc_forwarded"]))
    f = fo["single_other_cpu"]
    print("    one request outstanding, the owners' dataplanes moved off node 1's worker CPU: "
          "p50 %.1f -> %.1f us, p99 %.1f -> %.1f us; node 1's own %.1f us over %d forwarded" %
          (lo["single"]["p50_us"], f["p50_us"], lo["single"]["p99_us"], f["p99_us"],
           res["cluster.mc_forward_node_other_cpu_us"], f["mc_forwarded"]))
    print("    UDP, one request outstanding (a Python client): p50 %.1f -> %.1f us, p99 %.1f -> "
          "%.1f us; node 1's own %.1f us over %d forwarded" %
          (lo["udp"]["p50_us"], fo["udp"]["p50_us"], lo["udp"]["p99_us"], fo["udp"]["p99_us"],
           res["cluster.mc_udp_forward_node_us"], fo["udp"]["mc_forwarded"]))
    print("  GET rate, %s per node, own keys: node 1 alone %.0f ops/s; all %d nodes at once "
          "%s = %.0f ops/s (x%.3f). All on %d shared CPUs here: on real hardware, with each "
          "node a machine of its own, expect about %d x the single node." %
          (conc, agg["node1"], n,
           " + ".join("%.0f" % v for _, v in sorted(agg["per_node"].items())),
           res["cluster.get_ops_per_s.cluster%d" % n], res["ratio.cluster%d_vs_node1_get" % n],
           os.cpu_count(), n))
    with open(os.path.join(args.results, "cluster.json"), "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    for k, v in res.items():
        if k.startswith("cluster.") or k.startswith("ratio."):
            print("%s=%s" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
