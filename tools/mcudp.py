#!/usr/bin/python3
"""mcudp.py HOST COMMAND [DATA] - send one memcached command over UDP and
print the reply (the 8-byte frame header, replies reassembled by sequence).

  mcudp.py 198.18.0.11 'set k 0 0 5' hello    (the data block is added, with
                                              its length filled in if omitted)
  mcudp.py 198.18.0.11 'get k'
"""
import socket
import struct
import sys


def request(host, payload, port=11211, timeout=2.0, req_id=1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(struct.pack(">HHHH", req_id, 0, 1, 0) + payload, (host, port))
    parts, total = {}, None
    while total is None or len(parts) < total:
        data, _ = s.recvfrom(65536)
        rid, seq, tot, _ = struct.unpack(">HHHH", data[:8])
        if rid != req_id:
            continue
        total = tot
        parts[seq] = data[8:]
    return b"".join(parts[i] for i in range(total))


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    line = argv[2].encode()
    payload = line + b"\r\n"
    if len(argv) > 3:
        data = argv[3].encode()
        words = line.split()
        if words[0] in (b"set", b"add", b"replace", b"append", b"prepend") and len(words) == 4:
            line += b" %d" % len(data)
        payload = line + b"\r\n" + data + b"\r\n"
    try:
        sys.stdout.write(request(argv[1], payload).decode(errors="replace"))
    except socket.timeout:
        sys.stderr.write("no reply\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
