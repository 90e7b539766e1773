# SPDX-License-Identifier: GPL-2.0-or-later
"""A scripted SIP phone for the real-peer scenarios (test_47, test_48): what
baresip 1.0 cannot be told to do. It registers at the Kamailio PBX of
realpeers.py with digest authentication, calls or is called over UDP, and
changes its media mid-call on demand: a re-INVITE with a new RTP port and
codec, a 183 with SDP and early media on one port then a 200 OK with another
port and codec. Its RTP (50 packets/s of 160-byte G.711 frames, payload type
of the codec in use) is sent and counted by this process from sockets in the
phone's namespace: per local port, per payload type and per source, so a test
can say which port and codec the far end's audio arrived on.

Signalling is UDP only, one dialog at a time; in-dialog requests follow the
route set (Record-Route) as RFC 3261 says, BYE and OPTIONS are answered."""
import hashlib
import queue
import random
import re
import select
import socket
import struct
import threading
import time

import vgnet as v
from probe import checksum  # the Internet checksum (RFC 1071)

CODECS = {"PCMU": 0, "PCMA": 8}
# The SSRC of forged RTP (forge_rtp()): counted apart by the receiving phone.
PROBE_SSRC = 0x0BADF00D


def _md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def _header(msg, name):
    """Every value of header NAME (case-insensitive, compact forms not used by the peers here)."""
    out = []
    for line in msg.split("\r\n\r\n", 1)[0].split("\r\n")[1:]:
        k, sep, val = line.partition(":")
        if sep and k.strip().lower() == name.lower():
            out.append(val.strip())
    return out


def _first(msg, name, default=""):
    h = _header(msg, name)
    return h[0] if h else default


def _body(msg):
    return msg.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in msg else ""


def sdp_endpoint(body):
    """(address, port, [payload types]) of the first audio stream of an SDP body."""
    addr = None
    port = 0
    pts = []
    for line in body.splitlines():
        if line.startswith("c=IN IP4 ") and addr is None:
            addr = line.split()[2]
        m = re.match(r"m=audio (\d+) RTP/AVP ([\d ]+)", line)
        if m:
            port = int(m.group(1))
            pts = [int(x) for x in m.group(2).split()]
            for l2 in body[body.index(line):].splitlines()[1:]:
                if l2.startswith("c=IN IP4 "):
                    addr = l2.split()[2]
                    break
                if l2.startswith("m="):
                    break
            break
    return addr, port, pts


class ScriptPhone:
    """A phone at ADDRESS:5060 in namespace NS, registering as USER (with
    PASSWORD at realm REALM). Its media sockets are opened by media_port()."""

    def __init__(self, site, ns, address, user, password, realm, pbx=v.PBX, label=None):
        self.site = site
        self.ns = ns
        self.address = address
        self.user = user
        self.password = password
        self.realm = realm
        self.pbx = pbx
        self.label = label or "scriptua-%s" % user
        self.sip = v.netns_socket(ns, socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind((address, 5060))
        self.media = {}  # local port -> socket
        self.lock = threading.Lock()
        # Counts of RTP received: {port: {"packets", "pt": {pt: n}, "src": {"ip:port": n}}}
        self.received = {}
        self.sent = {}  # local port -> packets sent
        self.send_from = None  # (local port, (ip, port), pt) or None
        self.responses = queue.Queue()
        self.requests = queue.Queue()
        self.log = []  # (direction, first line) of every SIP message
        self.dialog = None
        self.local_sdp = None
        self.cseq = 0
        self.seq = 0
        self.ssrc = random.randint(1, 0xFFFFFFF)
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        site.peers.append(self)

    # -- media ---------------------------------------------------------------
    def media_port(self, port):
        """Opens (once) a media socket on PORT; returns PORT."""
        with self.lock:
            if port not in self.media:
                s = v.netns_socket(self.ns, socket.AF_INET, socket.SOCK_DGRAM)
                s.bind((self.address, port))
                s.setblocking(False)
                self.media[port] = s
                self.received[port] = {"packets": 0, "pt": {}, "src": {}, "forged": 0}
                self.sent[port] = 0
        return port

    def send_media(self, port, dest, codec):
        """From now on, RTP from local PORT to DEST (ip, port) in CODEC; None stops."""
        with self.lock:
            self.send_from = None if port is None else (port, dest, CODECS[codec])

    def counts(self):
        """A copy of the received and sent counts."""
        with self.lock:
            return {"received": {p: {"packets": r["packets"], "pt": dict(r["pt"]), "src": dict(r["src"]),
                                     "forged": r["forged"]}
                                 for p, r in self.received.items()},
                    "sent": dict(self.sent)}

    def _rtp(self, pt):
        self.seq += 1
        return struct.pack("!BBHII", 0x80, pt, self.seq & 0xFFFF, (self.seq * 160) & 0xFFFFFFFF,
                           self.ssrc) + (b"\xff" if pt == 0 else b"\xd5") * 160

    def _loop(self):
        next_send = time.monotonic()
        while not self.stopping:
            with self.lock:
                socks = [self.sip] + list(self.media.values())
            try:
                ready, _, _ = select.select(socks, [], [], 0.005)
            except (OSError, ValueError):
                return
            for s in ready:
                if s is self.sip:
                    try:
                        data, peer = s.recvfrom(65535)
                    except OSError:
                        continue
                    self._sip_in(data.decode(errors="replace"), peer)
                    continue
                while True:
                    try:
                        data, peer = s.recvfrom(65535)
                    except (BlockingIOError, OSError):
                        break
                    port = s.getsockname()[1]
                    with self.lock:
                        r = self.received[port]
                        if len(data) >= 12 and struct.unpack("!I", data[8:12])[0] == PROBE_SSRC:
                            r["forged"] += 1
                            continue
                        r["packets"] += 1
                        pt = data[1] & 0x7F if len(data) >= 12 else -1
                        r["pt"][pt] = r["pt"].get(pt, 0) + 1
                        key = "%s:%d" % peer
                        r["src"][key] = r["src"].get(key, 0) + 1
            now = time.monotonic()
            if now >= next_send:
                next_send += 0.02
                if now - next_send > 0.2:
                    next_send = now + 0.02
                with self.lock:
                    cur = self.send_from
                    if cur is not None:
                        port, dest, pt = cur
                        try:
                            self.media[port].sendto(self._rtp(pt), dest)
                            self.sent[port] += 1
                        except OSError:
                            pass

    # -- SIP transport -------------------------------------------------------------
    def _send(self, text, dest=None):
        self.log.append(("sent", text.split("\r\n", 1)[0]))
        self.sip.sendto(text.encode(), dest or (self.pbx, 5060))

    def _sip_in(self, msg, peer):
        first = msg.split("\r\n", 1)[0]
        self.log.append(("received", first))
        if first.startswith("SIP/2.0 "):
            self.responses.put(msg)
            return
        method = first.split(" ", 1)[0]
        if method in ("BYE", "OPTIONS", "NOTIFY"):
            self._reply(msg, peer, 200, "OK")
            if method == "BYE":
                self.send_media(None, None, "PCMU")
                if self.dialog:
                    self.dialog["ended"] = True
        elif method == "INVITE" and self.dialog and self.dialog.get("call_id") == _first(msg, "Call-ID"):
            # A re-INVITE from the far side: the same media again.
            self._reply(msg, peer, 200, "OK", self.local_sdp, totag=self.dialog["local_tag"])
        elif method == "ACK":
            self.requests.put(msg)
        else:
            self.requests.put(msg)

    def _reply(self, req, peer, code, reason, body=None, totag=None, extra=""):
        """A response to REQ (text), sent back where it came from (RFC 3261 §18.2.2
        with rport: the source)."""
        lines = ["SIP/2.0 %d %s" % (code, reason)]
        for via in _header(req, "Via"):
            lines.append("Via: " + via)
        for rr in _header(req, "Record-Route"):
            if code > 100 and code < 300:
                lines.append("Record-Route: " + rr)
        to = _first(req, "To")
        if totag and ";tag=" not in to:
            to += ";tag=" + totag
        lines += ["From: " + _first(req, "From"), "To: " + to, "Call-ID: " + _first(req, "Call-ID"),
                  "CSeq: " + _first(req, "CSeq"), "User-Agent: vg-scriptua"]
        if code > 100 and code < 300 and _first(req, "CSeq").endswith("INVITE"):
            lines.append("Contact: <sip:%s@%s:5060>" % (self.user, self.address))
        if extra:
            lines.append(extra)
        body = body or ""
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body))
        self._send("\r\n".join(lines) + "\r\n\r\n" + body, peer)

    def wait_response(self, cseq_method, timeout=10, final=True):
        """The next response to CSEQ_METHOD (a final one when FINAL); None on timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                msg = self.responses.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                return None
            code = int(msg.split(" ", 2)[1])
            if not _first(msg, "CSeq").endswith(" " + cseq_method):
                continue
            if final and code < 200:
                continue
            return msg
        return None

    def wait_request(self, method, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                msg = self.requests.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                return None
            if msg.startswith(method + " "):
                return msg
        return None

    def _auth(self, challenge, method, uri):
        realm = re.search(r'realm="([^"]*)"', challenge).group(1)
        nonce = re.search(r'nonce="([^"]*)"', challenge).group(1)
        resp = _md5("%s:%s:%s" % (_md5("%s:%s:%s" % (self.user, realm, self.password)), nonce,
                                  _md5("%s:%s" % (method, uri))))
        return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5'
                % (self.user, realm, nonce, uri, resp))

    def _request(self, method, uri, headers, body="", branch=None):
        branch = branch or "z9hG4bK-vgsua-%d" % random.randint(0, 1 << 48)
        lines = ["%s %s SIP/2.0" % (method, uri),
                 "Via: SIP/2.0/UDP %s:5060;rport;branch=%s" % (self.address, branch),
                 "Max-Forwards: 70"] + headers + ["User-Agent: vg-scriptua"]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body))
        self._send("\r\n".join(lines) + "\r\n\r\n" + body)
        return branch

    def sdp(self, port, codec, version):
        pt = CODECS[codec]
        return ("v=0\r\no=vgsua 4242 %d IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                "m=audio %d RTP/AVP %d\r\na=rtpmap:%d %s/8000\r\na=sendrecv\r\n"
                % (version, self.address, self.address, port, pt, pt, codec))

    # -- registration ---------------------------------------------------------------
    def register(self, expires=600, timeout=10):
        """REGISTER with digest authentication; whether the PBX said 200."""
        uri = "sip:%s" % self.pbx
        call_id = "vgsua-reg-%d@%s" % (random.randint(0, 1 << 32), self.address)
        tag = "r%d" % random.randint(0, 1 << 32)
        auth = None
        for _ in range(2):
            self.cseq += 1
            headers = ["From: <sip:%s@%s>;tag=%s" % (self.user, self.pbx, tag),
                       "To: <sip:%s@%s>" % (self.user, self.pbx), "Call-ID: " + call_id,
                       "CSeq: %d REGISTER" % self.cseq,
                       "Contact: <sip:%s@%s:5060>" % (self.user, self.address), "Expires: %d" % expires]
            if auth:
                headers.append("Authorization: " + auth)
            self._request("REGISTER", uri, headers)
            r = self.wait_response("REGISTER", timeout)
            if r is None:
                return False
            code = int(r.split(" ", 2)[1])
            if code == 401 and auth is None:
                auth = self._auth(_first(r, "WWW-Authenticate"), "REGISTER", uri)
                continue
            return code == 200
        return False

    # -- calls -------------------------------------------------------------------
    def call(self, target, port, codec="PCMU", timeout=20):
        """INVITE TARGET (a user of the PBX) offering PORT and CODEC; on the 200
        OK, the ACK and RTP from PORT to the answered endpoint. The 200 OK or None."""
        uri = "sip:%s@%s" % (target, self.pbx)
        self.media_port(port)
        self.local_sdp = self.sdp(port, codec, 1)
        d = {"call_id": "vgsua-%d@%s" % (random.randint(0, 1 << 32), self.address),
             "local_tag": "t%d" % random.randint(0, 1 << 32), "uri": uri, "remote_uri": uri, "version": 1}
        auth = None
        for _ in range(2):
            self.cseq += 1
            headers = ["From: <sip:%s@%s>;tag=%s" % (self.user, self.pbx, d["local_tag"]),
                       "To: <sip:%s@%s>" % (target, self.pbx), "Call-ID: " + d["call_id"],
                       "CSeq: %d INVITE" % self.cseq, "Contact: <sip:%s@%s:5060>" % (self.user, self.address)]
            if auth:
                headers.append("Proxy-Authorization: " + auth)
            branch = self._request("INVITE", uri, headers, self.local_sdp)
            r = self.wait_response("INVITE", timeout)
            if r is None:
                return None
            code = int(r.split(" ", 2)[1])
            if code >= 300:
                # ACK of a failure: same branch, the To of the response.
                self._request("ACK", uri, headers[:1] + ["To: " + _first(r, "To"), "Call-ID: " + d["call_id"],
                                                         "CSeq: %d ACK" % self.cseq], branch=branch)
            if code == 407 and auth is None:
                auth = self._auth(_first(r, "Proxy-Authenticate"), "INVITE", uri)
                continue
            if code != 200:
                return None
            d["cseq"] = self.cseq
            d["from"] = "<sip:%s@%s>;tag=%s" % (self.user, self.pbx, d["local_tag"])
            d["to"] = _first(r, "To")
            m = re.search(r"<([^>]*)>", _first(r, "Contact"))
            d["target"] = m.group(1) if m else uri
            d["routes"] = list(reversed([x.strip() for rr in _header(r, "Record-Route") for x in rr.split(",")]))
            self.dialog = d
            self._ack(d)
            addr, rport, _ = sdp_endpoint(_body(r))
            d["remote_media"] = (addr, rport)
            self.send_media(port, (addr, rport), codec)
            return r
        return None

    def _in_dialog(self, d, method, cseq, body="", branch=None):
        headers = ["Route: " + r for r in d["routes"]] + [
            "From: " + d["from"], "To: " + d["to"], "Call-ID: " + d["call_id"], "CSeq: %d %s" % (cseq, method),
            "Contact: <sip:%s@%s:5060>" % (self.user, self.address)]
        return self._request(method, d["target"], headers, body, branch)

    def _ack(self, d):
        self._in_dialog(d, "ACK", d["cseq"])

    def reinvite(self, port, codec, timeout=20):
        """A re-INVITE moving our media to PORT and CODEC; on its 200 OK the ACK
        and RTP from PORT. The 200 OK or None."""
        d = self.dialog
        self.media_port(port)
        d["version"] += 1
        self.local_sdp = self.sdp(port, codec, d["version"])
        self.cseq += 1
        d["cseq"] = self.cseq
        self._in_dialog(d, "INVITE", self.cseq, self.local_sdp)
        r = self.wait_response("INVITE", timeout)
        if r is None or int(r.split(" ", 2)[1]) != 200:
            return None
        self._ack(d)
        addr, rport, _ = sdp_endpoint(_body(r))
        d["remote_media"] = (addr, rport)
        self.send_media(port, (addr, rport), codec)
        return r

    def hangup(self, timeout=10):
        d = self.dialog
        self.send_media(None, None, "PCMU")
        self.cseq += 1
        self._in_dialog(d, "BYE", self.cseq)
        r = self.wait_response("BYE", timeout)
        d["ended"] = True
        return r is not None and r.startswith("SIP/2.0 200")

    # -- answering ---------------------------------------------------------------------
    def incoming(self, timeout=20):
        """The next INVITE (text) and where its responses go (the PBX: every
        request reaches the phone through it); (None, None) on timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            msg = self.wait_request("INVITE", timeout=end - time.monotonic())
            if msg is None:
                break
            return msg, (self.pbx, 5060)
        return None, None

    def early(self, invite, peer, port, codec):
        """100 Trying, then 183 Session Progress with SDP for PORT and CODEC,
        and early media from PORT to the offered endpoint."""
        d = {"call_id": _first(invite, "Call-ID"), "local_tag": "t%d" % random.randint(0, 1 << 32),
             "version": 1, "invite": invite, "peer": peer}
        self.dialog = d
        self.media_port(port)
        self.local_sdp = self.sdp(port, codec, 1)
        self._reply(invite, peer, 100, "Trying")
        self._reply(invite, peer, 183, "Session Progress", self.local_sdp, totag=d["local_tag"])
        addr, rport, _ = sdp_endpoint(_body(invite))
        d["remote_media"] = (addr, rport)
        self.send_media(port, (addr, rport), codec)

    def answer(self, port, codec, timeout=10):
        """200 OK with SDP for PORT and CODEC (a new version of the session);
        RTP from PORT; whether the caller's ACK came."""
        d = self.dialog
        self.media_port(port)
        d["version"] += 1
        self.local_sdp = self.sdp(port, codec, d["version"])
        self._reply(d["invite"], d["peer"], 200, "OK", self.local_sdp, totag=d["local_tag"])
        self.send_media(port, d["remote_media"], codec)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.wait_request("ACK", timeout=1) is not None:
                return True
            self._reply(d["invite"], d["peer"], 200, "OK", self.local_sdp, totag=d["local_tag"])
        return False

    # -- site peer protocol ------------------------------------------------------------
    def stop(self, check=True, timeout=5):
        self.stopping = True
        self.thread.join(timeout=2)
        for s in [self.sip] + list(self.media.values()):
            try:
                s.close()
            except OSError:
                pass
        return 0

    def diagnostics(self):
        print("--- %s SIP: %s" % (self.label, self.log[-30:]))
        print("--- %s RTP: %s" % (self.label, self.counts()))


def forge_rtp(site, ns, src, sport, dst, dport, count=50, pps=50):
    """COUNT RTP packets (SSRC PROBE_SSRC) from SRC:SPORT to DST:DPORT, sent
    from namespace NS through a raw socket: an attacker forging a media
    server's exact endpoint (a port that server has bound itself)."""
    s = v.netns_socket(ns, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        for i in range(count):
            payload = struct.pack("!BBHII", 0x80, 0, i, i * 160, PROBE_SSRC) + b"\xff" * 160
            ulen = 8 + len(payload)
            pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, ulen)
            udp = struct.pack("!HHHH", sport, dport, ulen, 0)
            csum = checksum(pseudo + udp + payload) or 0xFFFF
            udp = struct.pack("!HHHH", sport, dport, ulen, csum)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, random.randint(0, 0xFFFF), 0, 64, 17, 0,
                             socket.inet_aton(src), socket.inet_aton(dst))
            ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
            s.sendto(ip + udp + payload, (dst, 0))
            time.sleep(1.0 / pps)
    finally:
        s.close()
