"""rawpkt.py - raw Ethernet frames on the client bridge (AF_PACKET), for what
ordinary sockets cannot do: send a UDP request from an address no host owns
(so nobody answers the node's ARP), send a datagram with a bad checksum,
watch the ARP requests the node sends, and play a TCP peer no kernel stands
behind (a SYN that is never completed).
"""
import socket
import struct
import time

ETH_P_ALL = 0x0003
ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def mac_str(b):
    return ":".join("%02x" % x for x in b)


def if_mac(ifname):
    """The MAC of ifname in this process's network namespace (sysfs may show another's)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    try:
        s.bind((ifname, ETH_P_ARP))
        return mac_str(s.getsockname()[4])
    finally:
        s.close()


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, payload, bad_udp_csum=False,
              no_udp_csum=False):
    """An Ethernet/IPv4/UDP frame (checksums correct unless bad_udp_csum; no UDP
    checksum at all, which IPv4 allows, with no_udp_csum)."""
    sip, dip = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    ulen = 8 + len(payload)
    pseudo = sip + dip + struct.pack("!BBH", 0, 17, ulen)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    c = _csum(pseudo + udp) or 0xFFFF
    if bad_udp_csum:
        c = c ^ 0x5A5A or 1
    if no_udp_csum:
        c = 0
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0x1234, 0, 64, 17, 0, sip, dip)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", ETH_P_IP) + ip + udp


TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp_frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, seq, ack=0, flags=TCP_SYN,
              window=65535, options=b"", payload=b""):
    """An Ethernet/IPv4/TCP frame, checksums correct (options padded to 32 bits)."""
    sip, dip = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    options += b"\0" * (-len(options) % 4)
    doff = (20 + len(options)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      doff << 4, flags, window, 0, 0) + options + payload
    pseudo = sip + dip + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", _csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0x4321, 0, 64, 6, 0, sip, dip)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", ETH_P_IP) + ip + tcp


def tcp_of(frame):
    """(src ip, dst ip, sport, dport, seq, ack, flags) of an IPv4 TCP frame, else None."""
    if len(frame) < 54 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IP or frame[23] != 6:
        return None
    ihl = (frame[14] & 0x0F) * 4
    t = frame[14 + ihl:]
    if len(t) < 20:
        return None
    sport, dport, seq, ack, _, flags = struct.unpack("!HHIIBB", t[:14])
    return (socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34]), sport, dport, seq,
            ack, flags)


def arp_reply(src_mac, src_ip, dst_mac, dst_ip):
    """An ARP reply: src_ip is at src_mac (to dst_ip at dst_mac)."""
    return (mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", ETH_P_ARP) +
            struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, 2) + mac_bytes(src_mac) +
            socket.inet_aton(src_ip) + mac_bytes(dst_mac) + socket.inet_aton(dst_ip))


class Wire:
    """A packet socket on one interface: send frames, sniff what crosses it."""

    def __init__(self, ifname, proto=ETH_P_ALL):
        self.ifname = ifname
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
        self.sock.bind((ifname, proto))

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, frame):
        self.sock.send(frame)

    def frames(self, timeout, stop=None):
        """Frames seen within timeout seconds (until stop(frame) is true)."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < 100000:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                f = self.sock.recv(65535)
            except socket.timeout:
                break
            got.append(f)
            if stop and stop(f):
                break
        return got


def arp_request_for(frame, target_ip):
    """(sender MAC, sender IP) when frame is an ARP request asking for target_ip, else None."""
    if len(frame) < 42 or struct.unpack("!H", frame[12:14])[0] != ETH_P_ARP:
        return None
    op = struct.unpack("!H", frame[20:22])[0]
    if op != 1 or frame[38:42] != socket.inet_aton(target_ip):
        return None
    return mac_str(frame[22:28]), socket.inet_ntoa(frame[28:32])


def arp_request(src_mac, src_ip, target_ip):
    """A broadcast ARP request: who has target_ip, tell src_ip."""
    return (b"\xff" * 6 + mac_bytes(src_mac) + struct.pack("!H", ETH_P_ARP) +
            struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, 1) + mac_bytes(src_mac) +
            socket.inet_aton(src_ip) + b"\0" * 6 + socket.inet_aton(target_ip))


def arp_reply_from(frame, sender_ip):
    """The sender MAC when frame is an ARP reply from sender_ip, else None."""
    if len(frame) < 42 or struct.unpack("!H", frame[12:14])[0] != ETH_P_ARP:
        return None
    if struct.unpack("!H", frame[20:22])[0] != 2 or frame[28:32] != socket.inet_aton(sender_ip):
        return None
    return mac_str(frame[22:28])
