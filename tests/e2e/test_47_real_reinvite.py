#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 47: a re-INVITE that changes the codec and the media port in the
middle of a call with real peers. A handset (201, scripted: baresip 1.0 has
no command to change its codec or port) calls the far-end baresip 300 via
Kamailio and rtpengine through voipguard with G.711 u-law on port 40000,
then re-INVITEs offering only A-law on port 40100. Audio must flow both ways
before and after the change (counted at the handset per port and payload
type, and at the far-end phone by iptables counters), the far end's audio
after the change must arrive on the new port in A-law, and voipguard must
drop nothing of it. Then, as an attacker: RTP forged from the media relay's
exact endpoint to the old port after the grace must be dropped by the
router, while the same forgery to the new port passes (the control that
shows the forgery itself would reach the phone)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import realpeers as rp  # noqa: E402
import scriptua  # noqa: E402

OLD_PORT = 40000
NEW_PORT = 40100
MIN_RTP = 150  # packets each way in 4 s of 20 ms packets (200 expected)
FORGED = 50


def main():
    v.require_environment()
    rp.Pbx.require()
    rp.RtpEngine.require()
    rp.Phone.require()
    c = v.Check("e2e_47_real_reinvite")
    with rp.RealSite() as s:
        c.attach(s)
        d, pbx, far = rp.start_site(c, s, expires=600)
        ua = scriptua.ScriptPhone(s, s.handset, v.HANDSET, "201", rp.USERS["201"], rp.REALM)
        c.that(ua.register(), "201 (scripted) registered with digest authentication")
        c.that(bool(v.wait_until(lambda: pbx.registrations("300"), 30, 0.2)), "300 (baresip) registered")

        fc = far.counter()
        ok = ua.call("300", OLD_PORT, "PCMU") is not None
        c.that(ok and bool(far.wait_event("CALL_ESTABLISHED", timeout=30)), "201 called 300, answered")
        relay = ua.dialog["remote_media"] if ok else None
        c.figure("relay_endpoint_for_handset", relay)

        # Before the change: 4 s of audio on the old port, u-law.
        v.time.sleep(1.0)
        u0, f0 = ua.counts(), fc.read()
        v.time.sleep(4.0)
        u1, f1 = ua.counts(), fc.read()
        before = {"handset_rx_old_port": u1["received"][OLD_PORT]["packets"] - u0["received"][OLD_PORT]["packets"],
                  "handset_tx_old_port": u1["sent"][OLD_PORT] - u0["sent"][OLD_PORT],
                  "handset_rx_payload_types_since_answer": u1["received"][OLD_PORT]["pt"],
                  "far_rx": f1["rx"] - f0["rx"], "far_tx": f1["tx"] - f0["tx"]}
        c.figure("before_change", before)
        c.that(all(before[k] >= MIN_RTP for k in ("handset_rx_old_port", "handset_tx_old_port", "far_rx", "far_tx")),
               "before the change: audio both ways at both ends (%s)" % before)
        c.that(set(u1["received"][OLD_PORT]["pt"]) == {0}, "before the change: the far end sent u-law (PT 0)")
        calls_before = d.ctl("calls", "--json", check=False).stdout.strip()
        st0 = d.status()
        bad0 = rp.bad_lines(d)

        # The re-INVITE: only A-law, on the new port.
        t_change = v.time.monotonic()
        r = ua.reinvite(NEW_PORT, "PCMA")
        c.that(r is not None, "the re-INVITE (new port, A-law only) was answered 200 by baresip via the PBX")
        if r is not None:
            c.figure("reinvite_answer_media", scriptua.sdp_endpoint(scriptua._body(r)))
        c.that(r is not None and scriptua.sdp_endpoint(scriptua._body(r))[2][:1] == [8],
               "the answer chose A-law (PT 8)")
        v.time.sleep(1.0)
        u2, f2 = ua.counts(), fc.read()
        v.time.sleep(4.0)
        u3, f3 = ua.counts(), fc.read()
        old_total_at_change = u2["received"][OLD_PORT]["packets"]
        after = {"handset_rx_new_port": u3["received"][NEW_PORT]["packets"] - u2["received"][NEW_PORT]["packets"],
                 "handset_tx_new_port": u3["sent"][NEW_PORT] - u2["sent"][NEW_PORT],
                 "handset_rx_new_port_payload_types_since_change": u3["received"][NEW_PORT]["pt"],
                 "handset_rx_old_port_after_1s": u3["received"][OLD_PORT]["packets"] - old_total_at_change,
                 "handset_rx_old_port_between_change_and_1s": old_total_at_change - u1["received"][OLD_PORT]["packets"],
                 "far_rx": f3["rx"] - f2["rx"], "far_tx": f3["tx"] - f2["tx"]}
        c.figure("after_change", after)
        c.that(all(after[k] >= MIN_RTP for k in ("handset_rx_new_port", "handset_tx_new_port", "far_rx", "far_tx")),
               "after the change: audio both ways at both ends on the new port (%s)" % after)
        pts = u3["received"][NEW_PORT]["pt"]
        c.that(pts.get(8, 0) >= MIN_RTP and pts.get(8, 0) >= 0.95 * sum(pts.values()),
               "after the change: the far end's audio arrives in A-law (PT 8) on the new port (%s)" % pts)
        c.that(after["handset_rx_old_port_after_1s"] == 0, "after the change: nothing more arrives on the old port")
        calls_after = d.ctl("calls", "--json", check=False).stdout.strip()
        c.figure("voipguard_calls_before", calls_before[:600])
        c.figure("voipguard_calls_after", calls_after[:600])
        c.that("%d" % NEW_PORT in calls_after and '"handset_port":%d' % OLD_PORT not in calls_after.replace(" ", ""),
               "voipguard's calls list the new port's pinhole, not the old one")
        st1 = d.status()
        c.figure("pinholes_before_after", [st0.get("pinholes"), st1.get("pinholes")])
        c.that(st0.get("pinholes") == st1.get("pinholes"), "as many pinholes after the change as before")
        bad1 = rp.bad_lines(d)
        c.figure("syslog_drops_during_call", bad1[:10])
        c.that(len(bad1) == len(bad0) == 0,
               "voipguard dropped nothing of the call's traffic, before or after the change (%d lines)" % len(bad1))

        # The attacker: RTP forged from the relay's exact endpoint, well after the grace.
        c.that(v.time.monotonic() - t_change > 2.0, "the forgery comes after the grace (0.5 s)")
        st2 = d.status()
        reasons0 = dict(st2.get("reasons") or {})
        c.figure("voipguard_verdicts_before_forgery", st2.get("verdicts"))
        c.that((st2.get("verdicts") or {}).get("drop", 0) == 0,
               "no packet of the call dropped, not even media in flight to the old port (reasons %s)" % reasons0)
        if relay:
            scriptua.forge_rtp(s, s.internet, relay[0], relay[1], v.HANDSET, OLD_PORT, FORGED)
            scriptua.forge_rtp(s, s.internet, relay[0], relay[1], v.HANDSET, NEW_PORT, FORGED)
        v.time.sleep(1.0)
        u4 = ua.counts()
        reasons1 = dict(d.status().get("reasons") or {})
        forged = {"to_old_port_received": u4["received"][OLD_PORT]["forged"],
                  "to_new_port_received": u4["received"][NEW_PORT]["forged"], "sent_each": FORGED,
                  "voipguard_reason_deltas": {k: reasons1.get(k, 0) - reasons0.get(k, 0) for k in reasons1
                                              if reasons1.get(k, 0) != reasons0.get(k, 0)}}
        c.figure("forged_from_relay_endpoint", forged)
        c.that(forged["to_old_port_received"] == 0, "forged RTP to the old port was dropped by the router (%s)" % forged)
        c.that(forged["to_new_port_received"] >= 0.9 * FORGED,
               "control: the same forgery to the open new port reached the phone (%s)" % forged)

        c.that(ua.hangup(), "201 hung up (BYE answered 200)")
        c.that(bool(far.wait_event("CALL_CLOSED", timeout=20)), "the far-end phone saw the call end")
        st = d.status()
        c.figure("voipguard_reasons", st.get("reasons"))
        c.figure("voipguard_status", rp.status_figures(d))
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
