#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 2: the PBX calls the handset. The inbound INVITE carries the
PBX's media offer, the handset's answer names its RTP port; the pinhole is
opened from the two and RTP flows both ways until the PBX hangs up."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402


def main():
    v.require_environment()
    c = v.Check("e2e_02_inbound_call")
    with v.Site() as s:
        c.attach(s)
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy(append="logging:\n  level: debug\n")))
        d.start()
        c.figure("backend", d.status()["backend"])

        phone = s.sipp(s.handset, "uas_handset.xml", "-i", v.HANDSET, "-p", "5060", "-mi", v.HANDSET, "-m", "1",
                       "-timeout", "25", label="handset")
        v.time.sleep(0.5)
        pbx = s.sipp(s.internet, "uac_pbx_call.xml", v.HANDSET + ":5060", "-i", v.PBX, "-p", "5060",
                     "-mi", v.PBX_MEDIA, "-s", "201", "-d", "4500", "-m", "1", "-timeout", "25", "-timeout_error",
                     label="pbx")
        started = d.wait_log("VG_CALL_STARTED", timeout=8)
        c.that(bool(started), "the handset answered (VG_CALL_STARTED logged)")
        before = d.status()
        calls = v.json.loads(d.ctl("calls", "--json").stdout)["calls"]
        c.figure("calls_during_call", calls)
        c.that(len(calls) == 1 and calls[0]["direction"] == "inbound" and calls[0]["state"] == "confirmed",
               "`voipguard calls` shows one confirmed inbound call")
        media = calls[0]["media"][0] if calls and calls[0]["media"] else {}
        c.that(media.get("handset_rtp") == 41000 and media.get("remote") == v.PBX_MEDIA
               and media.get("remote_rtp") == 14000,
               "the pinhole is the handset's answered port 41000, for the PBX's offered %s:14000" % v.PBX_MEDIA)
        c.figure("text_calls_during_call", d.ctl("calls").stdout.strip())

        # The PBX speaks first here (its media is the flow's original direction).
        at_pbx, at_handset = v.start_rtp(s, count=150, pps=50, handset_delay=0.4, pbx_delay=0.2)
        rp, rh = s.result(at_pbx), s.result(at_handset)
        during = d.status()
        rc_pbx, rc_phone = s.sipp_wait(pbx, 25), s.sipp_wait(phone, 25)
        after = d.status()

        c.figure("sipp_pbx_rc", rc_pbx)
        c.figure("sipp_handset_rc", rc_phone)
        c.that(rc_pbx == 0, "the PBX's call completed (INVITE, 200, ACK, BYE, 200) (exit %d)" % rc_pbx)
        c.that(rc_phone == 0, "the handset answered and got the BYE (exit %d)" % rc_phone)
        got = v.sip_messages(phone.trace)
        c.figure("handset_received_sip", got)
        c.that(any(m.startswith("INVITE ") for m in got) and any(m.startswith("BYE ") for m in got),
               "INVITE and BYE from the PBX reached the handset")

        c.figure("rtp_pbx_to_handset", {"sent": rp["sent"], "received": rh["received"]})
        c.figure("rtp_handset_to_pbx", {"sent": rh["sent"], "received": rp["received"]})
        c.that(rh["received"] >= rp["sent"] * 0.98, "PBX media reached the handset: %d of %d"
               % (rh["received"], rp["sent"]))
        c.that(rp["received"] >= rh["sent"] * 0.98, "handset media reached the PBX: %d of %d"
               % (rp["received"], rh["sent"]))
        media_queued = during["queue"]["packets"] - before["queue"]["packets"]
        c.figure("media_packets_queued_to_daemon", media_queued)
        c.figure("reasons", after["reasons"])
        c.that(1 <= media_queued <= 4, "fast path: %d media packets reached the daemon" % media_queued)
        c.that(after["verdicts"]["drop"] == 0, "nothing was dropped (%d)" % after["verdicts"]["drop"])
        c.that(after["calls"] == 0 and after["pinholes"] == 0, "after the PBX's BYE: no call, no pinhole")
        started = d.log_lines("VG_CALL_STARTED")
        c.figure("syslog", started + d.log_lines("VG_PINHOLE_OPENED") + d.log_lines("VG_CALL_ENDED"))
        c.that(any("detail=inbound" in l and "handset=" + v.HANDSET in l for l in started),
               "syslog: VG_CALL_STARTED detail=inbound for the handset")
        c.that(any("handset_port=41000" in l for l in d.log_lines("VG_PINHOLE_OPENED")),
               "syslog: VG_PINHOLE_OPENED handset_port=41000")
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
