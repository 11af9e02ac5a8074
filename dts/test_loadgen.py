"""test_loadgen.py - wirecache-loadgen end to end, as `make bench` uses it.

A dataplane with a memif port (no kernel, no namespace needed; adaptive idle,
as tests run it) serves the load generator over memcached UDP and TCP: every run must finish with zero
errors, zero wrong values and zero lost requests, and report sane latencies.
The kernel-socket mode drives Debian's memcached over loopback. Runs are a
second or two each.
"""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DP = os.path.join(ROOT, "build/rel/wirecache-dp")
LG = os.path.join(ROOT, "build/rel/wirecache-loadgen")
SOCK = "/run/wirecache-dts/lg-memif.sock"
CPUS = sorted(os.sched_getaffinity(0))


def lcores():
    return "0@%d,1@%d" % (CPUS[0], CPUS[0])


@pytest.fixture(scope="module")
def dataplane(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root (DPDK)")
    os.makedirs(os.path.dirname(SOCK), exist_ok=True)
    log = tmp_path_factory.mktemp("lg") / "dp.log"
    p = subprocess.Popen([DP, "--lcores", "0@%d,1@%d" % (CPUS[-1], CPUS[-1]), "--no-huge",
                          "-m", "512", "--file-prefix", "wcdts_lgdp", "--no-pci",
                          "--log-level=*:warning",
                          "--vdev", "net_memif0,role=server,socket=%s" % SOCK, "--",
                          "--ip", "198.18.0.11/24", "--memory", "128M",
                          "--udp-trusted", "198.18.0.0/24", "--control-socket", "none"],
                         stdout=open(log, "w"), stderr=subprocess.STDOUT)
    for _ in range(100):
        time.sleep(0.1)
        if "ready" in log.read_text() or p.poll() is not None:
            break
    assert p.poll() is None, log.read_text()
    yield p
    p.send_signal(signal.SIGINT)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
    assert p.returncode in (0, -9), log.read_text()


def loadgen(tmp_path, *args, timeout=60):
    out = tmp_path / "run.json"
    cmd = [LG, "--lcores", lcores(), "--no-huge", "-m", "512", "--file-prefix", "wcdts_lg",
           "--no-pci", "--log-level=*:warning",
           "--vdev", "net_memif0,role=client,socket=%s" % SOCK, "--",
           "--ip", "198.18.0.2/24", "--server", "198.18.0.11", "--quiet",
           "--json", str(out)] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(out.read_text()), r.stdout


def clean(res):
    assert res["errors"] == 0
    assert res["timeouts"] == 0
    assert res["verify_failed"] == 0
    assert res["conn_failed"] == 0
    assert res["measured"] > 0 and res["ops_per_sec"] > 0
    lat = res["latency"]
    assert 0 < lat["p50_us"] <= lat["p90_us"] <= lat["p99_us"] <= lat["p999_us"] <= \
        lat["max_us"] * 1.04 + 1


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_closed_loop_every_value_checked(dataplane, tmp_path, transport):
    res, text = loadgen(tmp_path, "--transport", transport, "--keys", "5000", "--preload",
                        "--mix", "90:10", "--value-size", "16-900", "--verify", "1",
                        "--flows", "8", "--depth", "4", "--duration", "1", "--warmup", "0.3")
    clean(res)
    # preloaded: every GET hits, and every hit's value was compared byte for byte
    assert res["hits"] == res["gets"] > 0
    assert res["verified"] == res["hits"]
    assert "ops/s" in text and "p99" in text


def test_open_loop_holds_the_rate(dataplane, tmp_path):
    res, _ = loadgen(tmp_path, "--transport", "udp", "--keys", "2000", "--preload",
                     "--rate", "20000", "--flows", "4", "--depth", "16", "--duration", "1.5",
                     "--warmup", "0.3")
    clean(res)
    assert 14000 < res["ops_per_sec"] < 26000, res["ops_per_sec"]


def test_etc_preset_and_misses(dataplane, tmp_path):
    # no preload, a fresh key range: misses first, then hits as SETs fill it
    res, _ = loadgen(tmp_path, "--transport", "tcp", "--preset", "etc", "--max-value", "4000",
                     "--keys", "3000", "--mix", "50:50", "--seed", "77", "--flows", "4",
                     "--duration", "1", "--warmup", "0")
    clean(res)
    assert res["hits"] > 0 and res["gets"] > res["hits"]


def test_socket_mode_against_memcached(tmp_path):
    exe = shutil.which("memcached")
    if not exe:
        pytest.skip("memcached not installed")
    port = 22199
    mc = subprocess.Popen([exe, "-u", "nobody", "-l", "127.0.0.1", "-p", str(port), "-U", "0",
                           "-t", "1", "-m", "64"])
    try:
        time.sleep(0.5)
        out = tmp_path / "mc.json"
        r = subprocess.run([LG, "--socket", "127.0.0.1:%d" % port, "--keys", "2000",
                            "--preload", "--flows", "4", "--depth", "4", "--duration", "1",
                            "--warmup", "0.2", "--verify", "1", "--quiet", "--json", str(out)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        res = json.loads(out.read_text())
        clean(res)
        assert res["verified"] == res["hits"] == res["gets"]
    finally:
        mc.terminate()
        mc.wait()


def test_bad_options_fail_clearly():
    for args in (["--socket", "127.0.0.1:1", "--mix", "x"], ["--socket", "nowhere"],
                 ["--socket", "127.0.0.1:1", "--depth", "999"],
                 ["--socket", "127.0.0.1:1", "--value-size", "0"]):
        r = subprocess.run([LG] + args, capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, args
        assert "wirecache-loadgen" in r.stderr
    r = subprocess.run([LG, "--socket", "127.0.0.1:1", "--duration", "1"], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode != 0 and "cannot connect" in r.stderr
