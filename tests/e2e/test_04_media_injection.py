#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 4: media injection during a call. An attacker on the internet
sends RTP to the handset's open media port (RTP and RTCP), and a host inside
the PBX's media range that the SDP did not name (media.strict_source_port)
does too. Nothing of it arrives; the PBX's media is unaffected."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

ROGUE_MEDIA = "203.0.113.90"  # inside the PBX media range 203.0.113.64/27, not in the SDP


def main():
    v.require_environment()
    c = v.Check("e2e_04_media_injection")
    with v.Site() as s:
        c.attach(s)
        s.add_internet_address(ROGUE_MEDIA)
        policy = v.demo_policy(append="media:\n  strict_source_port: true\n")
        d = v.Daemon(s, s.file("policy.yaml", policy))
        d.start()
        c.figure("backend", d.status()["backend"])

        pbx = s.sipp(s.internet, "uas_pbx.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA, "-m", "1",
                     "-timeout", "25", label="pbx")
        v.time.sleep(0.5)
        uac = s.sipp(s.handset, "uac_call.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5060", "-mi", v.HANDSET,
                     "-s", "02079460000", "-d", "6000", "-m", "1", "-timeout", "25", "-timeout_error",
                     label="handset")
        c.that(bool(d.wait_log("VG_CALL_STARTED", timeout=8)), "the call was answered")

        at_pbx, at_handset = v.start_rtp(s, count=200, pps=50, pbx_delay=0.2, handset_delay=0.3)
        v.time.sleep(1.0)
        attack = [
            s.probe_bg(s.internet, "udp-send", "--src", v.ATTACKER, "--sport", "30000", "--dst", v.HANDSET,
                       "--dport", "41000", "--count", "100", "--pps", "50", "--kind", "rtp"),
            s.probe_bg(s.internet, "udp-send", "--src", v.ATTACKER, "--sport", "30001", "--dst", v.HANDSET,
                       "--dport", "41001", "--count", "50", "--pps", "25", "--kind", "rtp"),
            s.probe_bg(s.internet, "udp-send", "--src", ROGUE_MEDIA, "--sport", "14000", "--dst", v.HANDSET,
                       "--dport", "41000", "--count", "50", "--pps", "25", "--kind", "rtp"),
        ]
        sent = [s.result(p)["sent"] for p in attack]
        rp, rh = s.result(at_pbx), s.result(at_handset)
        rc_uac, rc_pbx = s.sipp_wait(uac, 25), s.sipp_wait(pbx, 25)
        st = d.status()

        c.figure("injected_sent", {"attacker_to_41000": sent[0], "attacker_to_41001": sent[1],
                                   "media_range_host_to_41000": sent[2]})
        c.figure("handset_received_by_source", rh["sources"])
        c.figure("rtp_pbx_to_handset", {"sent": rp["sent"], "received": rh["sources"].get(v.PBX_MEDIA, 0)})
        c.figure("rtp_handset_to_pbx", {"sent": rh["sent"], "received": rp["received"]})
        c.that(set(rh["sources"]) <= {v.PBX_MEDIA}, "only the PBX's media reached the handset's media port")
        c.that(rh["sources"].get(v.PBX_MEDIA, 0) >= rp["sent"] * 0.98,
               "PBX media unaffected: %d of %d arrived" % (rh["sources"].get(v.PBX_MEDIA, 0), rp["sent"]))
        c.that(rp["received"] >= rh["sent"] * 0.98, "handset media unaffected: %d of %d arrived"
               % (rp["received"], rh["sent"]))
        c.that(rc_uac == 0 and rc_pbx == 0, "the call completed (sipp exit %d / %d)" % (rc_uac, rc_pbx))

        c.figure("kernel_inbound_drop_packets", st["kernel"]["inbound_drop_packets"])
        c.figure("reasons", st["reasons"])
        c.that(st["kernel"]["inbound_drop_packets"] >= sent[0] + sent[1],
               "the attacker's %d packets were dropped in the kernel (%d counted)"
               % (sent[0] + sent[1], st["kernel"]["inbound_drop_packets"]))
        c.that(st["reasons"].get("media_injection", 0) >= sent[2],
               "the media-range host's %d packets were dropped by the daemon as media_injection (%d)"
               % (sent[2], st["reasons"].get("media_injection", 0)))
        inj = d.log_lines("VG_MEDIA_INJECTION")
        kd = d.log_lines("VG_KERNEL_DROP", "src=" + v.ATTACKER)
        c.figure("syslog", inj + kd)
        c.that(any("src=" + ROGUE_MEDIA in l and "handset_port=41000" in l for l in inj),
               "syslog: VG_MEDIA_INJECTION names the source and the handset port")
        c.that(any("dst_port=4100" in l for l in kd), "syslog: VG_KERNEL_DROP names the attacker and the media port")
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
