#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes the seed corpus of fuzz_differential_osip into OUTDIR.

    differential_seeds.py OUTDIR [RFC4475_DIR [REGRESSIONS_DIR]]

Seeds are what makes a PBX dial: INVITEs (Request-URI), REFERs (Refer-To)
and 3xx answers to an INVITE of the PBX (Contact), each with a denied number
("+88...") in the dialling forms a handset can use, an allowed number, and
two-datagram inputs (Call-ID reuse, an INVITE of the PBX and the handset's
redirect). Datagrams of one input are separated by "\\n@@\\n"; one starting
with '<' goes from the PBX to the handset (see fuzz_differential_osip.cpp).

With RFC4475_DIR (the RFC 4475 torture messages, read where they are, never
copied into the source tree), each request there also becomes an INVITE to a
denied number with the message's own oddities (escapes, folding, odd
whitespace, long values) kept: so the fuzzer starts from the inputs that
tell SIP parsers apart.

With REGRESSIONS_DIR, its files (not its subfolders: pending/ holds findings
the engine does not pass yet) are copied too.
"""
import os
import re
import sys

SEP = b"\n@@\n"


def request(method, ruri, call_id="seed-1@192.168.20.10", branch=b"z9hG4bK-seed-1", cseq=1,
            extra=b"", to_tag=None, cseq_method=None):
    to = b"To: <sip:pbx@203.0.113.10>" + (b";tag=" + to_tag if to_tag else b"")
    return (method + b" " + ruri + b" SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP 192.168.20.10:5060;branch=" + branch + b"\r\n"
            b"Max-Forwards: 70\r\n"
            b"From: <sip:201@203.0.113.10>;tag=h201\r\n" + to + b"\r\n"
            b"Call-ID: " + call_id.encode() + b"\r\n"
            b"CSeq: " + str(cseq).encode() + b" " + (cseq_method or method) + b"\r\n"
            b"Contact: <sip:201@192.168.20.10:5060>\r\n" + extra +
            b"Content-Length: 0\r\n\r\n")


def established_call(number=b"+442079460000"):
    """An INVITE of the handset, the PBX's 200 OK (To tag p9) and the ACK:
    a call in which the handset can send REFER (To tag p9)."""
    ok = (b"<SIP/2.0 200 OK\r\n"
          b"Via: SIP/2.0/UDP 192.168.20.10:5060;branch=z9hG4bK-seed-1\r\n"
          b"From: <sip:201@203.0.113.10>;tag=h201\r\nTo: <sip:pbx@203.0.113.10>;tag=p9\r\n"
          b"Call-ID: seed-1@192.168.20.10\r\nCSeq: 1 INVITE\r\n"
          b"Contact: <sip:pbx@203.0.113.10:5060>\r\nContent-Length: 0\r\n\r\n")
    return (request(b"INVITE", b"sip:" + number + b"@203.0.113.10") + SEP + ok + SEP +
            request(b"ACK", b"sip:pbx@203.0.113.10:5060", branch=b"z9hG4bK-seed-ack", to_tag=b"p9") + SEP)


def pbx_invite(call_id, branch):
    return (b"<INVITE sip:201@192.168.20.10:5060 SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP 203.0.113.10:5060;branch=" + branch + b"\r\n"
            b"Max-Forwards: 70\r\n"
            b"From: <sip:+442079460000@203.0.113.10>;tag=p1\r\n"
            b"To: <sip:201@203.0.113.10>\r\n"
            b"Call-ID: " + call_id + b"\r\n"
            b"CSeq: 7 INVITE\r\n"
            b"Contact: <sip:pbx@203.0.113.10:5060>\r\n"
            b"Content-Length: 0\r\n\r\n")


def redirect(code, reason, call_id, branch, contacts):
    return (b"SIP/2.0 " + code + b" " + reason + b"\r\n"
            b"Via: SIP/2.0/UDP 203.0.113.10:5060;branch=" + branch + b"\r\n"
            b"From: <sip:+442079460000@203.0.113.10>;tag=p1\r\n"
            b"To: <sip:201@203.0.113.10>;tag=h9\r\n"
            b"Call-ID: " + call_id + b"\r\n"
            b"CSeq: 7 INVITE\r\n" + b"".join(b"Contact: " + c + b"\r\n" for c in contacts) +
            b"Content-Length: 0\r\n\r\n")


DENIED_USERS = [
    b"00881234567", b"+881234567", b"%2B881234567", b"+88-123-4567", b"+88(0)1234567",
    b"+881234567;phone-context=+44", b"0088%31234567", b"+881234567%23", b"00881234567#",
    b"+88%201234567", b"+881234567;isub=12",
]
ALLOWED_USERS = [b"+442079460000", b"02079460000", b"201", b"+12015550123", b"79460000"]


def seeds():
    out = {}
    for i, user in enumerate(DENIED_USERS):
        out["invite-denied-%d" % i] = request(b"INVITE", b"sip:" + user + b"@203.0.113.10")
    out["invite-denied-user-phone"] = request(b"INVITE", b"sip:00881234567@203.0.113.10;user=phone")
    out["invite-denied-sips"] = request(b"INVITE", b"sips:+881234567@203.0.113.10")
    out["invite-denied-tel"] = request(b"INVITE", b"tel:+881234567")
    out["invite-denied-lower-case"] = request(b"invite", b"sip:00881234567@203.0.113.10")
    out["invite-denied-mixed-case"] = request(b"Invite", b"sip:00881234567@203.0.113.10",
                                              cseq_method=b"INVITE")
    for i, user in enumerate(ALLOWED_USERS):
        out["invite-allowed-%d" % i] = request(b"INVITE", b"sip:" + user + b"@203.0.113.10")

    refer_to = [b"<sip:00881234567@203.0.113.10>", b"sip:+881234567@203.0.113.10",
                b"<sip:+881234567@203.0.113.10?Replaces=abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2>",
                b"\"Boss\" <tel:+881234567>", b"<sip:+442079460000@203.0.113.10>"]
    for i, target in enumerate(refer_to):
        out["refer-%d" % i] = established_call() + request(
            b"REFER", b"sip:pbx@203.0.113.10:5060", branch=b"z9hG4bK-seed-refer", cseq=2, to_tag=b"p9",
            extra=b"Refer-To: " + target + b"\r\nReferred-By: <sip:201@203.0.113.10>\r\n")
    out["refer-compact"] = established_call() + request(
        b"REFER", b"sip:pbx@203.0.113.10:5060", branch=b"z9hG4bK-seed-refer", cseq=2, to_tag=b"p9",
        extra=b"r: <sip:00881234567@203.0.113.10>\r\n")
    out["refer-out-of-dialog"] = request(b"REFER", b"sip:pbx@203.0.113.10",
                                         extra=b"Refer-To: <sip:00881234567@203.0.113.10>\r\n")

    call, branch = b"in-1@203.0.113.10", b"z9hG4bK-pbx-1"
    for code, reason, contacts in [
            (b"302", b"Moved Temporarily", [b"<sip:00881234567@203.0.113.10>"]),
            (b"301", b"Moved Permanently", [b"<sip:+881234567@203.0.113.10;user=phone>"]),
            (b"300", b"Multiple Choices", [b"<sip:+442079460000@203.0.113.10>;q=0.9", b"<tel:+881234567>;q=0.5"]),
            (b"302", b"Moved Temporarily", [b"<sip:+442079460000@203.0.113.10>, <sip:%2B881234567@203.0.113.10>"]),
            (b"380", b"Alternative Service", [b"<sip:+881234567@203.0.113.10>"])]:
        out["redirect-%s-%d" % (code.decode(), len(out))] = (
            pbx_invite(call, branch) + SEP + redirect(code, reason, call, branch, contacts))

    # The same Call-ID with a new transaction and another number.
    out["call-id-reuse"] = (request(b"INVITE", b"sip:+442079460000@203.0.113.10", call_id="reuse@h", branch=b"z9hG4bK-a")
                            + SEP + request(b"INVITE", b"sip:00881234567@203.0.113.10", call_id="reuse@h",
                                            branch=b"z9hG4bK-b", cseq=2))
    # An INVITE challenged by the PBX, then retried.
    out["retry"] = (request(b"INVITE", b"sip:+442079460000@203.0.113.10", call_id="retry@h")
                    + SEP + b"<SIP/2.0 407 Proxy Authentication Required\r\n"
                    b"Via: SIP/2.0/UDP 192.168.20.10:5060;branch=z9hG4bK-seed-1\r\n"
                    b"From: <sip:201@203.0.113.10>;tag=h201\r\nTo: <sip:pbx@203.0.113.10>;tag=p407\r\n"
                    b"Call-ID: retry@h\r\nCSeq: 1 INVITE\r\n"
                    b"Proxy-Authenticate: Digest realm=\"pbx\", nonce=\"n\"\r\nContent-Length: 0\r\n\r\n"
                    + SEP + request(b"INVITE", b"sip:00881234567@203.0.113.10", call_id="retry@h",
                                    branch=b"z9hG4bK-seed-2", cseq=2))
    return out


START = re.compile(rb"^([!-~]+)([ \t]+)(\S+)([ \t]+SIP/2\.0)", re.IGNORECASE)
USER = re.compile(rb"^(sips?:)([^@;?>]*@)?", re.IGNORECASE)
CSEQ = re.compile(rb"^((?:CSeq|cseq)[ \t]*:[ \t]*\d+[ \t]+)([!-~]+)", re.MULTILINE)


def from_rfc4475(path):
    """Each request of the folder, as it is and as an INVITE to 00881234567."""
    out = {}
    for name in sorted(os.listdir(path)):
        with open(os.path.join(path, name), "rb") as f:
            msg = f.read()
        out["rfc4475-" + name] = msg
        m = START.match(msg)
        if not m:
            continue
        uri = m.group(3)
        u = USER.match(uri)
        if u:
            uri = u.group(1) + b"00881234567@" + uri[u.end():]
        elif uri.lower().startswith(b"tel:"):
            uri = b"tel:+881234567"
        else:
            continue
        invite = b"INVITE" + m.group(2) + uri + m.group(4) + msg[m.end():]
        invite = CSEQ.sub(lambda c: c.group(1) + b"INVITE", invite, count=1)
        out["rfc4475-invite-" + name] = invite
    return out


def main():
    if len(sys.argv) not in (2, 3, 4):
        sys.exit("usage: differential_seeds.py OUTDIR [RFC4475_DIR [REGRESSIONS_DIR]]")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    corpus = seeds()
    if len(sys.argv) >= 3:
        if os.path.isdir(sys.argv[2]):
            corpus.update(from_rfc4475(sys.argv[2]))
        else:
            print("differential_seeds.py: %s not found: no RFC 4475 seeds" % sys.argv[2], file=sys.stderr)
    if len(sys.argv) == 4 and os.path.isdir(sys.argv[3]):
        for name in sorted(os.listdir(sys.argv[3])):
            path = os.path.join(sys.argv[3], name)
            if os.path.isfile(path) and not name.endswith(".md"):
                with open(path, "rb") as f:
                    corpus["regression-" + name] = f.read()
    for name, data in corpus.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
    print("differential_seeds.py: %d seeds in %s" % (len(corpus), outdir))


if __name__ == "__main__":
    main()
