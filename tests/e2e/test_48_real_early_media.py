#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 48: callee early media on an inbound call with real peers. The
far-end baresip 300 calls the handset 201 (scripted: baresip 1.0 sends no
media before its answer) via Kamailio and rtpengine through voipguard. The
handset answers 183 Session Progress with SDP (u-law, port 40200) and plays
its ringback/announcement from there before any 200 OK: that early media
must reach the caller (handset -> far end), and what the caller sends back
meanwhile must reach the handset's early port. Then the handset answers 200
OK with a different SDP (A-law, port 40300): the pinholes follow it (audio
both ways on the new port, in A-law), the early port gets nothing more, and
RTP forged from the relay's exact endpoint to the early port after the
grace is dropped by the router while the same forgery to the answered port
passes (the control)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import realpeers as rp  # noqa: E402
import scriptua  # noqa: E402

EARLY_PORT = 40200
ANSWER_PORT = 40300
MIN_RTP = 150  # packets in 4 s of 20 ms packets (200 expected)
FORGED = 50


def main():
    v.require_environment()
    rp.Pbx.require()
    rp.RtpEngine.require()
    rp.Phone.require()
    c = v.Check("e2e_48_real_early_media")
    with rp.RealSite() as s:
        c.attach(s)
        d, pbx, far = rp.start_site(c, s, expires=600)
        ua = scriptua.ScriptPhone(s, s.handset, v.HANDSET, "201", rp.USERS["201"], rp.REALM)
        c.that(ua.register(), "201 (scripted) registered with digest authentication")
        c.that(bool(v.wait_until(lambda: pbx.registrations("300"), 30, 0.2)), "300 (baresip) registered")
        fc = far.counter()

        far.dial("201")
        invite, peer = ua.incoming(timeout=30)
        c.that(invite is not None, "the far end's INVITE reached the handset through the PBX")
        offer = scriptua.sdp_endpoint(scriptua._body(invite)) if invite else (None, 0, [])
        c.figure("offer_to_handset", offer)
        if invite is None:
            c.finish()
        ua.early(invite, peer, EARLY_PORT, "PCMU")
        c.that(bool(far.wait_event("CALL_PROGRESS", timeout=20)), "the caller got the 183 with SDP")
        v.time.sleep(1.0)
        u0, f0 = ua.counts(), fc.read()
        v.time.sleep(4.0)
        u1, f1 = ua.counts(), fc.read()
        early = {"handset_tx_early_port": u1["sent"][EARLY_PORT] - u0["sent"][EARLY_PORT],
                 "far_rx": f1["rx"] - f0["rx"],
                 "far_tx": f1["tx"] - f0["tx"],
                 "handset_rx_early_port": u1["received"][EARLY_PORT]["packets"] - u0["received"][EARLY_PORT]["packets"],
                 "handset_rx_payload_types_since_183": u1["received"][EARLY_PORT]["pt"]}
        c.figure("early_media", early)
        c.that(far.count("CALL_ESTABLISHED") == 0, "early media: the call is not answered yet")
        c.that(early["handset_tx_early_port"] >= MIN_RTP and early["far_rx"] >= MIN_RTP,
               "early media: the handset's ringback reached the caller before the answer (%s)" % early)
        # Whatever the caller sends during early media must reach the early port.
        c.that(early["handset_rx_early_port"] >= 0.95 * early["far_tx"],
               "early media: what the caller sent reached the handset's early port (%s)" % early)
        st0 = d.status()
        calls_early = d.ctl("calls", "--json", check=False).stdout.strip()
        c.figure("voipguard_calls_early", calls_early[:600])
        c.that('"handset_rtp":%d' % EARLY_PORT in calls_early.replace(" ", ""),
               "voipguard follows the early dialog's media (pinhole on the early port)")

        # The answer, with another port and codec.
        t_answer = v.time.monotonic()
        c.that(ua.answer(ANSWER_PORT, "PCMA"), "the handset answered 200 OK (A-law, new port), the caller ACKed")
        c.that(bool(far.wait_event("CALL_ESTABLISHED", timeout=20)), "the caller saw the call answered")
        v.time.sleep(1.0)
        u2, f2 = ua.counts(), fc.read()
        v.time.sleep(4.0)
        u3, f3 = ua.counts(), fc.read()
        answered = {"handset_rx_answer_port": u3["received"][ANSWER_PORT]["packets"] - u2["received"][ANSWER_PORT]["packets"],
                    "handset_tx_answer_port": u3["sent"][ANSWER_PORT] - u2["sent"][ANSWER_PORT],
                    "handset_rx_answer_port_payload_types_since_200": u3["received"][ANSWER_PORT]["pt"],
                    "handset_rx_early_port_after_1s": u3["received"][EARLY_PORT]["packets"] - u2["received"][EARLY_PORT]["packets"],
                    "far_rx": f3["rx"] - f2["rx"], "far_tx": f3["tx"] - f2["tx"]}
        c.figure("after_answer", answered)
        c.that(all(answered[k] >= MIN_RTP for k in ("handset_rx_answer_port", "handset_tx_answer_port", "far_rx",
                                                      "far_tx")),
               "after the answer: audio both ways at both ends on the answered port (%s)" % answered)
        pts = u3["received"][ANSWER_PORT]["pt"]
        c.that(pts.get(8, 0) >= MIN_RTP and pts.get(8, 0) >= 0.95 * sum(pts.values()),
               "after the answer: the caller's audio arrives in A-law (PT 8) on the answered port (%s)" % pts)
        c.that(answered["handset_rx_early_port_after_1s"] == 0, "after the answer: nothing more on the early port")
        calls_after = d.ctl("calls", "--json", check=False).stdout.strip()
        c.figure("voipguard_calls_answered", calls_after[:600])
        flat = calls_after.replace(" ", "")
        c.that('"handset_rtp":%d' % ANSWER_PORT in flat and '"handset_rtp":%d' % EARLY_PORT not in flat,
               "voipguard's pinhole moved from the early port to the answered one")
        st1 = d.status()
        c.figure("pinholes_early_answered", [st0.get("pinholes"), st1.get("pinholes")])
        bad = rp.bad_lines(d)
        c.figure("syslog_drops_during_call", bad[:10])
        c.that(not bad, "voipguard dropped nothing of the call's traffic (%d lines)" % len(bad))

        # The attacker: RTP forged from the relay's exact endpoint to the early port.
        c.that(v.time.monotonic() - t_answer > 2.0, "the forgery comes after the grace (0.5 s)")
        st2 = d.status()
        reasons0 = dict(st2.get("reasons") or {})
        c.figure("voipguard_verdicts_before_forgery", st2.get("verdicts"))
        c.that((st2.get("verdicts") or {}).get("drop", 0) == 0,
               "no packet of the call dropped, early media and answer included (reasons %s)" % reasons0)
        relay = ua.dialog["remote_media"]
        scriptua.forge_rtp(s, s.internet, relay[0], relay[1], v.HANDSET, EARLY_PORT, FORGED)
        scriptua.forge_rtp(s, s.internet, relay[0], relay[1], v.HANDSET, ANSWER_PORT, FORGED)
        v.time.sleep(1.0)
        u4 = ua.counts()
        reasons1 = dict(d.status().get("reasons") or {})
        forged = {"to_early_port_received": u4["received"][EARLY_PORT]["forged"],
                  "to_answer_port_received": u4["received"][ANSWER_PORT]["forged"], "sent_each": FORGED,
                  "voipguard_reason_deltas": {k: reasons1.get(k, 0) - reasons0.get(k, 0) for k in reasons1
                                              if reasons1.get(k, 0) != reasons0.get(k, 0)}}
        c.figure("forged_from_relay_endpoint", forged)
        c.that(forged["to_early_port_received"] == 0,
               "forged RTP to the early port was dropped by the router (%s)" % forged)
        c.that(forged["to_answer_port_received"] >= 0.9 * FORGED,
               "control: the same forgery to the answered port reached the phone (%s)" % forged)

        closed = far.count("CALL_CLOSED")
        far.command("hangup")
        c.that(bool(far.wait_event("CALL_CLOSED", since=closed, timeout=20)), "the caller hung up")
        c.that(bool(v.wait_until(lambda: ua.dialog.get("ended"), 10, 0.1)), "the handset got the BYE")
        c.figure("voipguard_status", rp.status_figures(d))
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
