"""test_testbed_recovery.py - conftest's check before each module heals a testbed
that an earlier test left broken, and names that test.

A pytest session of its own (a subprocess, bounded) runs on a temporary
directory whose conftest.py is this one's, imported: its first module takes
node 1's tap out of the bridge (the node lives on, unreachable: no dead-node
check sees it) and passes; before the second module the check must find the
node not answering, bring the testbed back, and name the first module's test
in a TestbedRecovered warning and in the terminal summary; the second module
checks that the node answers again and what was recorded. This session's own
testbed is taken down first (one testbed at a time); the inner session leaves
nothing behind.
"""
import os
import subprocess
import tempfile

from lib import testbed as tbmod

DTS = os.path.dirname(os.path.abspath(__file__))

CONFTEST = '''
import importlib.util
import sys

spec = importlib.util.spec_from_file_location("wc_dts_conftest", %r)
mod = importlib.util.module_from_spec(spec)
sys.modules["wc_dts_conftest"] = mod
spec.loader.exec_module(mod)
from wc_dts_conftest import *  # noqa: F401,F403 - its fixtures and hooks, as they are
''' % os.path.join(DTS, "conftest.py")

BREAKS = '''
import subprocess

import pytest

pytestmark = pytest.mark.testbed("default")


def test_takes_the_tap_out_of_the_bridge(tb):
    assert tb.tcp(1).cmd("version").startswith(b"VERSION ")
    subprocess.run(["ip", "link", "set", "wct1", "nomaster"], check=True, timeout=10)
'''

HEALED = '''
import pytest

import wc_dts_conftest as dts
from lib.testbed import node_answers

pytestmark = pytest.mark.testbed("default")


def test_node_answers_again(tb):
    ping, tcp, got = node_answers(1, timeout=5)
    assert ping and tcp, got
    assert len(dts.RECOVERIES) == 1, dts.RECOVERIES
    assert "test_a_breaks.py::test_takes_the_tap_out_of_the_bridge" in dts.RECOVERIES[0]
    assert "node 1 answers ping: False" in dts.RECOVERIES[0]
'''


def test_broken_testbed_is_healed_and_the_culprit_named(testbed_session):
    testbed_session.down()
    with tempfile.TemporaryDirectory(prefix="wc-dts-recovery-") as d:
        for name, text in (("conftest.py", CONFTEST), ("test_a_breaks.py", BREAKS),
                           ("test_b_healed.py", HEALED),
                           ("pytest.ini", "[pytest]\naddopts = -p no:cacheprovider\n")):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        try:
            r = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-rw", d], cwd=d,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240,
                               check=False)
        finally:
            testbed_session.down()      # whatever the inner session left
        out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out
    assert "2 passed" in out, out
    culprit = "test_a_breaks.py::test_takes_the_tap_out_of_the_bridge"
    warning = [ln for ln in out.splitlines() if "TestbedRecovered" in ln]
    assert warning and culprit in warning[0] and "test_b_healed.py" in warning[0], out
    summary = out.split("testbed recoveries", 1)
    assert len(summary) == 2 and culprit in summary[1], out
    assert not os.path.exists("/var/run/netns/" + tbmod.NS)
    assert not os.path.exists(tbmod.STATE)
