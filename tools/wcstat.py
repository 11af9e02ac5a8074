#!/usr/bin/python3
"""wcstat.py - the testbed's live status: a table, one row per node.

Node i's control plane (wirecache-cp) serves HTTP on the host's loopback at
127.0.0.1:(8179+i); each row comes from its /api/stats (ops/s, memory, hit
rate of the last interval) and /api/cluster (role, slots, the node's
liveness key in etcd). A node whose control plane does not answer falls back
to the dataplane's DPDK telemetry (/var/run/dpdk/wctb<i>/dpdk_telemetry.v2,
/wirecache/stats: memory and hit rate since start, no rate), else it is
shown as down. The table is at most 100 columns wide whatever the number of
nodes (one row each). --once prints it once; otherwise it is redrawn every
second until Ctrl-C. --json prints the rows as JSON (for tests).

Columns: NODE, ADDRESS, ID (first 8 hex digits of the cluster node id),
ROLE (master/replica; "-" outside a cluster), SLOTS, OPS/S, MEMORY (used /
limit), HIT (get hit rate), ETCD (the node's liveness key: alive/gone; "-"
outside a cluster), STATE (up: cp answers and its dataplane is attached;
no-dp: cp answers, dataplane gone; tel: only telemetry answers; down).
"""
import argparse
import json
import socket
import sys
import time
import urllib.request

WIDTH = 100
NET = "198.18.0"


def query(node, command="/wirecache/stats"):
    """The node's dataplane counters over DPDK telemetry."""
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


def cp_get(node, path, timeout=1.0):
    url = "http://127.0.0.1:%d%s" % (8179 + node, path)
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


def human(n, unit=""):
    """1234567 -> '1.2M' (powers of 1000 for rates, of 1024 for bytes)."""
    base = 1024.0 if unit == "B" else 1000.0
    for suffix in ("", "k" if base == 1000.0 else "K", "M", "G", "T"):
        if abs(n) < base or suffix == "T":
            if suffix == "":
                return "%d" % n
            return "%.1f%s" % (n, suffix)
        n /= base
    return "%d" % n


def node_row(i):
    """One node's figures as a dict (None where unknown)."""
    row = {"node": i, "address": "%s.%d" % (NET, 10 + i), "id": None, "role": None,
           "slots": None, "ops_per_s": None, "memory_used": None, "memory_limit": None,
           "hit_rate": None, "etcd_alive": None, "epoch": None, "dataplane_epoch": None,
           "state": "down"}
    try:
        st = cp_get(i, "/api/stats")
    except (OSError, ValueError):
        st = None
    if st is not None:
        row["state"] = "up" if st.get("attached") else "no-dp"
        rates = st.get("rates") or {}
        mem = st.get("memory") or {}
        row["ops_per_s"] = rates.get("ops_per_s")
        row["hit_rate"] = rates.get("hit_rate")
        row["memory_used"] = mem.get("used_bytes")
        row["memory_limit"] = mem.get("limit_bytes")
        try:
            cl = cp_get(i, "/api/cluster")
        except (OSError, ValueError):
            cl = None
        if cl and cl.get("enabled"):
            row["epoch"] = cl.get("epoch")
            row["dataplane_epoch"] = cl.get("dataplane_epoch")
            row["id"] = cl.get("id")
            row["cluster"] = cl
            for n in cl.get("nodes") or []:
                if n.get("myself"):
                    row["role"] = n.get("role")
                    row["slots"] = n.get("slot_count")
                    row["address"] = n.get("ip") or row["address"]
            if row["role"] is None and cl.get("id"):
                row["role"] = "(none)"     # registered, not in the map
                row["slots"] = 0
        return row
    try:
        t = query(i)
    except (OSError, ValueError, KeyError):
        return row
    row["state"] = "tel"
    row["memory_used"] = t.get("bytes")
    row["memory_limit"] = t.get("limit_maxbytes")
    gets = t.get("cmd_get") or 0
    row["hit_rate"] = (t.get("get_hits", 0) / gets) if gets else None
    return row


def rows(nodes):
    out = [node_row(i) for i in range(1, nodes + 1)]
    # liveness in etcd: any answering control plane's view of the registry (the map's
    # nodes carry "alive"), so a node whose own cp is down still gets its answer
    views = [r.pop("cluster") for r in out if "cluster" in r]
    for r in out:
        r.pop("cluster", None)
        for v in views:
            for n in v.get("nodes") or []:
                if r["id"] and n.get("id") == r["id"] or \
                        not r["id"] and n.get("ip") == r["address"]:
                    r["id"] = r["id"] or n.get("id")
                    r["role"] = r["role"] or n.get("role")
                    if r["slots"] is None:
                        r["slots"] = n.get("slot_count")
                    if r["etcd_alive"] is None or v.get("etcd"):
                        r["etcd_alive"] = bool(n.get("alive"))
            if r["id"] and r["id"] in (v.get("registered_not_in_map") or []):
                r["etcd_alive"] = True
    return out, views


COLS = [("NODE", 4), ("ADDRESS", 12), ("ID", 8), ("ROLE", 7), ("SLOTS", 5), ("OPS/S", 8),
        ("MEMORY", 15), ("HIT", 6), ("ETCD", 5), ("STATE", 5)]


def fmt_row(vals):
    cells = []
    for (name, w), v in zip(COLS, vals):
        v = str(v)[:w]
        cells.append(v.rjust(w) if name in ("SLOTS", "OPS/S", "MEMORY", "HIT") else v.ljust(w))
    return "  ".join(cells).rstrip()


def table(nodes):
    rs, views = rows(nodes)
    head = "wirecache testbed, %d node(s)" % nodes
    if views:
        epochs = sorted({v.get("epoch") for v in views if v.get("epoch") is not None})
        etcd = "up" if any(v.get("etcd") for v in views) else "unreachable"
        head += ", cluster %s, map epoch %s, etcd %s" % (
            views[0].get("cluster_name"), "/".join(str(e) for e in epochs) or "-", etcd)
    lines = [head[:WIDTH], fmt_row([c for c, _ in COLS])]
    for r in rs:
        mem = "-"
        if r["memory_used"] is not None and r["memory_limit"]:
            mem = "%s/%s" % (human(r["memory_used"], "B"), human(r["memory_limit"], "B"))
        lines.append(fmt_row([
            r["node"], r["address"], (r["id"] or "-")[:8], r["role"] or "-",
            "-" if r["slots"] is None else r["slots"],
            "-" if r["ops_per_s"] is None else human(r["ops_per_s"]),
            mem, "-" if r["hit_rate"] is None else "%.1f%%" % (100.0 * r["hit_rate"]),
            "-" if r["etcd_alive"] is None else ("alive" if r["etcd_alive"] else "gone"),
            r["state"]]))
    return lines, rs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1)
    ap.add_argument("--once", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.json:
        print(json.dumps(rows(args.nodes)[0]))
        return 0
    if args.once:
        print("\n".join(table(args.nodes)[0]))
        return 0
    drawn = 0
    try:
        while True:
            lines = table(args.nodes)[0]
            out = "\033[%dA" % drawn if drawn else ""
            out += "".join("\r\033[K" + l + "\n" for l in lines)
            out += "\033[J"      # a shorter table than the last: clear what is left
            sys.stdout.write(out)
            sys.stdout.flush()
            drawn = len(lines)
            time.sleep(1)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
