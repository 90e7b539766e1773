#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 1: the handset registers and calls the PBX; RTP flows both ways;
the call completes. The media takes the kernel fast path: after its first
packet the daemon no longer sees it (its queue counters against the packets
forwarded)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402


def main():
    v.require_environment()
    c = v.Check("e2e_01_call")
    with v.Site() as s:
        c.attach(s)
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy(append="logging:\n  level: debug\n")))
        d.start()
        st0 = d.status()
        c.figure("backend", st0["backend"])

        pbx = s.sipp(s.internet, "uas_pbx.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA, "-m", "1",
                     "-timeout", "25", label="pbx")
        v.time.sleep(0.5)
        uac = s.sipp(s.handset, "uac_call.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5060", "-mi", v.HANDSET,
                     "-s", "02079460000", "-d", "4500", "-m", "1", "-timeout", "25", "-timeout_error",
                     label="handset")
        started = d.wait_log("VG_CALL_STARTED", timeout=8)
        c.that(bool(started), "the call was answered (VG_CALL_STARTED logged)")

        before = d.status()
        calls = d.ctl("calls", "--json").stdout
        calls_json = v.json.loads(calls)["calls"]
        c.figure("calls_during_call", calls_json)
        c.that(len(calls_json) == 1 and calls_json[0]["state"] == "confirmed"
               and calls_json[0]["direction"] == "outbound" and calls_json[0]["number"] == v.masked("+442079460000"),
               "`voipguard calls` shows one confirmed outbound call to +442079460000")
        c.that(before["pinholes"] == 2, "two pinholes (RTP 41000, RTCP 41001) are open during the call (%d)"
               % before["pinholes"])

        # The handset speaks first (as a caller's phone often does): its first
        # packet is verified by the daemon (a PBX media address and port the
        # PBX's SDP allows), and the whole flow, the PBX's replies included,
        # then takes the fast path.
        at_pbx, at_handset = v.start_rtp(s, count=150, pps=50, handset_delay=0.2, pbx_delay=0.4)
        rp, rh = s.result(at_pbx), s.result(at_handset)
        during = d.status()

        rc_uac, rc_pbx = s.sipp_wait(uac, 25), s.sipp_wait(pbx, 25)
        after = d.status()
        c.figure("sipp_handset_rc", rc_uac)
        c.figure("sipp_pbx_rc", rc_pbx)
        c.that(rc_uac == 0, "the handset's sipp completed REGISTER, call and BYE (exit %d)" % rc_uac)
        c.that(rc_pbx == 0, "the PBX's sipp answered REGISTER, INVITE and BYE (exit %d)" % rc_pbx)
        pbx_got = v.sip_messages(pbx.trace)
        c.figure("pbx_received_sip", pbx_got)
        c.that(any(m.startswith("REGISTER ") for m in pbx_got) and any(m.startswith("INVITE ") for m in pbx_got)
               and any(m.startswith("BYE ") for m in pbx_got), "REGISTER, INVITE and BYE reached the PBX")

        c.figure("rtp_pbx_to_handset", {"sent": rp["sent"], "received": rh["received"]})
        c.figure("rtp_handset_to_pbx", {"sent": rh["sent"], "received": rp["received"]})
        c.that(rh["received"] >= rp["sent"] * 0.98 and list(rh["sources"]) == [v.PBX_MEDIA],
               "PBX media reached the handset: %d of %d, only from %s" % (rh["received"], rp["sent"], v.PBX_MEDIA))
        c.that(rp["received"] >= rh["sent"] * 0.98,
               "handset media reached the PBX: %d of %d" % (rp["received"], rh["sent"]))

        media_queued = during["queue"]["packets"] - before["queue"]["packets"]
        forwarded = rh["received"] + rp["received"]
        c.figure("media_packets_forwarded", forwarded)
        c.figure("media_packets_queued_to_daemon", media_queued)
        c.figure("queue_packets_total", after["queue"]["packets"])
        c.figure("kernel_queued_packets", after["kernel"]["queued_packets"])
        c.figure("reasons", after["reasons"])
        c.that(1 <= media_queued <= 4,
               "fast path: %d of %d media packets reached the daemon (the first of the flow)"
               % (media_queued, forwarded))
        c.that(after["reasons"].get("media_outbound", 0) + after["reasons"].get("media_pinhole", 0) >= 1,
               "the first media packet was judged (media_outbound or media_pinhole) and verified")
        c.that(after["verdicts"]["drop"] == 0, "nothing of the call was dropped (%d drops)" % after["verdicts"]["drop"])
        c.that(after["calls"] == 0 and after["pinholes"] == 0,
               "after BYE: %d calls, %d pinholes" % (after["calls"], after["pinholes"]))
        c.figure("pinholes_opened_closed", [after["pinholes_opened"], after["pinholes_closed"]])

        hs = v.json.loads(d.ctl("handsets", "--json").stdout)["handsets"]
        c.figure("handsets", hs)
        c.that(len(hs) == 1 and hs[0]["address"] == v.HANDSET and hs[0]["registered"],
               "the handset is listed as registered")

        lines = {k: d.log_lines(k) for k in ("VG_HANDSET_REGISTERED", "VG_CALL_STARTED", "VG_CALL_ENDED",
                                             "VG_PINHOLE_OPENED", "VG_PINHOLE_CLOSED")}
        c.figure("syslog", {k: l[:2] for k, l in lines.items()})
        c.that(any("handset=%s" % v.HANDSET in l for l in lines["VG_HANDSET_REGISTERED"]),
               "syslog: VG_HANDSET_REGISTERED names the handset")
        c.that(any("number=%s" % v.masked("+442079460000") in l and "detail=outbound" in l for l in lines["VG_CALL_STARTED"]),
               "syslog: VG_CALL_STARTED with the number, outbound")
        c.that(any("detail=bye" in l for l in lines["VG_CALL_ENDED"]), "syslog: VG_CALL_ENDED detail=bye")
        c.that(len(lines["VG_PINHOLE_OPENED"]) == 2 and len(lines["VG_PINHOLE_CLOSED"]) == 2,
               "syslog: two pinholes opened and closed")
        c.that(d.stop() == 0, "voipguard stopped cleanly on SIGTERM")
    c.finish()


if __name__ == "__main__":
    main()
