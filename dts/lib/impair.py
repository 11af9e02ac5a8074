"""impair.py - a userspace netem for the client's link to a node.

The kernel of the test machines may lack sch_netem (CONFIG_NET_SCH_NETEM is
off on the VMs this suite was written on, and there are no modules), so the
TCP fault suites impair the link themselves: `Link` takes node i's tap
wct<i> out of the bridge wcbr, puts a veth pair in its place
(wcbr - wcimp0 ~ wcimp1), and runs this file as a separate process that
forwards frames between wcimp1 and wct<i>, impairing the TCP ones in both
directions the way netem would on the client's egress and on the egress
toward the client:

  --loss P        drop P% of the frames
  --dup P         send P% of the frames twice
  --delay MS --reorder P
                  netem's "delay MS reorder P%": P% of the frames go at once,
                  the others MS later, so the immediate ones overtake them

Everything stays inside namespace wc: the process is started from the test
process after it entered the namespace, and forwards only between the two
interfaces. It stops on SIGTERM, when its stdin closes (its parent died), or
after --max-seconds, and prints its counters as one JSON line on stdout.
Non-TCP frames (ARP) pass unimpaired: the faults are for TCP to recover from.
"""
import argparse
import heapq
import json
import os
import random
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
TCP_PORT = 11211


def is_tcp(frame, port=TCP_PORT):
    """An IPv4 TCP frame to or from port."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return False
    ihl = (frame[14] & 0x0F) * 4
    if len(frame) < 14 + ihl + 4:
        return False
    sport, dport = struct.unpack("!HH", frame[14 + ihl:18 + ihl])
    return port in (sport, dport)


def run(args):
    rnd = random.Random(args.seed)
    socks = {}
    for name in (args.a, args.b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        s.bind((name, ETH_P_ALL))
        s.setblocking(False)
        socks[name] = s
    peer = {socks[args.a].fileno(): socks[args.b], socks[args.b].fileno(): socks[args.a]}
    direction = {socks[args.a].fileno(): "to_node", socks[args.b].fileno(): "to_client"}
    st = {d: dict(frames=0, tcp=0, dropped=0, duplicated=0, delayed=0, overtaking=0,
                  send_errors=0) for d in ("to_node", "to_client")}
    pending = []        # (release time, sequence, socket, frame, direction)
    seq = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    poller = select.poll()
    for s in socks.values():
        poller.register(s.fileno(), select.POLLIN)
    poller.register(sys.stdin.fileno(), select.POLLIN | select.POLLHUP)
    end = time.monotonic() + args.max_seconds

    def send(sock, frame, d):
        try:
            sock.send(frame)
        except OSError:
            st[d]["send_errors"] += 1

    print("ready", flush=True)
    while not stop and time.monotonic() < end:
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, sock, frame, d = heapq.heappop(pending)
            send(sock, frame, d)
        timeout = 100 if not pending else max(0, (pending[0][0] - now) * 1000)
        try:
            events = poller.poll(timeout)
        except InterruptedError:
            continue
        for fd, ev in events:
            if fd == sys.stdin.fileno():
                if not os.read(fd, 4096):
                    stop.append(1)
                continue
            src = [s for s in socks.values() if s.fileno() == fd][0]
            for _ in range(256):
                try:
                    frame, addr = src.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue        # what we (or the kernel) sent on this interface
                d = direction[fd]
                out = peer[fd]
                st[d]["frames"] += 1
                if not is_tcp(frame):
                    send(out, frame, d)
                    continue
                st[d]["tcp"] += 1
                if args.loss and rnd.random() * 100 < args.loss:
                    st[d]["dropped"] += 1
                    continue
                copies = 1
                if args.dup and rnd.random() * 100 < args.dup:
                    copies = 2
                    st[d]["duplicated"] += 1
                for _ in range(copies):
                    if args.delay_ms and not (args.reorder and rnd.random() * 100 < args.reorder):
                        seq += 1
                        st[d]["delayed"] += 1
                        heapq.heappush(pending, (time.monotonic() + args.delay_ms / 1000.0, seq,
                                                 out, frame, d))
                    else:
                        if pending:
                            st[d]["overtaking"] += 1
                        send(out, frame, d)
    for _, _, sock, frame, d in sorted(pending):
        send(sock, frame, d)
    print(json.dumps(st), flush=True)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True, help="the client side interface")
    ap.add_argument("--b", required=True, help="the node side interface")
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--dup", type=float, default=0.0)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--reorder", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-seconds", type=float, default=180.0)
    return run(ap.parse_args(argv))


# ---- the test side: rewire the link, run the forwarder, put everything back ----

VETH_BR, VETH_FWD = "wcimp0", "wcimp1"


def _ip(*args, check=True):
    r = subprocess.run(["ip", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=10, check=False)
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), r.stdout.decode(errors="replace")))
    return r.stdout.decode(errors="replace")


def _mac(dev):
    m = re.search(r"link/ether ([0-9a-f:]{17})", _ip("link", "show", dev))
    if not m:
        raise RuntimeError("no MAC for %s" % dev)
    return m.group(1)


def _no_offloads(dev):
    # segments and checksums must be real on the wire the forwarder reads
    subprocess.run(["ethtool", "-K", dev, "tx", "off", "sg", "off", "tso", "off", "gso", "off",
                    "gro", "off"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=10, check=False)


def _sysctl(path, value=None):
    """Write value to a sysctl file (when given); its previous value, None if absent."""
    try:
        with open(path) as f:
            old = f.read().strip()
        if value is not None:
            with open(path, "w") as f:
                f.write(value)
        return old
    except OSError:
        return None


class Link:
    """Impair node i's link while the with-block runs (in namespace wc)."""

    def __init__(self, node=1, bridge="wcbr", **impairments):
        self.tap = "wct%d" % node
        self.bridge = bridge
        self.opts = []
        for k, v in impairments.items():
            self.opts += ["--" + k.replace("_", "-"), str(v)]
        self.proc = None
        self.stats = None
        self.tap_ipv6 = None
        self.tap_mac = None

    def __enter__(self):
        try:
            self._rewire()
            self.proc = subprocess.Popen(
                ["/usr/bin/python3", os.path.abspath(__file__), "--a", VETH_FWD, "--b", self.tap,
                 *self.opts], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT)
            line = self.proc.stdout.readline()
            if line.strip() != b"ready":
                raise RuntimeError("the impairment forwarder did not start: %r %r" % (
                    line, self.proc.stdout.read() if self.proc.poll() is not None else b""))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _rewire(self):
        _ip("link", "del", VETH_BR, check=False)
        # The tap's kernel end has the node's MAC, and the bridge took the lowest MAC
        # of its ports, possibly that one: the bridge's port wcimp0 takes the tap's MAC
        # (so the bridge, the client, keeps its MAC and the node's neighbour entry stays
        # right), and the tap, out of the bridge, gets a MAC of its own (or the kernel,
        # weak host model, would take the node's frames for the client straight from
        # it, around the forwarder).
        self.tap_mac = _mac(self.tap)
        _ip("link", "add", VETH_BR, "address", self.tap_mac, "type", "veth", "peer", "name",
            VETH_FWD)
        self.tap_ipv6 = _sysctl("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % self.tap)
        for dev in (VETH_BR, VETH_FWD, self.tap):
            _sysctl("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % dev, "1")
            _no_offloads(dev)
        _ip("link", "set", VETH_FWD, "arp", "off", "promisc", "on", "up")
        _ip("link", "set", VETH_BR, "master", self.bridge, "up")
        _ip("link", "set", self.tap, "nomaster")
        _ip("link", "set", self.tap, "arp", "off", "promisc", "on", "address", "02:77:63:69:6d:70")

    def __exit__(self, *exc):
        try:
            self._stop()
        finally:
            # the tap back first, then the veth away: the bridge keeps its MAC throughout
            if self.tap_mac:
                _ip("link", "set", self.tap, "address", self.tap_mac, check=False)
            _ip("link", "set", self.tap, "promisc", "off", "arp", "on", check=False)
            _ip("link", "set", self.tap, "master", self.bridge, check=False)
            _ip("link", "set", self.tap, "up", check=False)
            _ip("link", "del", VETH_BR, check=False)
            if self.tap_ipv6 is not None:
                _sysctl("/proc/sys/net/ipv6/conf/%s/disable_ipv6" % self.tap, self.tap_ipv6)
        return False

    def _stop(self):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        try:
            out, _ = proc.communicate(timeout=10)     # closes its stdin: it stops
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate(timeout=5)
        for line in out.decode(errors="replace").splitlines():
            if line.startswith("{"):
                self.stats = json.loads(line)


if __name__ == "__main__":
    sys.exit(main())
