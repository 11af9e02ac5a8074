"""cp.py - helpers for the control-plane suites (dts/test_cp_*.py).

- the "cp" testbed layout (one node, two worker lcores, two partitions per
  lcore: slots can move between partitions on either lcore), registered in
  lib.testbed.CONFIGS when this module is imported;
- Http: requests to a wirecache-cp (the testbed starts one per node on the
  host, at 127.0.0.1:(8179+i) of the host's loopback; the suites live in
  namespace "wc", so connections are made from the root namespace);
- Mc: a small pipelined memcached-over-TCP client for bulk loads and checks;
- ctl(): run build/rel/wirecachectl; spawn_cp(): an extra wirecache-cp with
  options of the test's choosing, on the same dataplane; connect(): a raw
  socket to a control plane; all of them in the root namespace.
"""
import http.client
import json
import os
import re
import socket
import subprocess
import time

from . import testbed as tbmod
from .testbed import in_root_ns

ROOT = tbmod.ROOT
CTL = os.path.join(ROOT, "build", "rel", "wirecachectl")
CP = os.path.join(ROOT, "build", "rel", "wirecache-cp")
ARTIFACTS = os.path.join(ROOT, "build", "dts-artifacts")

if "cp" not in tbmod.CONFIGS:
    # slot moves want several partitions on more than one lcore
    tbmod.CONFIGS["cp"] = tbmod.Config("cp", workers=2, memory="32M",
                                       args=tbmod.TRUSTED + ("--partitions-per-lcore", "2",
                                                             "--max-value", "1m"))
    tbmod.ORDER.append("cp")


def cp_port(i=1):
    return 8179 + i


def node_socket(i=1):
    return os.path.join(tbmod.STATE, "node%d.sock" % i)


def connect(port, host="127.0.0.1", timeout=5.0):
    """A TCP connection to a control plane on the host's loopback."""
    with in_root_ns():
        return socket.create_connection((host, port), timeout=timeout)


class Http:
    """Requests to one wirecache-cp."""

    def __init__(self, port, host="127.0.0.1", timeout=30.0):
        self.host, self.port, self.timeout = host, port, timeout

    def request(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            with in_root_ns():
                c.connect()
            data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
            hdrs = dict(headers or {})
            if data is not None:
                hdrs.setdefault("Content-Type", "application/json")
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def json(self, path, method="GET", body=None, headers=None, status=200):
        st, _, data = self.request(method, path, body, headers)
        assert st == status, "%s %s: HTTP %d (wanted %d): %r" % (method, path, st, status,
                                                                 data[:300])
        return json.loads(data)

    def text(self, path):
        st, hdrs, data = self.request("GET", path)
        assert st == 200, "GET %s: HTTP %d" % (path, st)
        return hdrs, data.decode()

    def wait(self, pred, what, timeout=15.0, path="/api/stats"):
        """Poll path until pred(json) holds; returns the last document."""
        deadline = time.monotonic() + timeout
        doc = None
        while time.monotonic() < deadline:
            try:
                doc = self.json(path)
                if pred(doc):
                    return doc
            except (OSError, AssertionError, ValueError):
                pass
            time.sleep(0.1)
        raise AssertionError("timed out waiting for %s; last %s: %s" %
                             (what, path, json.dumps(doc)[:1500] if doc else None))


def parse_prometheus(text):
    """{(name, frozenset(labels)): value}, checking the exposition format on the way."""
    samples, types = {}, {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert name not in types, "TYPE of %s given twice" % name
            assert kind in ("counter", "gauge", "summary", "histogram"), line
            if kind == "counter":
                assert name.endswith("_total"), "counter %s does not end in _total" % name
            types[name] = kind
            continue
        assert not line.startswith("#"), "stray comment: %r" % line
        m = line_re.match(line)
        assert m, "not a sample line: %r" % line
        name, labels = m.group(1), frozenset(label_re.findall(m.group(3) or ""))
        base = re.sub(r"_(sum|count)$", "", name)
        assert name in types or (base in types and types[base] == "summary"), \
            "sample %s before its TYPE" % name
        samples[(name, labels)] = float(m.group(4))
    return samples, types


class Mc:
    """memcached over TCP, pipelined where it helps."""

    def __init__(self, host, port=11211, timeout=20.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("connection closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _bytes(self, n):
        while len(self.buf) < n + 2:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("connection closed")
            self.buf += d
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self._line()

    def set(self, key, value, flags=0, exptime=0):
        v = value if isinstance(value, bytes) else value.encode()
        self.sock.sendall(b"set %s %d %d %d\r\n%s\r\n" % (key.encode(), flags, exptime, len(v), v))
        return self._line()

    def set_many(self, items, chunk=200):
        items = list(items)
        for i in range(0, len(items), chunk):
            part = items[i:i + chunk]
            out = []
            for k, v in part:
                v = v if isinstance(v, bytes) else v.encode()
                out.append(b"set %s 0 0 %d\r\n%s\r\n" % (k.encode(), len(v), v))
            self.sock.sendall(b"".join(out))
            for k, _ in part:
                r = self._line()
                assert r == b"STORED", "set %s: %r" % (k, r)

    def get_many(self, keys, chunk=100):
        found = {}
        keys = list(keys)
        for i in range(0, len(keys), chunk):
            self.sock.sendall(b"get " + " ".join(keys[i:i + chunk]).encode() + b"\r\n")
            while True:
                line = self._line()
                if line == b"END":
                    break
                parts = line.split()
                assert parts[0] == b"VALUE", line
                found[parts[1].decode()] = self._bytes(int(parts[3]))
        return found

    def get(self, key):
        return self.get_many([key]).get(key)

    def delete(self, key):
        return self.cmd("delete " + key)

    def stats(self):
        self.sock.sendall(b"stats\r\n")
        out = {}
        while True:
            line = self._line()
            if line == b"END":
                return out
            _, name, value = line.decode().split(" ", 2)
            out[name] = value


def ctl(*args, timeout=60, env=None):
    """Run wirecachectl; returns (exit status, stdout, stderr)."""
    with in_root_ns():
        r = subprocess.run([CTL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, env=env, check=False)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


CLUSTER_NAME = "wirecache"    # the testbed's --cluster-name


def etcd_endpoints():
    """The testbed's etcd client URLs, comma separated (written by `testbed up`)."""
    with open(os.path.join(tbmod.STATE, "etcd.endpoints")) as f:
        return f.read().strip()


def cluster_ctl(*args):
    """wirecachectl cluster ARGS against the testbed's etcd and cluster."""
    return ctl("--timeout", "5", "cluster", *args, "--etcd", etcd_endpoints(),
               "--cluster-name", CLUSTER_NAME)


def spawn_cp(port, *opts, socket_path=None, log=None):
    """Another wirecache-cp on the node's dataplane, on the host like the testbed's (the
    caller stops it)."""
    out = open(log, "w") if log else subprocess.DEVNULL
    with in_root_ns():
        p = subprocess.Popen([CP, "--socket", socket_path or node_socket(1), "--listen",
                              "127.0.0.1:%d" % port, *opts], stdout=out,
                             stderr=subprocess.STDOUT)
    h = Http(port)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if h.json("/api/status").get("attached"):
                return p, h
        except (OSError, AssertionError, ValueError):
            pass
        if p.poll() is not None:
            raise AssertionError("wirecache-cp exited: %s" % (open(log).read() if log else p.returncode))
        time.sleep(0.1)
    p.kill()
    raise AssertionError("wirecache-cp on :%d did not attach" % port)


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
