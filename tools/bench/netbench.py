#!/usr/bin/python3
"""netbench.py - the network half of `make bench`, measured in one go on this
machine: wirecache-loadgen against

  * the link's ceiling: dpdk-testpmd --forward-mode=macswap in the server's
    place on the same memif link (loadgen in echo mode);
  * wirecache-dp over memif: memcached over UDP, then TCP, then Redis (RESP
    over the same TCP), for each GET:SET mix and value size;
  * memcached and redis-server (Debian's) over loopback TCP, driven by the
    loadgen's kernel-socket mode with the same workloads;
  * latency: open loop (Poisson) at 10%, 50% and 90% of wirecache's
    measured maximum, end to end beside the dataplane's own service time
    (rx burst to reply queued: its histograms over DPDK telemetry,
    /wirecache/latency) and the share of the end-to-end p99 it accounts for;
  * server core time per operation at saturation, the per-core figure the
    load generator does not bound: for memcached and redis-server utime +
    stime of the process (all threads, /proc/PID/stat: the kernel's network
    stack they pay for included) over operations served (their own stats);
    for wirecache the busy cycles of its lcores (poll passes that did work,
    DPDK telemetry /wirecache/lcores) over its store operations; both as
    deltas around each measured run;
  * scaling with --cores 1,2,4,6: k dataplane lcores, each paired with a load
    generator lcore, beside testpmd's ceiling with k forwarding cores; the
    per-core rate and its efficiency against the smallest k. A k this
    machine has too few CPUs for is named and left unmeasured.

Servers get their own CPUs (the dataplane and testpmd busy-poll; memcached
gets one thread, redis is single-threaded), the load generator the others.
Each run's JSON lands in the results folder (--results, default
build/bench-results; `make bench RECORD=1` gives bench/results, the committed
record), plus a table, gnuplot plots, and at the end machine-readable lines:
ratio.* (ratio.core_cost_vs_* the headline per-core figures), latency.*.

Usage: netbench.py BUILD_DIR [--results DIR] [--quick] [--cores 1,2,4,6]
"""
import argparse
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

RESULTS = "build/bench-results"   # --results
MEMIF = "/run/wirecache-bench/memif.sock"
SERVER_IP = "198.18.0.11"
LG_IP = "198.18.0.2/24"
MC_PORT = 22122
REDIS_PORT = 26379
DP_PREFIX = "wcb_dp"
CLK_TCK = os.sysconf("SC_CLK_TCK")

procs = []


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    deadline = time.time() + 5
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
    procs.clear()


atexit.register(cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


HUGEDIR = "/sys/kernel/mm/hugepages/hugepages-2048kB"
hugepages_orig = []     # the pool's size before this run raised it: put back at exit


def restore_hugepages():
    if hugepages_orig:
        try:
            with open(HUGEDIR + "/nr_hugepages", "w") as f:
                f.write(str(hugepages_orig.pop()))
        except OSError:
            pass


atexit.register(restore_hugepages)


def dp_memory(mb):
    """EAL memory options for the dataplane: mb MiB of 2 MiB hugepages, as it is deployed
    (the store and its index on hugepages, few TLB misses), the pool raised for the run
    when it holds too few free pages; 4 KiB pages (--no-huge) when none can be had.
    Returns (options, what it got in words)."""
    pages = (mb + 1) // 2
    try:
        with open(HUGEDIR + "/free_hugepages") as f:
            free = int(f.read())
        if free < pages:
            with open(HUGEDIR + "/nr_hugepages") as f:
                have = int(f.read())
            if not hugepages_orig:
                hugepages_orig.append(have)
            with open(HUGEDIR + "/nr_hugepages", "w") as f:
                f.write(str(have + pages - free))
            with open(HUGEDIR + "/free_hugepages") as f:
                free = int(f.read())
        with open("/proc/mounts") as f:
            mounted = any(l.split()[1:3] == ["/dev/hugepages", "hugetlbfs"] for l in f)
        if free >= pages and mounted:
            return ["-m", str(mb)], "2 MiB hugepages"
    except OSError:
        pass
    return ["--no-huge", "-m", str(mb)], "4 KiB pages (no hugepages to be had)"


def start(cmd, log):
    p = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    procs.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    procs.remove(p)


def cpus():
    return sorted(os.sched_getaffinity(0))


def telemetry(cmd, prefix=DP_PREFIX):
    """One DPDK telemetry command to the dataplane (file prefix `prefix`): its JSON value."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    try:
        s.connect("/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix)
        json.loads(s.recv(4096).decode())       # the greeting
        s.send(cmd.encode())
        return json.loads(s.recv(1 << 16).decode())[cmd.split(",")[0]]
    finally:
        s.close()


def wirecache_probe(pid):
    """wirecache's lcores: busy ns (poll passes that did work) and store operations so far;
    and the process's CPU time, to see how much of the window it was on its CPU."""
    t = telemetry("/wirecache/lcores")
    return t["busy_ns"], t["ops"], proc_cpu_ns(pid), time.monotonic() * 1e9


def threads(pid):
    """Each thread of a process: {tid: (name, cpus allowed, on-CPU ns, runqueue wait ns,
    involuntary switches, voluntary switches, minor page faults)}
    (/proc/PID/task/TID/{schedstat,status,stat})."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            with open(base + "schedstat") as f:
                run_ns, wait_ns = (int(x) for x in f.read().split()[:2])
            with open(base + "stat") as f:
                minflt = int(f.read().rsplit(")", 1)[1].split()[7])     # field 10
            st = {}
            with open(base + "status") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    st[k] = v.strip()
        except OSError:
            continue        # a thread that ended meanwhile
        out[int(tid)] = (st.get("Name", "?"), st.get("Cpus_allowed_list", "?"), run_ns, wait_ns,
                         int(st.get("nonvoluntary_ctxt_switches", 0)),
                         int(st.get("voluntary_ctxt_switches", 0)), minflt)
    return out


def cpu_steal_ns(cpu):
    """Steal time of one CPU so far (/proc/stat, the hypervisor ran someone else), in ns."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu%d " % cpu):
                return int(line.split()[8]) * 1e9 / CLK_TCK
    return 0


def sched_evidence(pid, cpu, before, after, seconds):
    """What the scheduler and the hypervisor did to the dataplane over a run: the busiest
    thread is the lcore (it busy-polls); the others that shared its CPU are named."""
    t0, s0 = before
    t1, s1 = after
    rows = []
    for tid, a in t1.items():
        b = t0.get(tid, (a[0], a[1], 0, 0, 0, 0, 0))
        rows.append({"tid": tid, "name": a[0], "cpus": a[1], "run_ms": (a[2] - b[2]) / 1e6,
                     "wait_ms": (a[3] - b[3]) / 1e6, "invol": a[4] - b[4], "vol": a[5] - b[5],
                     "minflt": a[6] - b[6]})
    rows.sort(key=lambda r: -r["run_ms"])
    lcore = rows[0] if rows else {}
    return {"seconds": seconds, "lcore": lcore, "steal_ms": (s1 - s0) / 1e6,
            "others_on_cpu": [r for r in rows[1:] if r["run_ms"] > 0.05 and
                              str(cpu) in r["cpus"].replace("-", ",").split(",")]}


def proc_cpu_ns(pid):
    """utime + stime of a process, all its threads, in ns (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1e9 / CLK_TCK   # fields 14 and 15


def ask(port, request, done):
    """Send a request to a loopback server; read until done(reply) says it is whole."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(request)
        buf = b""
        while not done(buf):
            chunk = c.recv(1 << 16)
            if not chunk:
                break
            buf += chunk
    return buf.decode(errors="replace")


def memcached_ops(port):
    """Operations memcached served: gets, storage commands, touches, deletes, incr/decr."""
    st = {}
    for line in ask(port, b"stats\r\n", lambda b: b.endswith(b"END\r\n")).splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == "STAT":
            st[f[1]] = f[2]
    return sum(int(st.get(k, 0)) for k in (
        "cmd_get", "cmd_set", "cmd_touch", "delete_hits", "delete_misses", "incr_hits",
        "incr_misses", "decr_hits", "decr_misses"))


def redis_ops(port):
    """Commands redis-server processed (INFO stats total_commands_processed)."""
    def whole(b):
        if not b.startswith(b"$") or b"\r\n" not in b:
            return False
        n = int(b[1:b.index(b"\r\n")])
        return len(b) >= b.index(b"\r\n") + 2 + n + 2
    reply = ask(port, b"*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n", whole)
    for line in reply.splitlines():
        if line.startswith("total_commands_processed:"):
            return int(line.split(":")[1])
    raise RuntimeError("redis INFO stats without total_commands_processed")


def server_probe(pid, ops):
    return lambda: (proc_cpu_ns(pid), ops())


class Bench:
    def __init__(self, build, quick):
        self.build = build
        self.quick = quick
        self.lg = os.path.join(build, "wirecache-loadgen")
        self.dp = os.path.join(build, "wirecache-dp")
        self.rows = []          # (system, transport, mix, value, result json)
        self.cpus = cpus()
        self.duration = 2 if quick else 4
        self.warmup = 0.5 if quick else 1
        self.keys = 20000 if quick else 100000
        self.flows, self.depth = 16, 8
        self.repeats = 1 if quick else 2   # this machine is noisy: the best of N
        os.makedirs(RESULTS, exist_ok=True)
        os.makedirs(os.path.dirname(MEMIF), exist_ok=True)
        self.dp_mem, self.dp_pages = dp_memory(1024)
        self.tmp = "/tmp/wirecache-bench"
        os.makedirs(self.tmp, exist_ok=True)

    # ---- process command lines ----

    def lcores(self, cpu_list):
        """main lcore and the first worker share a CPU: main only keeps time."""
        spec = ["0@%d" % cpu_list[0]]
        spec += ["%d@%d" % (i + 1, c) for i, c in enumerate(cpu_list)]
        return ",".join(spec)

    def loadgen_cmd(self, name, lg_cpus, role, extra):
        return [self.lg, "--lcores", self.lcores(lg_cpus), "--no-huge", "-m", "1024",
                "--file-prefix", "wcb_lg", "--no-pci", "--log-level=*:warning",
                "--vdev", "net_memif0,role=%s,socket=%s" % (role, MEMIF), "--",
                "--ip", LG_IP, "--server", SERVER_IP, "--quiet",
                "--json", os.path.join(RESULTS, name + ".json")] + extra

    def workload(self, mix, value, preload, rate=None, duration=None, warmup=None):
        a = ["--keys", str(self.keys), "--zipf", "0.99", "--key-size", "16",
             "--value-size", str(value), "--mix", mix, "--flows", str(self.flows),
             "--depth", str(self.depth), "--duration", str(duration or self.duration),
             "--warmup", str(self.warmup if warmup is None else warmup), "--label", ""]
        if preload:
            a.append("--preload")
        if rate:
            a += ["--rate", str(int(rate))]
        return a

    def run_lg(self, name, cmd, timeout=120, repeats=None, probe=None):
        """Run the load generator (the best of self.repeats runs; later runs
        never preload again); returns its JSON, also kept in RESULTS. probe()
        gives the server's (core ns, operations) so far: read around each run,
        its deltas go with the run as server_core (ns per operation)."""
        best = None
        path = os.path.join(RESULTS, name + ".json")
        for i in range(repeats or self.repeats):
            if i:
                cmd = [a for a in cmd if a != "--preload"]
            before = probe() if probe else None
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            after = probe() if probe and out.returncode == 0 else None
            if out.returncode != 0 or not os.path.exists(path):
                sys.stderr.write(out.stdout + out.stderr)
                raise RuntimeError("loadgen run %s failed (exit %d)" % (name, out.returncode))
            with open(path) as f:
                r = json.load(f)
            if after:
                ns, ops = after[0] - before[0], after[1] - before[1]
                r["server_core"] = {"ns": ns, "ops": ops,
                                    "ns_per_op": ns / ops if ops > 0 else None}
                if len(after) > 2 and after[3] > before[3]:
                    # a busy-polling lcore runs all the time unless something preempts it
                    r["server_core"]["on_cpu"] = (after[2] - before[2]) / (after[3] - before[3])
            if r.get("errors") or r.get("verify_failed"):
                best = r        # an error is never hidden behind a better run
                break
            if best is None or r["ops_per_sec"] > best["ops_per_sec"]:
                best = r
        best["label"] = name
        with open(path, "w") as f:
            json.dump(best, f, indent=2)
        return best

    # ---- servers ----

    def start_dp(self, dp_cpus, busy=True, histograms=False):
        """histograms: with a control socket, so the lcores keep service-time histograms."""
        cmd = [self.dp, "--lcores", self.lcores(dp_cpus) if len(dp_cpus) > 1
               else "0@%d" % dp_cpus[0]] + self.dp_mem + ["--file-prefix", DP_PREFIX,
               "--no-pci", "--log-level=*:warning",
               "--vdev", "net_memif0,role=server,socket=%s" % MEMIF, "--",
               "--ip", SERVER_IP + "/24", "--memory", "512M", "--max-value", "1m",
               "--udp-trusted", "198.18.0.0/24",
               "--control-socket", os.path.join(self.tmp, "dp.sock") if histograms
               else "none"] + (["--busy-poll"] if busy else [])
        p = start(cmd, os.path.join(self.tmp, "dp.log"))
        for _ in range(100):
            time.sleep(0.1)
            with open(os.path.join(self.tmp, "dp.log")) as f:
                if "ready" in f.read():
                    return p
            if p.poll() is not None:
                break
        with open(os.path.join(self.tmp, "dp.log")) as f:
            sys.stderr.write(f.read())
        raise RuntimeError("wirecache-dp did not start")

    def dp_alive(self, p, during):
        """Raise, with the dataplane's log, when it is no longer running (its log is
        overwritten by the next start, so it is shown now)."""
        if p.poll() is None:
            return
        with open(os.path.join(self.tmp, "dp.log")) as f:
            sys.stderr.write(f.read()[-4000:])
        raise RuntimeError("wirecache-dp exited (status %s) during %s" % (p.returncode, during))

    # ---- the measurements ----

    def ceiling(self, lg_cpus, srv_cpus):
        best = None
        for _ in range(2 if self.quick else 3):
            r = self.ceiling_once(lg_cpus, srv_cpus)
            if r is None:
                return None
            if best is None or r["ops_per_sec"] > best["ops_per_sec"]:
                best = r
        with open(os.path.join(RESULTS, "ceiling.json"), "w") as f:
            json.dump(best, f, indent=2)
        self.rows.append(("testpmd macswap (ceiling)", "echo", "-", "-", best))
        return best

    def ceiling_once(self, lg_cpus, srv_cpus, name="ceiling", extra=None):
        """testpmd macswap on the server CPUs (one forwarding core and queue pair
        each) against the load generator's echo mode: the link's ceiling."""
        tp = shutil.which("dpdk-testpmd")
        if not tp:
            print("  (dpdk-testpmd not found: no ceiling)")
            return None
        k = len(srv_cpus)
        lg = self.loadgen_cmd(name, lg_cpus, "server",
                              ["--transport", "echo"] + self.workload("100:0", 32, False) +
                              (extra or []))
        lgp = start(lg, os.path.join(self.tmp, "lg-echo.log"))
        time.sleep(1.5)
        tpp = start([tp, "--lcores", self.lcores(srv_cpus), "--no-huge",
                     "-m", "1024", "--file-prefix", "wcb_tp", "--no-pci",
                     "--log-level=*:warning",
                     "--vdev", "net_memif0,role=client,socket=%s" % MEMIF, "--",
                     "--forward-mode=macswap", "--auto-start", "--nb-cores=%d" % k,
                     "--rxq=%d" % k, "--txq=%d" % k,
                     "--total-num-mbufs=%d" % (32768 * k), "--stats-period", "10"],
                    os.path.join(self.tmp, "testpmd.log"))
        try:
            lgp.wait(60)
        except subprocess.TimeoutExpired:
            lgp.kill()
        procs.remove(lgp)
        stop(tpp)
        path = os.path.join(RESULTS, name + ".json")
        if lgp.returncode != 0 or not os.path.exists(path):
            with open(os.path.join(self.tmp, "lg-echo.log")) as f:
                sys.stderr.write(f.read())
            raise RuntimeError("ceiling run failed")
        with open(path) as f:
            r = json.load(f)
        r["label"] = name
        return r

    def wirecache(self, lg_cpus, srv_cpus, mixes, values, transports):
        dp = self.start_dp(srv_cpus)
        res = {}
        try:
            for transport in transports:
                how = (["--transport", "tcp", "--proto", "redis"] if transport == "resp"
                       else ["--transport", transport])
                for value in values:
                    # the preload is a run of its own: the measured runs' core time is theirs
                    name = "wirecache-%s-preload-%dB" % (transport, value)
                    self.run_lg(name, self.loadgen_cmd(
                        name, lg_cpus, "client",
                        how + self.workload(mixes[0], value, True, duration=0.3, warmup=0)),
                        repeats=1)
                    for mix in mixes:
                        name = "wirecache-%s-%s-%dB" % (transport, mix.replace(":", "-"), value)
                        r = self.run_lg(name, self.loadgen_cmd(
                            name, lg_cpus, "client", how + self.workload(mix, value, False)),
                            probe=lambda: wirecache_probe(dp.pid))
                        self.dp_alive(dp, name)
                        res[(transport, mix, value)] = r
                        self.rows.append(("wirecache", transport, mix, value, r))
        finally:
            stop(dp)
        return res

    def latency(self, lg_cpus, srv_cpus, max_rate, loads=None):
        """Each load level end to end, and the dataplane's own service time over
        the same run (its histograms since a mark taken just before; the preload
        is a run of its own, before any mark)."""
        dp = self.start_dp(srv_cpus, histograms=True)
        res = {}
        loads = loads or ([50] if self.quick else [10, 50, 90])
        try:
            name = "latency-udp-preload"
            self.run_lg(name, self.loadgen_cmd(
                name, lg_cpus, "client", ["--transport", "udp"] +
                self.workload("95:5", 32, True, rate=max_rate * 0.1, duration=0.5, warmup=0)),
                repeats=1)
            for pct in loads:
                name = "latency-udp-%dpct" % pct
                telemetry("/wirecache/latency,mark")
                telemetry("/wirecache/passes,reset")
                before = (threads(dp.pid), cpu_steal_ns(srv_cpus[0]))
                t0 = time.monotonic()
                r = self.run_lg(name, self.loadgen_cmd(
                    name, lg_cpus, "client",
                    ["--transport", "udp"] +
                    self.workload("95:5", 32, False, rate=max_rate * pct / 100.0)),
                    repeats=1)
                self.dp_alive(dp, name)
                r["dataplane_latency"] = telemetry("/wirecache/latency")
                r["dataplane_passes"] = telemetry("/wirecache/passes")
                r["dataplane_sched"] = sched_evidence(
                    dp.pid, srv_cpus[0], before, (threads(dp.pid), cpu_steal_ns(srv_cpus[0])),
                    time.monotonic() - t0)
                with open(os.path.join(RESULTS, name + ".json"), "w") as f:
                    json.dump(r, f, indent=2)
                res[pct] = r
        finally:
            stop(dp)
        return res

    def baseline(self, kind, lg_cpu, srv_cpu, mixes, values):
        if kind == "memcached":
            exe = shutil.which("memcached")
            cmd = ["taskset", "-c", str(srv_cpu), exe or "memcached", "-u", "nobody",
                   "-l", "127.0.0.1", "-p", str(MC_PORT), "-U", "0", "-t", "1", "-m", "1024",
                   "-c", "4096"]
            port, proto, label = MC_PORT, "memcached", "memcached 1.6 (1 thread)"
        else:
            exe = shutil.which("redis-server")
            cmd = ["taskset", "-c", str(srv_cpu), exe or "redis-server", "--port",
                   str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--protected-mode", "yes"]
            port, proto, label = REDIS_PORT, "redis", "redis 7"
        if not exe:
            print("  (%s not installed: skipped)" % kind)
            return {}
        p = start(cmd, os.path.join(self.tmp, kind + ".log"))
        time.sleep(0.7)
        probe = server_probe(p.pid, (lambda: memcached_ops(port)) if kind == "memcached"
                             else (lambda: redis_ops(port)))
        res = {}
        try:
            def lg(name):
                return ["taskset", "-c", str(lg_cpu), self.lg, "--socket",
                        "127.0.0.1:%d" % port, "--proto", proto, "--quiet", "--json",
                        os.path.join(RESULTS, name + ".json")]
            for value in values:
                name = "%s-preload-%dB" % (kind, value)     # a run of its own, as above
                self.run_lg(name, lg(name) + self.workload(mixes[0], value, True, duration=0.3,
                                                           warmup=0), repeats=1)
                for mix in mixes:
                    name = "%s-%s-%dB" % (kind, mix.replace(":", "-"), value)
                    r = self.run_lg(name, lg(name) + self.workload(mix, value, False),
                                    probe=probe)
                    res[(mix, value)] = r
                    self.rows.append((label, "tcp (kernel)", mix, value, r))
        finally:
            stop(p)
        return res

    def scaling(self, counts):
        """For each k in counts: k dataplane lcores against k load generator lcores
        (UDP GET 95:5, 32 B, one flow set per lcore pair), and testpmd's ceiling with
        k forwarding cores on the same CPUs. A k needing more than the CPUs there
        are (2k) is reported and left out: a figure that was not measured is not
        estimated."""
        out = []
        for k in counts:
            if 2 * k > len(self.cpus):
                print("   %2d lcores: not measured (needs %d CPUs, this machine has %d)" %
                      (k, 2 * k, len(self.cpus)))
                continue
            srv, lg = self.cpus[-k:], self.cpus[:k]
            flows = ["--flows", str(self.flows * k)]
            ceil = self.ceiling_once(lg, srv, "scaling-ceiling-%d" % k, flows)
            dp = self.start_dp(srv)
            try:
                name = "scaling-udp-%d" % k
                r = self.run_lg(name, self.loadgen_cmd(
                    name, lg, "client",
                    ["--transport", "udp"] + self.workload("95:5", 32, True)[:-1] +
                    ["--preload"] + flows), probe=lambda: wirecache_probe(dp.pid))
                out.append((k, r, ceil))
            finally:
                stop(dp)
        return out


def latency_evidence(r):
    """Where a level's dataplane tail came from, in words and figures: the rx bursts the
    load generator's arrivals made (their sizes, the time a burst takes), the passes over
    the long mark and their stages, and what the scheduler and hypervisor took."""
    out = []
    ps, sc = r.get("dataplane_passes") or {}, r.get("dataplane_sched") or {}
    if ps:
        sizes = {n: ps.get("bursts_%d" % n, 0) for n in range(1, 33)}
        pkts = sum(n * c for n, c in sizes.items())
        big = sum(n * c for n, c in sizes.items() if n >= 16)
        full = [(n, ps.get("burst_mean_ns_%d" % n, 0)) for n in (1, 8, 16, 32) if sizes[n]]
        out.append("bursts: %d, %.1f packets each (by packet), %.1f%% of packets in bursts "
                   "of 16+; a burst of n takes %s" % (
                       sum(sizes.values()), sum(n * n * c for n, c in sizes.items()) / pkts
                       if pkts else 0, 100.0 * big / pkts if pkts else 0,
                       ", ".join("%d: %.1f us" % (n, t / 1000.0) for n, t in full) or "-"))
        stages = ("rx", "mailbox", "polls", "flush", "background", "gap")
        out.append("passes over %d us: %d (%.1f%% switched out), longest %.0f us; by their "
                   "longest stage %s; stage maxima %s" % (
                       ps.get("long_us", 10), ps.get("long_passes", 0),
                       100.0 * ps.get("long_switched", 0) / ps["long_passes"]
                       if ps.get("long_passes") else 0, ps.get("max_pass_ns", 0) / 1000.0,
                       " ".join("%s %d" % (st, ps.get("long_by_" + st, 0)) for st in stages),
                       " ".join("%s %.0f" % (st, ps.get("stage_max_ns_" + st, 0) / 1000.0)
                                for st in stages)))
        out.append("frames off the GET fast path over %d us: %d, longest %.1f us; passes %d, "
                   "background stage (store maintenance ...) %.2f us a pass on average" % (
                       ps.get("slow_us", 5), ps.get("slow_frames", 0),
                       ps.get("slow_frame_max_ns", 0) / 1000.0, ps.get("passes", 0),
                       ps.get("stage_ns_background", 0) / 1000.0 / ps["passes"]
                       if ps.get("passes") else 0))
    if sc.get("lcore"):
        lc, secs = sc["lcore"], sc.get("seconds") or 1
        waiting = lc["wait_ms"] / 1000.0 / secs      # share of the run off its CPU
        out.append("lcore thread %s: %d involuntary switches (%.0f/s), %.2f ms waiting for "
                   "its CPU (%.3f%% of the run), %d page faults, steal on its CPU %.1f ms; "
                   "its other threads allowed there: %s" % (
                       lc["name"], lc["invol"], lc["invol"] / secs, lc["wait_ms"],
                       100.0 * waiting, lc.get("minflt", 0), sc.get("steal_ms", 0),
                       ", ".join("%s (cpus %s) %.1f ms" % (o["name"], o["cpus"], o["run_ms"])
                                 for o in sc.get("others_on_cpu", [])) or "none"))
        if waiting > 0.05:
            out.append("(the lcore was runnable but off its CPU %.0f%% of the run: other "
                       "processes shared the CPU, so this level's tail is the machine's)" %
                       (100.0 * waiting))
    return out


def print_latency(lat):
    """The latency table: end to end beside the dataplane's service time, each level's evidence."""
    print("-- latency, wirecache UDP 95:5 32 B, open loop: end to end | the dataplane's own "
          "service time (rx burst to reply queued) | its share of the end-to-end p99")
    for pct in sorted(lat):
        l, d = lat[pct]["latency"], lat[pct].get("dataplane_latency") or {}
        dp99 = d.get("p99_ns", 0) / 1000.0
        print("   %3d%% load (%9.0f/s): p50 %7.1f us  p99 %7.1f us  p99.9 %7.1f us | "
              "dp p50 %6.2f us  p99 %6.2f us  p99.9 %6.2f us (%d ops) | %5.1f%% of p99" %
              (pct, lat[pct]["rate"], l["p50_us"], l["p99_us"], l["p999_us"],
               d.get("p50_ns", 0) / 1000.0, dp99, d.get("p999_ns", 0) / 1000.0,
               d.get("count", 0), 100.0 * dp99 / l["p99_us"] if l["p99_us"] else 0))
        for line in latency_evidence(lat[pct]):
            print("          " + line)


def latency_lines(lat):
    """The latency table's machine-readable lines (50% load)."""
    if 50 not in lat:
        return
    print("latency.p99_us_at_50pct=%.1f" % lat[50]["latency"]["p99_us"])
    d = lat[50].get("dataplane_latency") or {}
    if d.get("count"):
        for q in ("p50", "p99", "p999"):
            print("latency.dp_%s_us_at_50pct=%.2f" % (q, d[q + "_ns"] / 1000.0))
    lc = (lat[50].get("dataplane_sched") or {}).get("lcore")
    if lc:
        print("latency.dp_lcore_invol_switches_at_50pct=%d" % lc["invol"])
        print("latency.dp_lcore_wait_ms_at_50pct=%.2f" % lc["wait_ms"])
    ps = lat[50].get("dataplane_passes") or {}
    if ps:
        print("latency.dp_long_passes_at_50pct=%d" % ps.get("long_passes", 0))


def fmt_row(system, transport, mix, value, r):
    lat = r.get("latency", {})
    ns = (r.get("server_core") or {}).get("ns_per_op")
    return "%-28s %-13s %-6s %6s %11.0f %8.1f %8.1f %6d %9s" % (
        system, transport, mix, value, r["ops_per_sec"], lat.get("p50_us", 0),
        lat.get("p99_us", 0), r.get("errors", 0) + r.get("verify_failed", 0),
        "%.0f" % ns if ns else "-")


def core_costs(wc, mc, rd):
    """Core ns per operation, theirs over ours, GET-heavy 95:5 (the headline) and
    50:50, 32 B values: memcached against wirecache's memcached over TCP, redis
    against wirecache's RESP over TCP (each the same protocol over TCP)."""
    def ns(r):
        return ((r or {}).get("server_core") or {}).get("ns_per_op")
    out = {}
    for mix, suffix in (("95:5", ""), ("95:5", "_95_5"), ("50:50", "_50_50")):
        for name, theirs, transport, system in ((
                "memcached", mc, "tcp", "memcached"), ("redis", rd, "resp", "redis-server")):
            if not theirs or (mix, 32) not in theirs:
                continue
            out["core_cost_vs_%s%s" % (name, suffix)] = {
                "mix": mix, "system": system, "transport": transport,
                "theirs_ns": ns(theirs[(mix, 32)]),
                "wirecache_ns": ns(wc.get((transport, mix, 32)))}
    return out


def plots(b, lat):
    if not shutil.which("gnuplot"):
        print("  (gnuplot not installed: no plots)")
        return
    data = os.path.join(RESULTS, "throughput.dat")
    with open(data, "w") as f:
        for system, transport, mix, value, r in b.rows:
            if value in (32, "-") and mix in ("95:5", "-"):
                f.write('"%s\\n%s" %.0f\n' % (system.split(" (")[0], transport,
                                              r["ops_per_sec"]))
    script = """set terminal pngcairo size 900,500 noenhanced
set output '%s/throughput.png'
set title 'requests/s, one server core (95:5 GET:SET, 32 B values, Zipf 0.99)'
set style fill solid 0.6
set boxwidth 0.6
set ylabel 'requests/s'
set yrange [0:*]
set xtics font ',8'
plot '%s' using 0:2:xtic(1) with boxes notitle
""" % (RESULTS, data)
    if lat:
        ldat = os.path.join(RESULTS, "latency.dat")
        with open(ldat, "w") as f:
            for pct in sorted(lat):
                l = lat[pct]["latency"]
                f.write("%d %.1f %.1f %.1f\n" % (pct, l["p50_us"], l["p99_us"], l["p999_us"]))
        script += """set output '%s/latency.png'
set title 'wirecache UDP latency, open loop (Poisson arrivals)'
set xlabel 'load, %% of the measured maximum'
set ylabel 'microseconds'
set logscale y
set yrange [*:*]
set xtics 10
set style data linespoints
plot '%s' using 1:2 title 'p50', '' using 1:3 title 'p99', '' using 1:4 title 'p99.9'
""" % (RESULTS, ldat)
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        print("  (gnuplot failed: %s)" % r.stderr.strip())
    else:
        print("  plots: %s/throughput.png%s" % (RESULTS,
                                                ", %s/latency.png" % RESULTS if lat else ""))


def latency_only(b, lg_cpus, srv_cpus, max_rate, loads):
    """--latency-only: the latency table alone, its maximum measured here unless given."""
    if not max_rate:
        wc = b.wirecache(lg_cpus, srv_cpus, ["95:5"], [32], ["udp"])
        max_rate = wc[("udp", "95:5", 32)]["ops_per_sec"]
    print("== latency only: server cpu %d, load generator cpu %d, maximum %.0f ops/s; "
          "wirecache's memory on %s" % (srv_cpus[0], lg_cpus[0], max_rate, b.dp_pages))
    lat = b.latency(lg_cpus, srv_cpus, max_rate, loads)
    print_latency(lat)
    latency_lines(lat)
    errors = sum(r.get("errors", 0) + r.get("verify_failed", 0) for r in lat.values())
    return 1 if errors else 0


def main():
    global RESULTS
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--results", default=RESULTS, help="where the JSON and plots go")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--cores", default="",
                    help="dataplane lcore counts for the scaling table, e.g. 1,2,4,6")
    ap.add_argument("--latency-only", action="store_true",
                    help="only the latency table: one UDP 95:5 run at saturation for the "
                    "maximum (unless --max-rate), then the load levels")
    ap.add_argument("--max-rate", type=float, default=0,
                    help="with --latency-only: the maximum (ops/s) the levels are taken of")
    ap.add_argument("--loads", default="",
                    help="load levels in %% of the maximum, e.g. 50 (default 10,50,90; "
                    "--quick 50)")
    a = ap.parse_args()
    RESULTS = a.results
    try:
        counts = sorted({int(x) for x in a.cores.split(",") if x.strip()})
    except ValueError:
        ap.error("--cores takes lcore counts: 1,2,4,6")
    if any(k < 1 for k in counts):
        ap.error("--cores: counts start at 1")
    if os.geteuid() != 0:
        print("netbench: needs root (DPDK, CPU pinning): skipped")
        return 0
    b = Bench(a.build, a.quick)
    if len(b.cpus) < 2:
        print("netbench: needs at least 2 CPUs: skipped")
        return 0
    lg_cpus, srv_cpus = b.cpus[:1], b.cpus[-1:]
    # quick still measures both mixes of the core-cost figures
    try:
        loads = sorted({int(x) for x in a.loads.split(",") if x.strip()})
    except ValueError:
        ap.error("--loads takes percentages: 10,50,90")
    if a.latency_only:
        return latency_only(b, lg_cpus, srv_cpus, a.max_rate, loads)
    mixes = ["95:5", "50:50"] if a.quick else ["100:0", "95:5", "50:50"]
    values = [32] if a.quick else [32, 1024]
    print("== network: one server core (cpu %d), load generator on cpu %d, memif link; "
          "%d flows x %d deep, %d keys, Zipf 0.99, 16 B keys; wirecache's memory on %s" %
          (srv_cpus[0], lg_cpus[0], b.flows, b.depth, b.keys, b.dp_pages))
    ceil = b.ceiling(lg_cpus, srv_cpus)
    wc = b.wirecache(lg_cpus, srv_cpus, mixes, values, ["udp", "tcp", "resp"])
    mc = b.baseline("memcached", lg_cpus[0], srv_cpus[0], mixes, values)
    rd = b.baseline("redis", lg_cpus[0], srv_cpus[0], mixes, values)
    base = wc[("udp", mixes[0] if a.quick else "95:5", 32)]
    lat = b.latency(lg_cpus, srv_cpus, base["ops_per_sec"], loads)
    print("%-28s %-13s %-6s %6s %11s %8s %8s %6s %9s" % (
        "system", "transport", "mix", "value", "ops/s", "p50 us", "p99 us", "errors",
        "core ns/op"))
    for row in b.rows:
        print(fmt_row(*row))
    print("   (core ns/op: server core time per operation at saturation; memcached and redis:\n"
          "    utime+stime of the process, kernel network stack included; wirecache: busy\n"
          "    cycles of its lcore, poll passes that did work)")
    on_cpu = [r["server_core"]["on_cpu"] for sy, _, _, _, r in b.rows if sy == "wirecache" and
              "on_cpu" in (r.get("server_core") or {})]
    if on_cpu and min(on_cpu) < 0.95:
        print("   (wirecache's busy-polling lcore was on its CPU only %.0f%% of a run: the busy\n"
              "    cycles count the time others held its CPU, so its ns/op is overstated here)"
              % (100 * min(on_cpu)))
    print_latency(lat)
    scale, per0 = [], 0
    if counts:
        print("-- scaling (UDP GET 95:5 32 B): k dataplane lcores against k load generator "
              "lcores; efficiency = per-core rate over the smallest k's")
        scale = b.scaling(counts)
        if scale:
            k0, r0, _ = scale[0]
            per0 = r0["ops_per_sec"] / k0
            print("   lcores        ops/s   per core  efficiency   testpmd ceiling  "
                  "per core  wirecache/ceiling")
            for k, r, c in scale:
                cops = c["ops_per_sec"] if c else 0
                print("   %6d  %11.0f  %9.0f  %10.3f  %16.0f  %8.0f  %17s" % (
                    k, r["ops_per_sec"], r["ops_per_sec"] / k,
                    r["ops_per_sec"] / k / per0 if per0 else 0, cops, cops / k,
                    "%.3f" % (r["ops_per_sec"] / cops) if cops else "-"))
    plots(b, lat)
    cost = core_costs(wc, mc, rd)
    for label, v in cost.items():
        if label.endswith(("_95_5", "_50_50")) and v["wirecache_ns"] and v["theirs_ns"]:
            print("-- core time per %s op: %s %.0f ns, wirecache %s %.0f ns" % (
                v["mix"], v["system"], v["theirs_ns"], v["transport"], v["wirecache_ns"]))
    with open(os.path.join(RESULTS, "net.json"), "w") as f:
        json.dump({"rows": [{"system": s, "transport": t, "mix": m, "value": v,
                             "ops_per_sec": r["ops_per_sec"], "latency": r.get("latency"),
                             "server_core": r.get("server_core")}
                            for s, t, m, v, r in b.rows],
                   "core_cost": cost,
                   "latency_split": {str(pct): {"end_to_end": lat[pct].get("latency"),
                                                "dataplane": lat[pct].get("dataplane_latency")}
                                     for pct in sorted(lat)},
                   "scaling": [{"lcores": k, "ops_per_sec": r["ops_per_sec"],
                                "per_core": r["ops_per_sec"] / k,
                                "ceiling_ops_per_sec": c["ops_per_sec"] if c else None}
                               for k, r, c in scale]}, f, indent=2)
    # the machine-readable lines
    key = "100:0" if not a.quick else "95:5"
    udp_get = wc[("udp", key, 32)]["ops_per_sec"]
    tcp_get = wc[("tcp", key, 32)]["ops_per_sec"]
    if ceil:
        print("ratio.udp_get_vs_ceiling=%.3f" % (udp_get / ceil["ops_per_sec"]))
    print("ratio.tcp_get_vs_udp_get=%.3f" % (tcp_get / udp_get))
    print("ratio.resp_get_vs_tcp_get=%.3f" % (wc[("resp", key, 32)]["ops_per_sec"] / tcp_get))
    for label, v in cost.items():
        if v["wirecache_ns"] and v["theirs_ns"]:
            print("ratio.%s=%.2f" % (label, v["theirs_ns"] / v["wirecache_ns"]))
    same = ("95:5", 32)
    if mc or rd:
        print("# the vs_*_per_core ratios below: throughput of one server core, bounded by "
              "the one load-generator core (not by the servers)")
    if mc:
        print("ratio.vs_memcached_per_core=%.2f" %
              (wc[("tcp", "95:5", 32)]["ops_per_sec"] / mc[same]["ops_per_sec"]))
    if rd:
        print("ratio.vs_redis_per_core=%.2f" %
              (wc[("tcp", "95:5", 32)]["ops_per_sec"] / rd[same]["ops_per_sec"]))
        print("ratio.resp_vs_redis_per_core=%.2f" %
              (wc[("resp", "95:5", 32)]["ops_per_sec"] / rd[same]["ops_per_sec"]))
    latency_lines(lat)
    for k, r, c in scale:
        print("scaling.udp_get_per_core_%d=%.0f" % (k, r["ops_per_sec"] / k))
        if k != scale[0][0] and per0:
            print("ratio.scaling_efficiency_%d=%.3f" % (k, r["ops_per_sec"] / k / per0))
        if c:
            print("ratio.udp_get_vs_ceiling_%d=%.3f" % (k, r["ops_per_sec"] / c["ops_per_sec"]))
    errors = sum(r.get("errors", 0) + r.get("verify_failed", 0) for _, _, _, _, r in b.rows)
    if errors:
        print("netbench: %d errors or wrong values in the runs above" % errors)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
