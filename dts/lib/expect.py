"""expect.py - compare replies with expectations written like the unit tests'.

In an expected reply, '#' matches one or more digits (CAS uniques, access
times, sizes) and '~N' matches N or N-1 (a TTL read back while the server's
clock may tick a second). Everything else is literal.
"""
import re


def pattern(want):
    out = b""
    i = 0
    while i < len(want):
        c = want[i:i + 1]
        if c == b"#":
            out += rb"\d+"
        elif c == b"~":
            m = re.match(rb"-?\d+", want[i + 1:])
            n = int(m.group(0))
            out += b"(?:%d|%d)" % (n, n - 1)
            i += len(m.group(0))
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out, re.S)


def matches(want, got):
    if isinstance(want, str):
        want = want.encode()
    if b"#" not in want and b"~" not in want:
        return want == got
    return pattern(want).fullmatch(got) is not None


def reply(client, request, want):
    """Send request (a CRLF is added when missing); assert its reply matches want."""
    got = client.cmd(request)
    if isinstance(want, str):
        want = want.encode()
    assert matches(want, got), "for %r\n  wanted %r\n     got %r" % (request, want, got)
    return got
