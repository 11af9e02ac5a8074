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
# `ethtool -k` prints these legacy names for features -K knows by another name; the
# aggregates it prints with their parts below them (tx-checksumming...) are not features
FEATURE_OF = {"rx-checksumming": "rx-checksum", "generic-segmentation-offload":
              "tx-generic-segmentation", "generic-receive-offload": "rx-gro",
              "large-receive-offload": "rx-lro", "rx-vlan-offload": "rx-vlan-hw-parse",
              "tx-vlan-offload": "tx-vlan-hw-insert", "ntuple-filters": "rx-ntuple-filter",
              "receive-hashing": "rx-hashing"}
AGGREGATES = ("tx-checksumming", "scatter-gather", "tcp-segmentation-offload")


def _ip(*args, check=True):
    r = subprocess.run(["ip", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=10, check=False)
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), r.stdout.decode(errors="replace")))
    return r.stdout.decode(errors="replace")


def _ethtool(*args):
    try:
        r = subprocess.run(["ethtool", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=10, check=False)
    except FileNotFoundError:
        raise RuntimeError("ethtool is not installed: the forwarder needs the link's offloads "
                           "off (tools/deps.sh installs it; tools/deps.sh --check names what "
                           "is missing)") from None
    if r.returncode != 0:
        raise RuntimeError("ethtool %s: %s" % (" ".join(args), r.stdout.decode(errors="replace")))
    return r.stdout.decode(errors="replace")


def features(dev):
    """{feature: requested state} of dev's changeable offloads (`ethtool -k`); the requested
    state, not the active one, is what -K sets (a tap shows "off [requested on]")."""
    out = {}
    for line in _ethtool("-k", dev).splitlines()[1:]:
        m = re.match(r"\s*([a-z0-9-]+): (on|off)( \[(fixed|requested (on|off))\])?$", line)
        if not m or m.group(4) == "fixed" or m.group(1) in AGGREGATES:
            continue
        out[FEATURE_OF.get(m.group(1), m.group(1))] = m.group(5) or m.group(2)
    return out


def _set_features(dev, want):
    """Set dev's offloads back to want (from features()), only those that differ."""
    now = features(dev)
    args = [x for f, v in sorted(want.items()) if now.get(f) != v for x in (f, v)]
    if args:
        _ethtool("-K", dev, *args)


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


def _ipv6_path(dev):
    return "/proc/sys/net/ipv6/conf/%s/disable_ipv6" % dev


def link_info(dev):
    """`ip -d -j link show dev` as a dict."""
    return json.loads(_ip("-d", "-j", "link", "show", "dev", dev))[0]


class Link:
    """Impair node i's link while the with-block runs (in namespace wc).

    The testbed gives the bridge and each tap's kernel end MACs of their own
    (never the node's), so rewiring changes no MAC: the tap leaves the bridge,
    veth wcimp0 joins it in its place, and the forwarder runs between wcimp1
    and the tap. Setup is the steps in STEPS, in order; each records how to
    undo itself before it acts, so a setup that fails part-way (ethtool
    missing, a command refused, the forwarder not starting) undoes exactly
    what it did, newest first: forwarder stopped, the tap's flags, offloads
    (as `ethtool -k` read them before) and IPv6 sysctl back, the tap back in
    its bridge and up, the veth pair deleted. __exit__ undoes everything.
    """

    STEPS = ("veth", "quiet_ipv6", "offloads_off", "forwarder_side_up", "tap_out",
             "veth_in", "tap_quiet", "forwarder")

    def __init__(self, node=1, bridge="wcbr", **impairments):
        self.tap = "wct%d" % node
        self.bridge = bridge
        self.opts = []
        for k, v in impairments.items():
            self.opts += ["--" + k.replace("_", "-"), str(v)]
        self.proc = None
        self.stats = None
        self.undo = []          # (what, callable), undone newest first
        self.undo_errors = []

    def __enter__(self):
        try:
            for step in self.STEPS:
                getattr(self, "_" + step)()
        except BaseException as e:
            self._undo_all()
            if self.undo_errors:
                raise RuntimeError("impair setup failed (%s: %s), and undoing it failed too: %s"
                                   % (type(e).__name__, e, "; ".join(self.undo_errors))) from e
            raise
        return self

    def __exit__(self, *exc):
        self._undo_all()
        if self.undo_errors and exc[0] is None:
            raise RuntimeError("putting the link back failed: %s" % "; ".join(self.undo_errors))
        return False

    def _undo_all(self):
        while self.undo:
            what, fn = self.undo.pop()
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - go on: undo all that can be undone
                self.undo_errors.append("%s: %s: %s" % (what, type(e).__name__, e))

    # ---- the steps ----

    def _veth(self):
        _ip("link", "del", VETH_BR, check=False)        # a leftover of a killed run
        self.undo.append(("delete the veth pair", lambda: _ip("link", "del", VETH_BR,
                                                              check=False)))
        _ip("link", "add", VETH_BR, "type", "veth", "peer", "name", VETH_FWD)

    def _quiet_ipv6(self):
        old = _sysctl(_ipv6_path(self.tap))
        if old is not None:
            self.undo.append(("the tap's disable_ipv6", lambda: _sysctl(_ipv6_path(self.tap),
                                                                         old)))
        for dev in (VETH_BR, VETH_FWD, self.tap):
            _sysctl(_ipv6_path(dev), "1")

    def _offloads_off(self):
        # segments and checksums must be real on the wire the forwarder reads
        before = features(self.tap)
        self.undo.append(("the tap's offloads", lambda: _set_features(self.tap, before)))
        for dev in (VETH_BR, VETH_FWD, self.tap):
            _ethtool("-K", dev, "tx", "off", "sg", "off", "tso", "off", "gso", "off",
                     "gro", "off")

    def _forwarder_side_up(self):
        _ip("link", "set", VETH_FWD, "arp", "off", "promisc", "on", "up")

    def _tap_out(self):
        master = link_info(self.tap).get("master")

        def back():
            if master:
                _ip("link", "set", self.tap, "master", master)
            _ip("link", "set", self.tap, "up")
        self.undo.append(("the tap back in %s and up" % master, back))
        _ip("link", "set", self.tap, "nomaster")

    def _veth_in(self):
        _ip("link", "set", VETH_BR, "master", self.bridge, "up")

    def _tap_quiet(self):
        # out of the bridge, the tap must not answer the node's ARP for the client
        # (weak host model) or take frames for itself: the forwarder alone reads it
        flags = link_info(self.tap)["flags"]
        arp, promisc = ("off" if "NOARP" in flags else "on"), \
            ("on" if "PROMISC" in flags else "off")
        self.undo.append(("the tap's arp and promisc flags",
                          lambda: _ip("link", "set", self.tap, "arp", arp, "promisc", promisc)))
        _ip("link", "set", self.tap, "arp", "off", "promisc", "on")

    def _forwarder(self):
        self.undo.append(("stop the forwarder", self._stop))
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.abspath(__file__), "--a", VETH_FWD, "--b", self.tap,
             *self.opts], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            raise RuntimeError("the impairment forwarder did not start: %r %r" % (
                line, self.proc.stdout.read() if self.proc.poll() is not None else b""))

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
