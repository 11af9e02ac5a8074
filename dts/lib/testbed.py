"""testbed.py - drive tools/testbed from the suites, and live in its namespace.

The suites run as root in the root network namespace and talk to the nodes
from inside namespace "wc" (the clients' side, bridge wcbr = 198.18.0.1/24).
Rather than wrapping every client in `ip netns exec`, the test process itself
moves into the namespace with setns(2): sockets opened (and programs started)
after that live there. tools/testbed must run from the root namespace, so the
process steps back out (through an fd to its original namespace kept from
the start) around every testbed command, and steps in again after `up`,
which creates a new "wc" each time. The control planes run on the host (their
HTTP side is on the host's loopback): in_root_ns() steps the calling thread
out of "wc" for what talks to them (sockets keep the namespace they were
made in, programs inherit it).

A Config names one testbed layout (nodes, workers, memory, extra
wirecache-dp options). Testbed.ensure(config) brings that layout up unless
it is already running, so consecutive tests with the same layout share one
testbed; Testbed.down() removes everything `up` made.
"""
import contextlib
import ctypes
import ctypes.util
import dataclasses
import importlib.util
import os
import re
import socket
import subprocess
import time

from . import mctcp, mcudp

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# $WC_TESTBED: another tools/testbed (e.g. of a snapshot tree, with its own build)
TESTBED = os.environ.get("WC_TESTBED", os.path.join(ROOT, "tools", "testbed"))
STATE = os.environ.get("WC_TESTBED_STATE", "/run/wirecache-testbed")
NS = "wc"
NET = "198.18.0"
CLIENT_IP = NET + ".1"
PORT = 11211
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns(CLONE_NEWNET): %s" % os.strerror(err))


# the namespace this process started in (conftest imports this module before any setns)
_ROOT_NS_FD = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)


@contextlib.contextmanager
def in_root_ns():
    """Run the with-block in the root network namespace; setns(2) moves only the
    calling thread, so other threads stay where they are."""
    here = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(_ROOT_NS_FD)
        try:
            yield
        finally:
            _setns(here)
    finally:
        os.close(here)


class NetNs:
    """Move this (single-threaded) process between the root namespace and a named one."""

    def __init__(self):
        self.root_fd = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self.inside = None

    def enter(self, name):
        fd = os.open("/var/run/netns/%s" % name, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(fd)
        finally:
            os.close(fd)
        self.inside = name

    def leave(self):
        _setns(self.root_fd)
        self.inside = None

    def close(self):
        if self.inside:
            self.leave()
        os.close(self.root_fd)


@dataclasses.dataclass(frozen=True)
class Config:
    name: str
    nodes: int = 1
    workers: int = 1
    memory: str = "64M"
    args: tuple = ()
    up_opts: tuple = ()     # tools/testbed up's own options (--standalone, --etcd 3)

    def up_args(self):
        return ["--nodes", str(self.nodes), "--workers", str(self.workers),
                "--memory", self.memory, *self.up_opts, "--", *self.args]


TRUSTED = ("--udp-trusted", NET + ".0/24")
CONFIGS = {
    # the client subnet is trusted (no amplification bound), values up to 1 MiB
    "default": Config("default", args=TRUSTED + ("--max-value", "1m")),
    # nobody trusted: every reply is bound to 10x its request; values up to 4 KiB
    "strict": Config("strict", args=("--udp-amplification", "10", "--max-value", "4k")),
    # only the upper half of the client subnet may use UDP: 198.18.0.1 is refused
    "refused": Config("refused", args=("--udp-allow", NET + ".128/25") + TRUSTED),
    # three independent nodes (--standalone: no cluster) of two workers each (writes
    # cross lcores through the mailbox)
    "multi": Config("multi", nodes=3, workers=2, args=TRUSTED + ("--max-value", "1m"),
                    up_opts=("--standalone",)),
    # two independent nodes of one worker (MIGRATE from one to the other: net_tap spreads
    # a flow over queues by the kernel's hash, so only one queue is sure to get the
    # replies to a connection a node opens itself)
    "pair": Config("pair", nodes=2, args=TRUSTED + ("--max-value", "1m"),
                   up_opts=("--standalone",)),
    # memcached over TCP: room for 10,000 connections and more, values up to 1 MiB
    "tcp": Config("tcp", args=TRUSTED + ("--max-value", "1m", "--max-connections", "12000")),
    # TCP with a 3 s idle timeout: half-open, idle and zero-window peers go soon
    "tcp-short": Config("tcp-short", args=("--max-value", "1m", "--idle-timeout", "3")),
    # TCP with room for 4 connections: the 5th is refused
    "tcp-limit": Config("tcp-limit", args=("--max-connections", "4")),
    # slow uploads: 256 MiB with a 32 MiB stage pool (stated: the default is 8 MiB there),
    # values up to 1 MiB, a 10 s request timeout
    "uploads": Config("uploads", memory="256M", args=TRUSTED + ("--max-value", "1m",
                                                                "--upload-buffer", "32M",
                                                                "--request-timeout", "10")),
    # Redis (test_redis_*.py): two workers, so writes cross lcores through the mailbox;
    # values up to 1 MiB; a stalled upload is reset after 3 s (--request-timeout); a 32 MiB
    # stage pool (stated: the default is 8 MiB at 256 MiB)
    "redis": Config("redis", workers=2, memory="256M",
                    args=TRUSTED + ("--max-value", "1m", "--upload-buffer", "32M",
                                    "--request-timeout", "3")),
    # Redis with a password for the default user (AUTH, ACL); memcached over TCP is then
    # served only to --mc-allow sources: the clients' subnet (the health check uses it)
    "redis-auth": Config("redis-auth", args=TRUSTED + ("--requirepass", "wc-secret",
                                                       "--mc-allow", NET + ".0/24")),
    # replication, master side (test_repl_master.py): two workers, a password (the real
    # Redis replica uses masterauth; memcached over TCP for the clients' subnet), 64 MiB so
    # a bulk load evicts, an 8 MiB backlog (4 MiB per partition: what the testbed's EAL
    # memory holds beside --memory)
    "repl": Config("repl", workers=2, memory="64M",
                   args=TRUSTED + ("--max-value", "1m", "--requirepass", "wc-secret",
                                   "--mc-allow", NET + ".0/24", "--repl-backlog-size", "8M")),
    # each node keeps its data across restarts (up --data-dir: an RDB snapshot saved at
    # down, loaded at up; test_snapshot_restart.py), two workers
    "persist": Config("persist", workers=2, memory="256M",
                      args=TRUSTED + ("--max-value", "1m"),
                      up_opts=("--data-dir", "/tmp/wirecache-dts-persist")),
    # Redis Cluster mode, two workers: the node owns all 16384 slots (CROSSSLOT, CLUSTER
    # commands); its node id kept outside the testbed's state (it must survive restarts)
    "redis-cluster": Config("redis-cluster", workers=2, args=TRUSTED + (
        "--cluster", "--state-dir", "/tmp/wirecache-dts-redis-cluster")),
    # three nodes forming one cluster through etcd (one member): tools/testbed up creates
    # the map and waits until every dataplane runs it (test_cluster_form.py)
    "cluster": Config("cluster", nodes=3, args=TRUSTED + ("--max-value", "1m")),
    # the same with three etcd members (--etcd 3): one member may die, the cluster
    # carries on (test_cluster_ops.py)
    "cluster-etcd3": Config("cluster-etcd3", nodes=3, args=TRUSTED + ("--max-value", "1m"),
                            up_opts=("--etcd", "3")),
    # the same as "cluster", for the suite that adds a fourth node and removes one
    # (test_cluster_reshard.py): a cluster of its own, not reused after it; 32 MiB, as
    # listing a slot's keys walks its partition's whole index (no per-slot index yet)
    "cluster-reshard": Config("cluster-reshard", nodes=3, memory="32M",
                              args=TRUSTED + ("--max-value", "1m")),
    # six nodes: three masters, each with one replica (--replicas 1), through etcd
    # (test_failover.py: replicas, failover, fencing)
    # with the seed's password on every node (replicas AUTH to their masters with it;
    # memcached is then served to the clients' subnet only); replicas serve memcached
    # reads of their masters' keys themselves (--mc-read-replicas)
    "cluster-replicas": Config("cluster-replicas", nodes=6, args=TRUSTED + (
        "--max-value", "1m", "--requirepass", "password", "--masterauth", "password",
        "--mc-allow", NET + ".0/24", "--mc-read-replicas"), up_opts=("--replicas", "1")),
}
ORDER = list(CONFIGS)


def node_ip(i):
    return "%s.%d" % (NET, 10 + i)


def node_answers(i, timeout=3.0):
    """Whether node i answers ping and a memcached `version` over TCP, each tried until
    timeout (from the namespace the calling thread is in): (ping ok, tcp ok, what tcp got)."""
    ip = node_ip(i)
    deadline = time.monotonic() + timeout
    ping = False
    while not ping and time.monotonic() < deadline:
        ping = subprocess.run(["ping", "-c", "1", "-W", "1", ip], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=5, check=False).returncode == 0
    tcp, got = False, ""
    deadline = max(deadline, time.monotonic() + 1.0)
    while not tcp and time.monotonic() < deadline:
        try:
            with socket.create_connection((ip, PORT), timeout=1.0) as s:
                s.sendall(b"version\r\n")
                data = b""
                while not data.endswith(b"\r\n"):
                    d = s.recv(256)
                    if not d:
                        break
                    data += d
            tcp, got = data.startswith(b"VERSION "), data.decode(errors="replace").strip()
        except OSError as e:
            got = "%s: %s" % (type(e).__name__, e)
            time.sleep(0.1)
    return ping, tcp, got


def _load_wcstat():
    spec = importlib.util.spec_from_file_location("wcstat", os.path.join(ROOT, "tools",
                                                                         "wcstat.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class TestbedError(RuntimeError):
    pass


class Testbed:
    """The running testbed (at most one at a time) and the clients opened against it."""

    def __init__(self):
        self.ns = NetNs()
        self.config = None
        self.macs = {}
        self.clients = []
        self.wcstat = _load_wcstat()

    # ---- tools/testbed ----

    def _run(self, *args, timeout=120):
        was = self.ns.inside
        if was:
            self.ns.leave()
        try:
            r = subprocess.run([TESTBED, *args], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout, check=False)
        finally:
            if was and args[0] != "down" and os.path.exists("/var/run/netns/" + was):
                self.ns.enter(was)
        return r.returncode, r.stdout.decode(errors="replace")

    def up(self, config):
        if self.config is not None or os.path.exists(STATE) or \
                os.path.exists("/var/run/netns/" + NS):
            self.down()
        for attempt in range(2):
            rc, out = self._run("up", *config.up_args())
            if rc == 0:
                break
            # hugepages of nodes that just exited can take a moment to come back
            # (EAL: "Not enough memory available"); one more try, after a pause
            if attempt == 0 and "memory" in out.lower():
                time.sleep(1)
                continue
            self._run("down")
            raise TestbedError("tools/testbed up %s failed (%d):\n%s" %
                               (" ".join(config.up_args()), rc, out))
        self.ns.enter(NS)
        self.config = config
        self.macs = {i: self._log_mac(i) for i in range(1, config.nodes + 1)}

    def down(self):
        self.close_clients()
        if self.ns.inside:
            self.ns.leave()
        pids = self._pids()
        self.config = None
        rc, out = self._run("down")
        self._wait_gone(pids)
        if rc != 0:
            raise TestbedError("tools/testbed down failed (%d):\n%s" % (rc, out))

    def _pids(self):
        return [p for p in (self.pid(i) for i in range(1, 9)) if p]

    @staticmethod
    def _wait_gone(pids, timeout=5.0):
        """Wait (bounded) until the node processes have really exited."""
        deadline = time.monotonic() + timeout
        while pids and time.monotonic() < deadline:
            pids = [p for p in pids if os.path.exists("/proc/%d" % p)]
            if pids:
                time.sleep(0.05)

    def command(self, *args, timeout=120):
        """Run `tools/testbed ARGS...` (kill N, start N, isolate N, heal N, etcd kill K,
        etcd start K, watch --once, ...) from the root namespace: (exit status, output).
        A node started again gets a new MAC (read from its new log)."""
        rc, out = self._run(*args, timeout=timeout)
        if args and args[0] == "start" and rc == 0 and self.config is not None:
            self.macs[int(args[1])] = self._log_mac(int(args[1]))
        return rc, out

    def ensure(self, config):
        if self.config == config and not self.dead_nodes():
            return
        self.up(config)

    def close(self):
        """Tear down and give the namespace fd back; safe to call more than once."""
        if self.ns is None:
            return
        try:
            if self.config is not None or os.path.exists("/var/run/netns/" + NS):
                self.down()
        finally:
            self.ns.close()
            self.ns = None

    # ---- nodes ----

    def pid(self, i):
        try:
            with open(os.path.join(STATE, "node%d.pid" % i)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def dead_nodes(self):
        dead = []
        for i in range(1, (self.config.nodes if self.config else 0) + 1):
            pid = self.pid(i)
            try:
                if pid is None:
                    raise ProcessLookupError
                os.kill(pid, 0)
                with open("/proc/%d/stat" % pid) as f:
                    if f.read().split(") ", 1)[1].startswith("Z"):
                        raise ProcessLookupError
            except (ProcessLookupError, OSError):
                dead.append(i)
        return dead

    def log(self, i):
        try:
            with open(os.path.join(STATE, "node%d.log" % i), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _log_mac(self, i):
        m = re.search(r"port 0 \S+ mac ([0-9a-f:]{17})", self.log(i))
        if not m:
            raise TestbedError("no 'mac' line in node %d's log:\n%s" % (i, self.log(i)))
        return m.group(1)

    def telemetry(self, i=1):
        """The node's /wirecache/stats counters over DPDK telemetry (tools/wcstat.py)."""
        return self.wcstat.query(i)

    def wait_telemetry(self, i, name, at_least, timeout=3.0):
        """Poll counter name of node i until it reaches at_least; return its last value."""
        deadline = time.monotonic() + timeout
        v = None
        while time.monotonic() < deadline:
            v = self.telemetry(i)[name]
            if v >= at_least:
                return v
            time.sleep(0.02)
        return v

    def settled_connections(self, i=1, timeout=3.0):
        """Node i's curr_connections once connections being closed have drained: the value
        once it held still for 0.3 s (bounded by timeout)."""
        deadline = time.monotonic() + timeout
        last, since = self.telemetry(i)["curr_connections"], time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            cur = self.telemetry(i)["curr_connections"]
            if cur != last:
                last, since = cur, time.monotonic()
            elif time.monotonic() - since >= 0.3:
                break
        return last

    # ---- clients ----

    def client(self, i=1, source=None, timeout=2.0):
        c = mcudp.McUdp(node_ip(i), PORT, source=source, timeout=timeout)
        self.clients.append(c)
        return c

    def tcp(self, i=1, timeout=10.0, **kw):
        """A memcached-over-TCP connection to node i (closed after the test)."""
        c = mctcp.McTcp(node_ip(i), PORT, timeout=timeout, **kw)
        self.clients.append(c)
        return c

    def track(self, closable):
        """Close closable (a client, a socket) with the test's other clients."""
        self.clients.append(closable)
        return closable

    def tcp_stats(self, i=1):
        """Node i's `stats` over TCP (a connection of its own, which curr_connections counts)."""
        return mctcp.stats(node_ip(i), PORT)

    def restart_next(self):
        """The running layout is not to be trusted (a wedged node): bring it up afresh for the
        next test that needs it."""
        self.config = None

    def unanswered(self, timeout=3.0):
        """The running layout's nodes that do not answer ping and a memcached request over
        TCP: [(node, ping ok, what TCP got)]."""
        bad = []
        for i in range(1, (self.config.nodes if self.config else 0) + 1):
            ping, tcp, got = node_answers(i, timeout)
            if not (ping and tcp):
                bad.append((i, ping, got))
        return bad

    def close_clients(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:  # noqa: BLE001 - a client that cannot close is closed enough
                pass
        self.clients = []
