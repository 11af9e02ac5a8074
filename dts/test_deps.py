"""test_deps.py - tools/deps.sh --check, without the testbed: it passes on a
machine `make deps` set up, and for each kind of thing it checks (program,
pkg-config library, header, file, Python module, Node module) a missing one
is named with the Debian package that provides it and the exit status is 1.
Missing things are simulated with a PATH without /usr/sbin and with
$WC_DEPS_EXTRA (table lines naming things that do not exist).
"""
import os
import re
import subprocess
import tempfile

from lib.testbed import ROOT

DEPS = os.path.join(ROOT, "tools", "deps.sh")


def check(env=None, timeout=60):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run(["/bin/bash", DEPS, "--check"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=e, timeout=timeout, check=False)
    return r.returncode, r.stdout.decode(errors="replace")


def table():
    """(kind, name, package) of every line of deps.sh's table."""
    text = open(DEPS).read()
    body = re.search(r'^DEPS="\n(.*?)^"', text, re.S | re.M).group(1)
    return [tuple(line.split()) for line in body.splitlines()
            if line.strip() and not line.startswith("$")]


def test_check_passes_here():
    rc, out = check()
    assert rc == 0, out
    assert "everything wirecache uses is installed" in out


def test_every_package_of_the_table_is_installed():
    rows = table()
    assert ("prog", "ethtool", "ethtool") in rows
    assert all(len(r) == 3 for r in rows), [r for r in rows if len(r) != 3]
    for pkg in sorted({r[2] for r in rows}):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30, check=False)
        assert b"install ok installed" in r.stdout, "%s: %r" % (pkg, r.stdout)


def test_programs_missing_from_path_are_named():
    rc, out = check({"PATH": "/usr/bin:/bin"})     # no /usr/sbin: ethtool, arping, hping3...
    assert rc == 1, out
    for prog, pkg in (("ethtool", "ethtool"), ("arping", "arping"), ("hping3", "hping3")):
        assert "deps: missing program %s (Debian package %s)" % (prog, pkg) in out, out
    assert "apt-get install" in out and "ethtool" in out.splitlines()[-1], out


def test_each_kind_missing_is_named():
    extra = "\n".join([
        "prog   wc-no-such-program   wc-pkg-prog",
        "pc     wc-no-such-lib       wc-pkg-lib",
        "header wc/no-such-header.h  wc-pkg-header",
        "file   /nonexistent/wc-*.a  wc-pkg-file",
        "py     wc_no_such_module    wc-pkg-py",
        "py     json                 python3",      # present: not named
        "prog   sh                   dash",         # present: not named
    ])
    rc, out = check({"WC_DEPS_EXTRA": extra})
    assert rc == 1, out
    for what, pkg in (("program wc-no-such-program", "wc-pkg-prog"),
                      ("C library wc-no-such-lib (pkg-config)", "wc-pkg-lib"),
                      ("C header <wc/no-such-header.h>", "wc-pkg-header"),
                      ("file /nonexistent/wc-*.a", "wc-pkg-file"),
                      ("Python module wc_no_such_module (for /usr/bin/python3)", "wc-pkg-py")):
        assert "deps: missing %s (Debian package %s)\n" % (what, pkg) in out, out
    assert "deps: 5 missing" in out, out
    assert "json" not in out and " sh " not in out, out


def test_node_modules_of_a_package_json():
    with tempfile.TemporaryDirectory(prefix="wc-deps-") as d:
        web = os.path.join(d, "web")
        os.makedirs(os.path.join(web, "node_modules", "present"))
        with open(os.path.join(web, "node_modules", "present", "package.json"), "w") as f:
            f.write("{}")
        with open(os.path.join(web, "package.json"), "w") as f:
            f.write('{"dependencies": {"present": "1", "absent": "2"},'
                    ' "devDependencies": {"absent-dev": "3"}}')
        rc, out = check({"WC_DEPS_ROOT": d})
        assert rc == 1, out
        assert "deps: missing Node module absent (web/package.json)" in out, out
        assert "deps: missing Node module absent-dev (web/package.json)" in out, out
        assert "Node module present" not in out, out
        assert "npm ci --prefix %s" % web in out, out
        # all there: no Node module is named (node and npm themselves may be missing)
        for m in ("absent", "absent-dev"):
            os.makedirs(os.path.join(web, "node_modules", m))
            with open(os.path.join(web, "node_modules", m, "package.json"), "w") as f:
                f.write("{}")
        rc, out = check({"WC_DEPS_ROOT": d})
        assert "Node module" not in out, out


def test_bad_argument_prints_usage():
    r = subprocess.run(["/bin/bash", DEPS, "--bogus"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30, check=False)
    assert r.returncode == 2 and b"--check" in r.stdout, r.stdout
