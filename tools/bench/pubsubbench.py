#!/usr/bin/python3
"""pubsubbench.py - PUBLISH fan-out: messages delivered per second per core,
a wirecache node (one worker lcore: one core) beside Debian's redis-server
(single-threaded: one core), in one run, and their ratio.

SUBS subscribers listen to one channel; one publisher pipelines PUBLISH
commands (WINDOW batches of BATCH in flight) for SECONDS; every message goes
to every subscriber. Subscribers are read as byte counts (each delivery is
the same frame), so the client is not the bottleneck a parser would be.
Delivered messages per second = frames received by all subscribers over the
time from the first PUBLISH to the last frame. The node is reached through
the testbed's tap (namespace wc, --busy-poll), redis-server on loopback,
pinned to the CPU the node's worker uses. Every loop is bounded in time.

Usage: pubsubbench.py [--results DIR] [--quick]
       pubsubbench.py --client HOST PORT SUBS SECONDS  (one measurement, JSON out)
"""
import argparse
import json
import os
import selectors
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTBED = os.path.join(ROOT, "tools", "testbed")
NODE = "198.18.0.11"
REDIS_PORT = 26381
CHANNEL = b"bench"
MSG = b"m" * 16
BATCH = 64
WINDOW = 8


def enc(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def measure(host, port, nsubs, seconds):
    frame = enc(b"message", CHANNEL, MSG)        # RESP2 message array == this encoding
    reply = b":%d\r\n" % nsubs
    subs = []
    for _ in range(nsubs):
        s = socket.create_connection((host, port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.sendall(enc(b"SUBSCRIBE", CHANNEL))
        subs.append(s)
    conf = len(enc(b"subscribe", CHANNEL)) + len(b":1\r\n")
    for s in subs:
        got = b""
        end = time.monotonic() + 10
        while len(got) < conf and time.monotonic() < end:
            got += s.recv(conf - len(got))
        assert got.startswith(b"*3\r\n$9\r\nsubscribe"), got
        s.setblocking(False)
    pub = socket.create_connection((host, port), timeout=10)
    pub.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    batch = enc(b"PUBLISH", CHANNEL, MSG) * BATCH
    sel = selectors.DefaultSelector()
    for i, s in enumerate(subs):
        sel.register(s, selectors.EVENT_READ, i)
    pub.setblocking(False)
    sel.register(pub, selectors.EVENT_READ, -1)
    sent = replied = 0
    rbytes = 0
    sub_bytes = 0
    t0 = time.monotonic()
    stop = t0 + seconds
    hard_end = stop + 15
    last = t0
    while time.monotonic() < hard_end:
        now = time.monotonic()
        if now < stop and sent - replied < WINDOW * BATCH:
            pub.setblocking(True)
            pub.sendall(batch)
            pub.setblocking(False)
            sent += BATCH
        if now >= stop and replied == sent and sub_bytes >= sent * nsubs * len(frame):
            break
        for key, _ in sel.select(timeout=0.05):
            try:
                d = key.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            if not d:
                raise RuntimeError("connection closed by the server")
            if key.data < 0:
                rbytes += len(d)
                replied = rbytes // len(reply)
            else:
                sub_bytes += len(d)
                last = time.monotonic()
    delivered = sub_bytes // len(frame)
    complete = delivered == sent * nsubs and replied == sent
    for s in subs:
        s.close()
    pub.close()
    return {"published": sent, "delivered": delivered, "complete": complete,
            "seconds": last - t0, "rate": delivered / max(last - t0, 1e-9)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default="build/bench-results")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--client", nargs=4, metavar=("HOST", "PORT", "SUBS", "SECONDS"))
    a = ap.parse_args()
    if a.client:
        h, p, n, s = a.client
        print(json.dumps(measure(h, int(p), int(n), float(s))))
        return 0
    if os.geteuid() != 0:
        print("pubsubbench: needs root (the testbed): skipped")
        return 0
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        print("pubsubbench: needs 2 CPUs: skipped")
        return 0
    os.makedirs(a.results, exist_ok=True)
    secs = 2 if a.quick else 5
    srv_cpu, cli_cpu = cpus[-1], cpus[0]
    rows = []
    me = os.path.abspath(__file__)
    subprocess.run([TESTBED, "down"], capture_output=True)
    up = subprocess.run([TESTBED, "up", "--nodes", "1", "--memory", "256M", "--",
                         "--busy-poll", "--state-dir", "/run/wirecache-bench-state"],
                        capture_output=True, text=True)
    if up.returncode != 0:
        print("pubsubbench: testbed did not come up: %s" % up.stderr[-500:])
        return 1
    try:
        for nsubs in (1, 10, 50):
            r = subprocess.run([TESTBED, "exec", "--", "taskset", "-c", str(cli_cpu),
                                "/usr/bin/python3", me, "--client", NODE, "6379", str(nsubs),
                                str(secs)], capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                print("pubsubbench: node run failed: %s" % r.stderr[-500:])
                return 1
            rows.append(("wirecache", nsubs, json.loads(r.stdout.strip().splitlines()[-1])))
    finally:
        subprocess.run([TESTBED, "down"], capture_output=True)
    srv = subprocess.Popen(["taskset", "-c", str(srv_cpu), "redis-server", "--port",
                            str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.7)
        for nsubs in (1, 10, 50):
            r = subprocess.run(["taskset", "-c", str(cli_cpu), "/usr/bin/python3", me,
                                "--client", "127.0.0.1", str(REDIS_PORT), str(nsubs),
                                str(secs)], capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                print("pubsubbench: redis-server run failed: %s" % r.stderr[-500:])
                return 1
            rows.append(("redis-server 7", nsubs, json.loads(r.stdout.strip().splitlines()[-1])))
    finally:
        srv.terminate()
        srv.wait(10)
    print("== PUBLISH fan-out (%ds, one channel, %d-byte messages, %d in flight): "
          "wirecache (1 worker) through the tap, redis-server on loopback, each on cpu %d"
          % (secs, len(MSG), WINDOW * BATCH, srv_cpu))
    print("%-16s %6s %12s %12s %14s %s" % ("server", "subs", "published", "delivered",
                                           "delivered/s", "complete"))
    for s, n, r in rows:
        print("%-16s %6d %12d %12d %14.0f %s" % (s, n, r["published"], r["delivered"],
                                                 r["rate"], "yes" if r["complete"] else "NO"))
    with open(os.path.join(a.results, "pubsubbench.json"), "w") as f:
        json.dump([dict(server=s, subscribers=n, **r) for s, n, r in rows], f, indent=2)
    by = {(s, n): r["rate"] for s, n, r in rows}
    for n in (1, 10, 50):
        print("ratio.pubsub_fanout_%d=%.2f" % (n, by[("wirecache", n)] /
                                               by[("redis-server 7", n)]))
    return 0 if all(r["complete"] for *_, r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
