#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 44: blind transfer and call forwarding with real phones.
baresip handsets 201 and 202 and the far-end baresip 300 at Kamailio;
a sipp handset 203 that forwards its calls with a 302 (call deflection).
- Blind transfer (REFER through the PBX) to an allowed number: 201 hands
  the far-end's call to 202, which answers; audio both ways.
- Blind transfer to a number on the policy's toll-fraud deny list: the
  REFER is dropped by voipguard (VG_TOLL_FRAUD_BLOCKED method=REFER), it
  never reaches the PBX nor the far-end, and the call goes on with audio.
- Forwarding at the PBX (Kamailio forwards 201's calls to 202): works.
- Forwarding by a handset (203 answers 302 with a Contact): to an allowed
  number the 302 reaches the PBX; to a denied number it is dropped by
  voipguard and never reaches the PBX."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import realpeers as rp  # noqa: E402

MIN_RTP = 100
DENIED = ("0088213000001", "+88213000001", "deny_prefix:+882")
SIPP_HANDSET = "192.168.20.12"

REDIRECT = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="a handset forwarding its call with 302">
  <recv request="INVITE"/>
  <send>
    <![CDATA[
SIP/2.0 302 Moved Temporarily
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:%s@203.0.113.10>
User-Agent: Yealink SIP-T46S 66.86.0.15
Content-Length: 0

    ]]>
  </send>
  <recv request="ACK" optional="true" timeout="4000"/>
</scenario>
"""


def audio(c, what, phones):
    before = {p.user: p.counter().read() for p in phones}
    delta = rp.rtp_flows({p.user: p.counter() for p in phones}, before, MIN_RTP, 40)
    ok = all(x >= MIN_RTP for dd in delta.values() for x in dd.values())
    c.that(ok, "%s: audio both ways (%s)" % (what, delta))
    return delta


def connect(c, caller, callee, target=None):
    est = {p.user: p.count("CALL_ESTABLISHED") for p in (caller, callee)}
    caller.dial(target or callee.user)
    ok = all(p.wait_event("CALL_ESTABLISHED", since=est[p.user], timeout=30) for p in (caller, callee))
    c.that(ok, "%s called %s, %s answered" % (caller.user, target or callee.user, callee.user))
    return ok


def hang_up(phone, others=()):
    closed = {p.user: p.count("CALL_CLOSED") for p in (phone,) + tuple(others)}
    phone.command("hangup")
    for p in (phone,) + tuple(others):
        p.wait_event("CALL_CLOSED", since=closed[p.user], timeout=20)


def redirect(c, s, far, pbx, target, label):
    """Far-end calls 203 (sipp), which forwards to TARGET with a 302."""
    path = s.file(label + ".xml", REDIRECT % target)
    uas = s.sipp(s.handset, path, "-i", SIPP_HANDSET, "-p", "5060", "-m", "1", "-timeout", "40",
                 "-timeout_error", label=label)
    v.time.sleep(0.5)
    closed = far.count("CALL_CLOSED")
    far.dial("203")
    rc = s.sipp_wait(uas, 45)
    far.wait_event("CALL_CLOSED", since=closed, timeout=30)
    far.command("hangup")
    return rc


def main():
    v.require_environment()
    rp.Pbx.require()
    rp.RtpEngine.require()
    rp.Phone.require()
    c = v.Check("e2e_44_real_transfer")
    with rp.RealSite() as s:
        c.attach(s)
        s.run(s.handset, "ip", "addr", "add", SIPP_HANDSET + "/24", "dev", "vgh0")
        d, pbx, far = rp.start_site(c, s, forwards={"204": "202"})
        h1 = rp.Phone(s, s.handset, v.HANDSET, "201", ctrl_port=4444).start()
        h2 = rp.Phone(s, s.handset2, v.HANDSET2, "202", transport="tcp", ctrl_port=4445).start()
        for p in (far, h1, h2):
            c.that(bool(v.wait_until(lambda: pbx.registrations(p.user), 30, 0.2)),
                   "%s registered over %s" % (p.user, p.transport))
        reg = s.sipp(s.handset, "uac_register_auth.xml", v.PBX + ":5060", "-i", SIPP_HANDSET, "-p", "5060",
                     "-s", "203", "-au", "203", "-ap", rp.USERS["203"], "-m", "1", "-timeout", "15",
                     "-timeout_error", label="register203")
        c.that(s.sipp_wait(reg, 20) == 0, "the sipp handset 203 registered with digest authentication")

        # 1. Blind transfer to an allowed number: the far-end's call moves to 202.
        connect(c, far, h1)
        n = h2.count("CALL_ESTABLISHED")
        asked = far.count("TRANSFER")
        r = h1.command("transfer", "sip:202@%s" % v.PBX)
        c.that(r is not None and r.get("ok"), "201 sent the REFER to 202 (%s)" % r)
        c.that(bool(h2.wait_event("CALL_ESTABLISHED", since=n, timeout=40)),
               "the transferred call reached 202 and was answered")
        c.that(far.count("TRANSFER") > asked, "the far-end phone was asked to transfer (its TRANSFER event)")
        transfer_ok = audio(c, "the far-end and 202 after the transfer", (far, h2))
        c.figure("transfer_allowed_rtp", transfer_ok)
        hang_up(h2, (far,))
        c.that(any(e["user"] == "202" for e in pbx.events("REFER")), "the PBX saw the REFER to 202")

        # 2. Blind transfer to a denied number: voipguard drops the REFER.
        connect(c, far, h1)
        before_refers = len(pbx.events("REFER"))
        transfers_far = far.count("TRANSFER")
        h1.command("transfer", "sip:%s@%s" % (DENIED[0], v.PBX))
        fraud = v.wait_until(lambda: d.log_lines("VG_TOLL_FRAUD_BLOCKED", "method=REFER"), 10, 0.2)
        c.figure("syslog_refer_blocked", fraud)
        c.that(any("number=%s " % v.masked(DENIED[1]) in l and "rule=%s" % DENIED[2] in l and "handset=%s " % v.HANDSET in l
                   for l in fraud), "syslog: VG_TOLL_FRAUD_BLOCKED method=REFER number=%s handset=%s"
               % (DENIED[1], v.HANDSET))
        v.time.sleep(2)
        c.that(len(pbx.events("REFER")) == before_refers and DENIED[0] not in pbx.logged_users(),
               "the denied REFER never reached the PBX")
        c.that(far.count("TRANSFER") == transfers_far, "the far-end phone was never asked to transfer")
        c.figure("call_after_denied_transfer_rtp", audio(c, "the call after the denied transfer", (far, h1)))
        hang_up(far, (h1,))

        # 3. Forwarding at the PBX: 204 is forwarded to 202.
        connect(c, far, h2, target="204")
        c.figure("pbx_forward_rtp", audio(c, "the call forwarded by the PBX to 202", (far, h2)))
        hang_up(far, (h2,))

        # 4. Forwarding by a handset (302): allowed, then denied.
        rc_ok = redirect(c, s, far, pbx, "202", "redirect-allowed")
        replies = [e for e in pbx.events("REPLY") if e["detail"].startswith("302")]
        c.figure("pbx_302_replies", [(e["user"], e["src"]) for e in replies])
        c.that(rc_ok == 0 and any(e["user"] == "202" for e in replies),
               "the handset's 302 to 202 passed voipguard and reached the PBX (sipp %d)" % rc_ok)
        n302 = len(replies)
        rc_denied = redirect(c, s, far, pbx, DENIED[0], "redirect-denied")
        replies = [e for e in pbx.events("REPLY") if e["detail"].startswith("302")]
        c.figure("sipp_redirect_rc", [rc_ok, rc_denied])
        c.that(len(replies) == n302 and DENIED[0] not in pbx.logged_users(),
               "the handset's 302 to %s never reached the PBX" % DENIED[0])
        fraud302 = [l for l in d.log_lines("VG_TOLL_FRAUD_BLOCKED") if "method=REFER" not in l]
        c.figure("syslog_redirect_blocked", fraud302)
        c.that(any("number=%s " % v.masked(DENIED[1]) in l and "handset=%s " % SIPP_HANDSET in l for l in fraud302),
               "syslog: VG_TOLL_FRAUD_BLOCKED for the 302 to %s from %s" % (DENIED[1], SIPP_HANDSET))

        st = d.status()
        c.figure("voipguard_reasons", st.get("reasons"))
        bad = [l for l in rp.bad_lines(d) if "VG_TOLL_FRAUD_BLOCKED" not in l]
        c.figure("syslog_other_drops", bad[:10])
        c.that(not bad, "voipguard dropped nothing else of the phones' and the PBX's traffic (%d lines)" % len(bad))
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
