#!/usr/bin/env python3
"""Regenerate tests/unit/rdbval_fixtures.h: DUMP payloads from a real
redis-server 7.0 (started here on a unix socket only, stopped after).
Usage: tests/unit/rdbval_fixtures_gen.py > tests/unit/rdbval_fixtures.h"""
import os, socket, subprocess, sys, tempfile, time

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
    return line

def main():
    d = tempfile.mkdtemp()
    path = os.path.join(d, "r.sock")
    srv = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", path,
                            "--save", "", "--appendonly", "no", "--dir", d],
                           stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(path):
                break
            time.sleep(0.05)
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        version = cmd(s, "INFO", "server").split(b"redis_version:")[1].split(b"\r\n")[0]
        # the stock thresholds (a distribution may ship others)
        cmd(s, "CONFIG", "SET", "hash-max-listpack-entries", "128")
        cmd(s, "CONFIG", "SET", "hash-max-listpack-value", "64")
        cmd(s, "CONFIG", "SET", "set-max-intset-entries", "512")
        fx = []
        def dump(name, key, note):
            fx.append((name, cmd(s, "DUMP", key), note))
        cmd(s, "SET", "s_short", "hello world")
        dump("str_short", "s_short", "raw string")
        cmd(s, "SET", "s_int", "12345")
        dump("str_int", "s_int", "RDB_ENC_INT16")
        cmd(s, "SET", "s_neg", "-100000")
        dump("str_neg", "s_neg", "RDB_ENC_INT32")
        cmd(s, "SET", "s_big", "1099511627776")
        dump("str_bigint", "s_big", "an int64 beyond int32: decimal text")
        cmd(s, "SET", "s_lzf", "wirecache " * 30)
        dump("str_lzf", "s_lzf", "LZF-compressed (300 bytes)")
        cmd(s, "HSET", "h_lp", "name", "wirecache", "port", "6379", "neg", "-5",
            "big", "123456789012")
        dump("hash_lp", "h_lp", "listpack hash, ints and strings")
        cmd(s, "HSET", "h_lpz", *sum([["field%d" % i, "value-value-value-%d" % i]
                                      for i in range(20)], []))
        dump("hash_lp_lzf", "h_lpz", "listpack hash, the listpack LZF-compressed")
        cmd(s, "HSET", "h_ht", *sum([["f%03d" % i, "v%d" % (i * 7)] for i in range(200)], []))
        dump("hash_ht", "h_ht", "hashtable hash, 200 fields f000..f199 = v<7i>")
        cmd(s, "SADD", "s_is", "1", "2", "3", "-5", "70000", "-2147483649")
        dump("set_intset", "s_is", "intset (64-bit)")
        cmd(s, "SADD", "s_is16", "10", "20", "30")
        dump("set_intset16", "s_is16", "intset (16-bit)")
        cmd(s, "SADD", "s_ht", "alpha", "beta", "gamma", "42")
        dump("set_ht", "s_ht", "hashtable set (7.0 has no listpack sets)")
        print("/* DUMP payloads from redis-server %s (rdbval_fixtures_gen.py). */"
              % version.decode())
        for name, payload, note in fx:
            print("/* %s */" % note)
            print("static const unsigned char fx_%s[] = {" % name)
            for i in range(0, len(payload), 12):
                print("\t" + ", ".join("0x%02x" % b for b in payload[i:i + 12]) + ",")
            print("};")
    finally:
        srv.terminate()
        srv.wait()

main()
