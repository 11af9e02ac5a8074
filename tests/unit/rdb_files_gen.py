#!/usr/bin/env python3
"""Regenerate the RDB files a real redis-server 7.0 writes, which the
loader's unit tests (test_rdb_read.c, test_rdb_load.c) and the fuzz corpus
(tests/fuzz/corpus/fuzz_rdbfile) start from. The server runs here on a unix
socket only (no TCP port), in a temporary directory, and is stopped after.
Usage: tests/unit/rdb_files_gen.py OUTDIR

Files:
  redis70_all.rdb    every encoding of strings, hashes and sets (int, raw,
                     LZF strings; listpack and hashtable hashes; intset and
                     hashtable sets), keys with expiries, and the types the
                     store cannot hold (a list, a listpack zset, a skiplist
                     zset, a stream with a consumer group and a pending
                     entry), a function library (FUNCTION2)
  redis70_nocrc.rdb  a few keys written with rdbchecksum no (CRC 0)
  redis70_db1.rdb    keys in databases 0 and 1
"""
import os, shutil, socket, subprocess, sys, tempfile, time


def cmd(sock, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)
    f = sock.makefile("rb")
    line = f.readline()
    if line[:1] == b"$":
        n = int(line[1:])
        return None if n < 0 else f.read(n + 2)[:-2]
    if line[:1] == b"-":
        raise RuntimeError(line)
    if line[:1] == b"*":
        n = int(line[1:])
        for _ in range(n):
            f.readline()
            f.readline()
    return line


def server(d, *extra):
    path = os.path.join(d, "r.sock")
    srv = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", path,
                            "--save", "", "--appendonly", "no", "--dir", d,
                            "--hash-max-listpack-entries", "128",
                            "--hash-max-listpack-value", "64",
                            "--set-max-intset-entries", "512",
                            "--zset-max-listpack-entries", "128", *extra],
                           stdout=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(path):
            break
        time.sleep(0.05)
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    return srv, s


def save(srv, s, d, out):
    cmd(s, "SAVE")
    shutil.copy(os.path.join(d, "dump.rdb"), out)


def fill_all(s):
    cmd(s, "SET", "int8", "7")
    cmd(s, "SET", "int16", "-3000")
    cmd(s, "SET", "int32", "2000000000")
    cmd(s, "SET", "bigint", "12345678901234")
    cmd(s, "SET", "raw", "hello world")
    cmd(s, "SET", "empty", "")
    cmd(s, "SET", "lzf", "abcdefgh" * 200)
    cmd(s, "SET", "lzfkey-" + "k" * 60, "v")
    cmd(s, "SET", "ttl", "soon", "PX", "100000000")
    cmd(s, "HSET", "h:lp", "f1", "v1", "f2", "22", "f3", "x" * 40)
    args = []
    for i in range(200):
        args += ["field%d" % i, "value%d" % i]
    cmd(s, "HSET", "h:ht", *args)
    cmd(s, "HSET", "h:long", "f", "y" * 100)
    cmd(s, "PEXPIRE", "h:lp", "200000000")
    cmd(s, "SADD", "s:int", "1", "2", "-5", "100000", "70000000000")
    cmd(s, "SADD", "s:ht", "a", "b", "c", "12")
    cmd(s, "SADD", "s:big", *[str(i) for i in range(600)])
    cmd(s, "PEXPIRE", "s:ht", "300000000")
    cmd(s, "RPUSH", "l:1", "a", "b", "c")
    cmd(s, "ZADD", "z:lp", "1", "a", "2.5", "b")
    cmd(s, "ZADD", "z:sl", *sum([[str(i), "m%d" % i] for i in range(200)], []))
    cmd(s, "XADD", "x:1", "1-1", "f", "v")
    cmd(s, "XADD", "x:1", "2-1", "g", "w")
    cmd(s, "XGROUP", "CREATE", "x:1", "grp", "0")
    cmd(s, "XREADGROUP", "GROUP", "grp", "alice", "COUNT", "1", "STREAMS", "x:1", ">")
    cmd(s, "FUNCTION", "LOAD",
        "#!lua name=wclib\nredis.register_function('wcf', function() return 1 end)")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for what in ("all", "nocrc", "db1"):
        d = tempfile.mkdtemp()
        srv = None
        try:
            if what == "all":
                srv, s = server(d)
                fill_all(s)
            elif what == "nocrc":
                srv, s = server(d, "--rdbchecksum", "no")
                cmd(s, "SET", "a", "1")
                cmd(s, "HSET", "b", "f", "v")
                cmd(s, "SADD", "c", "m")
            else:
                srv, s = server(d)
                cmd(s, "SET", "in0", "zero")
                cmd(s, "SELECT", "1")
                cmd(s, "SET", "in1", "one")
            save(srv, s, d, os.path.join(out, "redis70_%s.rdb" % what))
        finally:
            if srv:
                srv.kill()
                srv.wait()
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
