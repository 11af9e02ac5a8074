#!/usr/bin/python3
"""wcstat.py - read the testbed nodes' counters over DPDK telemetry.

Each node's wirecache-dp registers /wirecache/stats on its telemetry socket
(/var/run/dpdk/wctb<i>/dpdk_telemetry.v2). --once prints one line per node;
otherwise a single live status line is refreshed every second until Ctrl-C.
"""
import argparse
import json
import socket
import sys
import time


def query(node, command="/wirecache/stats"):
    path = "/var/run/dpdk/wctb%d/dpdk_telemetry.v2" % node
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(2)
    try:
        s.connect(path)
        json.loads(s.recv(4096).decode())  # the greeting
        s.send(command.encode())
        return json.loads(s.recv(1 << 16).decode())[command]
    finally:
        s.close()


def line(stats):
    # real drops (frames meant for the node) apart from frames that were not for it
    drops = stats.get("drops", sum(v for k, v in stats.items() if k.startswith("drop_")))
    ignored = stats.get("ignored", sum(v for k, v in stats.items() if k.startswith("ignored_")))
    hits, gets = stats["get_hits"], stats["cmd_get"]
    rate = "%.1f%%" % (100.0 * hits / gets) if gets else "-"
    return ("items %d, %.1f/%.1f MiB, gets %d (hit %s), sets %d, evictions %d, drops %d "
            "(%d not for us)" % (
                stats["curr_items"], stats["bytes"] / 1048576.0,
                stats["limit_maxbytes"] / 1048576.0, gets, rate, stats["cmd_set"],
                stats["evictions"], drops, ignored))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1)
    ap.add_argument("--once", action="store_true")
    args = ap.parse_args()
    if args.once:
        for n in range(1, args.nodes + 1):
            try:
                print("  node %d: %s" % (n, line(query(n))))
            except OSError as e:
                print("  node %d: no telemetry (%s)" % (n, e))
        return 0
    last = {}
    try:
        while True:
            parts = []
            for n in range(1, args.nodes + 1):
                try:
                    st = query(n)
                except OSError:
                    parts.append("node %d: down" % n)
                    continue
                # gets (per key) and sets, over UDP and TCP alike
                ops = st["cmd_get"] + st["cmd_set"]
                rate = ops - last.get(n, ops)
                last[n] = ops
                parts.append("node %d: %d ops/s, %s" % (n, rate, line(st)))
            sys.stdout.write("\r\033[K" + " | ".join(parts))
            sys.stdout.flush()
            time.sleep(1)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
