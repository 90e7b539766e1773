#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Small senders and receivers for the end-to-end tests, run inside a test
namespace with `ip netns exec`. Each prints one JSON line with what it did.

  probe.py udp-send  --src IP --sport P --dst IP --dport P [--count N] [--pps R] [--kind rtp|text|sip-options|sip-invite] [--ua UA]
  probe.py udp-recv  --bind IP --port P[,P...] --seconds S
  probe.py udp-echo  --bind IP --port P[,P...] --seconds S        (count and echo back)
  probe.py rtp-peer  --bind IP --port P --peer IP --peer-port P --count N --pps R --seconds S [--delay S] [--arrivals]
                     (one socket: sends N RTP packets to the peer, counts what arrives;
                      --arrivals also lists the wall-clock time of every packet received)
  probe.py tcp-connect --src IP --dst IP --port P [--timeout S]
  probe.py tcp-listen --bind IP --port P[,P...] --seconds S
  probe.py syslog-listen --path PATH --seconds S --out FILE
  probe.py icmp-send --src IP --dst IP [--type T --code C] [--quote-src IP --quote-sport P
                     --quote-dst IP --quote-dport P] [--count N] [--pps R]
                     (IPv4; an error type quotes the IP and UDP header of
                      QUOTE-SRC:QUOTE-SPORT -> QUOTE-DST:QUOTE-DPORT)
  probe.py icmp-recv --seconds S   (IPv4: ICMP messages that arrive, by source and type)
"""
import argparse
import json
import os
import select
import socket
import struct
import sys
import time


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def rtp_packet(seq, ssrc=0x1234ABCD):
    # RFC 3550 header: V=2, PT=0 (PCMU), sequence, timestamp, SSRC; 160 bytes of payload.
    return struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF, ssrc) + b"\xff" * 160


def sip_request(method, dst, src, sport, ua, n):
    call_id = "probe-%d-%d@%s" % (os.getpid(), n, src)
    host = "[%s]" % dst if ":" in dst else dst
    shost = "[%s]" % src if ":" in src else src
    return ("%s sip:%d@%s SIP/2.0\r\n"
            "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-probe-%d-%d\r\n"
            "From: \"scan\" <sip:100@%s>;tag=probe%d\r\n"
            "To: <sip:%d@%s>\r\n"
            "Call-ID: %s\r\n"
            "CSeq: 1 %s\r\n"
            "Max-Forwards: 70\r\n"
            "Contact: <sip:100@%s:%d>\r\n"
            "User-Agent: %s\r\n"
            "Content-Length: 0\r\n\r\n" % (
                method, 100 + n, host, shost, sport, os.getpid(), n, shost, n, 100 + n, host, call_id,
                method, shost, sport, ua)).encode()


def udp_send(a):
    s = socket.socket(family_of(a.dst), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.src, a.sport))
    interval = 1.0 / a.pps if a.pps > 0 else 0
    sent = 0
    start = time.monotonic()
    for i in range(a.count):
        if a.kind == "rtp":
            data = rtp_packet(i)
        elif a.kind == "sip-options":
            data = sip_request("OPTIONS", a.dst, a.src, a.sport, a.ua, i)
        elif a.kind == "sip-invite":
            data = sip_request("INVITE", a.dst, a.src, a.sport, a.ua, i)
        elif a.kind == "sip-register":
            data = sip_request("REGISTER", a.dst, a.src, a.sport, a.ua, i)
        else:
            data = b"probe %d\n" % i
        try:
            s.sendto(data, (a.dst, a.dport))
            sent += 1
        except OSError:
            pass
        if interval:
            delay = start + (i + 1) * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    print(json.dumps({"sent": sent}))


def ports_of(text):
    return [int(x) for x in str(text).split(",") if x]


def udp_recv(a, echo=False):
    # One socket per port (--port 5060,69,161); counts by source and port.
    socks = []
    for port in ports_of(a.port):
        s = socket.socket(family_of(a.bind), socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a.bind, port))
        socks.append((s, port))
    got = 0
    sources = {}
    ports = {}
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([s for s, _ in socks], [], [], 0.2)
        for s in ready:
            data, peer = s.recvfrom(65535)
            got += 1
            sources[peer[0]] = sources.get(peer[0], 0) + 1
            port = str(s.getsockname()[1])
            ports[port] = ports.get(port, 0) + 1
            if echo:
                s.sendto(data, peer)
    print(json.dumps({"received": got, "sources": sources, "ports": ports}))


def rtp_peer(a):
    # A media endpoint: one socket, as a phone has, sending RTP to its peer
    # and counting what arrives (by source address) until --seconds pass.
    s = socket.socket(family_of(a.bind), socket.SOCK_DGRAM)
    s.bind((a.bind, a.port))
    s.setblocking(False)
    interval = 1.0 / a.pps if a.pps > 0 else 0
    start = time.monotonic()
    end = start + a.seconds
    sent = got = 0
    sources = {}
    arrivals = []
    first_sent = last_sent = None
    next_send = start + a.delay
    while time.monotonic() < end:
        now = time.monotonic()
        if sent < a.count and now >= next_send:
            try:
                s.sendto(rtp_packet(sent, 0x5000 + a.port), (a.peer, a.peer_port))
            except OSError:
                pass
            last_sent = time.time()
            if first_sent is None:
                first_sent = last_sent
            sent += 1
            next_send += interval
        try:
            while True:
                _, peer = s.recvfrom(65535)
                got += 1
                sources[peer[0]] = sources.get(peer[0], 0) + 1
                if a.arrivals:
                    arrivals.append(round(time.time(), 3))
        except BlockingIOError:
            pass
        time.sleep(0.002)
    out = {"sent": sent, "received": got, "sources": sources, "first_sent": first_sent, "last_sent": last_sent}
    if a.arrivals:
        out["arrivals"] = arrivals
    print(json.dumps(out))


def tcp_connect(a):
    s = socket.socket(family_of(a.dst), socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    s.bind((a.src, 0))
    try:
        s.connect((a.dst, a.port))
        ok = True
    except OSError:
        ok = False
    print(json.dumps({"connected": ok}))
    return 0 if ok else 1


def tcp_listen(a):
    socks = []
    for port in ports_of(a.port):
        s = socket.socket(family_of(a.bind), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a.bind, port))
        s.listen(16)
        socks.append(s)
    got = 0
    sources = {}
    ports = {}
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        ready, _, _ = select.select(socks, [], [], 0.2)
        for s in ready:
            c, peer = s.accept()
            got += 1
            sources[peer[0]] = sources.get(peer[0], 0) + 1
            port = str(s.getsockname()[1])
            ports[port] = ports.get(port, 0) + 1
            c.close()
    print(json.dumps({"accepted": got, "sources": sources, "ports": ports}))


def syslog_listen(a):
    # A stand-in for the system's syslog daemon: a datagram socket at PATH;
    # every datagram becomes one line of OUT.
    try:
        os.unlink(a.path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(a.path)
    os.chmod(a.path, 0o666)
    s.settimeout(0.2)
    end = time.monotonic() + a.seconds
    with open(a.out, "ab", buffering=0) as out:
        while time.monotonic() < end:
            try:
                data = s.recv(65535)
            except socket.timeout:
                continue
            out.write(data.replace(b"\n", b" ") + b"\n")


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def icmp_send(a):
    if a.quote_src:
        # The quoted datagram: an IPv4 header and the first 8 bytes (the UDP header).
        udp = struct.pack("!HHHH", a.quote_sport, a.quote_dport, 8 + 172, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + 172, 0x1234, 0x4000, 63, 17, 0,
                         socket.inet_aton(a.quote_src), socket.inet_aton(a.quote_dst))
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        body = struct.pack("!I", 0) + ip + udp
    else:
        body = struct.pack("!HH", os.getpid() & 0xFFFF, 1) + b"probe" * 8
    msg = struct.pack("!BBH", a.type, a.code, 0) + body
    msg = msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.bind((a.src, 0))
    sent = 0
    start = time.monotonic()
    for i in range(a.count):
        s.sendto(msg, (a.dst, 0))
        sent += 1
        if a.pps > 0:
            delay = start + (i + 1) / a.pps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    print(json.dumps({"sent": sent}))


def icmp_recv(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(0.2)
    got = {}
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        try:
            data, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        ihl = (data[0] & 0x0F) * 4
        if len(data) < ihl + 2:
            continue
        key = "%s type %d" % (addr[0], data[ihl])
        got[key] = got.get(key, 0) + 1
    print(json.dumps({"received": got}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    x = sub.add_parser("udp-send")
    x.add_argument("--src", required=True)
    x.add_argument("--sport", type=int, default=0)
    x.add_argument("--dst", required=True)
    x.add_argument("--dport", type=int, required=True)
    x.add_argument("--count", type=int, default=1)
    x.add_argument("--pps", type=float, default=0)
    x.add_argument("--kind", default="text")
    x.add_argument("--ua", default="probe")
    for name in ("udp-recv", "udp-echo", "tcp-listen"):
        x = sub.add_parser(name)
        x.add_argument("--bind", required=True)
        x.add_argument("--port", required=True, help="a port or a comma-separated list")
        x.add_argument("--seconds", type=float, default=3)
    x = sub.add_parser("rtp-peer")
    x.add_argument("--bind", required=True)
    x.add_argument("--port", type=int, required=True)
    x.add_argument("--peer", required=True)
    x.add_argument("--peer-port", type=int, required=True)
    x.add_argument("--count", type=int, default=100)
    x.add_argument("--pps", type=float, default=50)
    x.add_argument("--delay", type=float, default=0)
    x.add_argument("--seconds", type=float, default=3)
    x.add_argument("--arrivals", action="store_true")
    x = sub.add_parser("tcp-connect")
    x.add_argument("--src", required=True)
    x.add_argument("--dst", required=True)
    x.add_argument("--port", type=int, required=True)
    x.add_argument("--timeout", type=float, default=1.5)
    x = sub.add_parser("syslog-listen")
    x.add_argument("--path", required=True)
    x.add_argument("--seconds", type=float, default=60)
    x.add_argument("--out", required=True)
    x = sub.add_parser("icmp-send")
    x.add_argument("--src", required=True)
    x.add_argument("--dst", required=True)
    x.add_argument("--type", type=int, default=8)
    x.add_argument("--code", type=int, default=0)
    x.add_argument("--quote-src")
    x.add_argument("--quote-sport", type=int, default=0)
    x.add_argument("--quote-dst")
    x.add_argument("--quote-dport", type=int, default=0)
    x.add_argument("--count", type=int, default=1)
    x.add_argument("--pps", type=float, default=0)
    x = sub.add_parser("icmp-recv")
    x.add_argument("--seconds", type=float, default=3)
    a = p.parse_args()
    if a.cmd == "icmp-send":
        icmp_send(a)
    elif a.cmd == "icmp-recv":
        icmp_recv(a)
    elif a.cmd == "udp-send":
        udp_send(a)
    elif a.cmd == "udp-recv":
        udp_recv(a)
    elif a.cmd == "udp-echo":
        udp_recv(a, echo=True)
    elif a.cmd == "rtp-peer":
        rtp_peer(a)
    elif a.cmd == "tcp-connect":
        return tcp_connect(a)
    elif a.cmd == "tcp-listen":
        tcp_listen(a)
    elif a.cmd == "syslog-listen":
        syslog_listen(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
