#!/usr/bin/python3
"""redisbench.py - Redis's own benchmark tool, redis-benchmark, against a
wirecache node and against Debian's redis-server, side by side, in one run:
GET and SET, without pipelining (-P 1) and with 16 commands in flight per
connection (-P 16), printed as a table with the ratios.

redis-benchmark uses kernel sockets, so it reaches the wirecache node the way
any Redis client does: through the virtual testbed (namespace wc, the node's
net_tap port, with --busy-poll), while redis-server listens on loopback. The
tap adds a kernel hop wirecache's own numbers over memif do not have: this
table is the view from an unmodified client, not the dataplane's ceiling.

The server gets its own CPU (the last), redis-benchmark the first. Needs root
(the testbed); every run is bounded (-n requests). Results go to
RESULTS/redisbench.json; the last lines are ratio.redisbench_* figures.

Usage: redisbench.py [--results DIR] [--quick]
"""
import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTBED = os.path.join(ROOT, "tools", "testbed")
NODE = "198.18.0.11"
REDIS_PORT = 26380


def bench(prefix, host, port, test, pipeline, n, cpu):
    """requests per second of one redis-benchmark run (CSV output), and its errors."""
    cmd = prefix + ["taskset", "-c", str(cpu), "redis-benchmark", "-h", host, "-p", str(port),
                    "-t", test, "-n", str(n), "-P", str(pipeline), "-c", "50", "-d", "32",
                    "-r", "100000", "--csv"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    rows = list(csv.reader(io.StringIO(r.stdout)))
    for row in rows:
        if row and row[0].strip('"').upper().startswith(test.upper()):
            return float(row[1]), r.returncode != 0 or "ERR" in r.stderr
    raise RuntimeError("redis-benchmark %s gave no %s row: %s %s" % (host, test, r.stdout,
                                                                    r.stderr))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default="build/bench-results")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("redisbench: needs root (the testbed): skipped")
        return 0
    if not shutil.which("redis-benchmark") or not shutil.which("redis-server"):
        print("redisbench: redis-benchmark or redis-server missing (tools/deps.sh): skipped")
        return 0
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        print("redisbench: needs 2 CPUs: skipped")
        return 0
    os.makedirs(a.results, exist_ok=True)
    n = 50000 if a.quick else 200000
    srv_cpu, cli_cpu = cpus[-1], cpus[0]
    rows = []
    # wirecache on the testbed: its one worker lcore runs on the last CPU (tools/testbed)
    subprocess.run([TESTBED, "down"], capture_output=True)
    up = subprocess.run([TESTBED, "up", "--nodes", "1", "--memory", "512M", "--",
                         "--busy-poll", "--state-dir", "/run/wirecache-bench-state"],
                        capture_output=True, text=True)
    if up.returncode != 0:
        print("redisbench: testbed did not come up: %s" % up.stderr[-500:])
        return 1
    try:
        for test in ("get", "set"):
            for pipe in (1, 16):
                ops, err = bench([TESTBED, "exec", "--"], NODE, 6379, test, pipe, n, cli_cpu)
                rows.append(("wirecache", test, pipe, ops, err))
    finally:
        subprocess.run([TESTBED, "down"], capture_output=True)
    srv = subprocess.Popen(["taskset", "-c", str(srv_cpu), "redis-server", "--port",
                            str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.7)
        for test in ("get", "set"):
            for pipe in (1, 16):
                ops, err = bench([], "127.0.0.1", REDIS_PORT, test, pipe, n, cli_cpu)
                rows.append(("redis-server 7", test, pipe, ops, err))
    finally:
        srv.terminate()
        srv.wait(10)
    print("== redis-benchmark (-c 50 -d 32 -r 100000 -n %d): wirecache through the testbed's "
          "tap, redis-server on loopback, each on cpu %d" % (n, srv_cpu))
    print("%-16s %-5s %4s %12s %s" % ("server", "test", "-P", "requests/s", "errors"))
    for s, t, p, ops, err in rows:
        print("%-16s %-5s %4d %12.0f %s" % (s, t, p, ops, "yes" if err else "0"))
    with open(os.path.join(a.results, "redisbench.json"), "w") as f:
        json.dump([{"server": s, "test": t, "pipeline": p, "rps": ops, "errors": err}
                   for s, t, p, ops, err in rows], f, indent=2)
    by = {(s, t, p): ops for s, t, p, ops, _ in rows}
    for t in ("get", "set"):
        for p in (1, 16):
            print("ratio.redisbench_%s_p%d=%.2f" % (t, p, by[("wirecache", t, p)] /
                                                   by[("redis-server 7", t, p)]))
    return 1 if any(err for *_, err in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
