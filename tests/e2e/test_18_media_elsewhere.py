#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 18: the PBX's SDP names a media address that is not the PBX's
(a hostile or misconfigured answer: here the attacker's address). The
handset's RTP to it must not leave, and must not open a way back: the
attacker's packets to the handset's media port never arrive, during the
call or after it. Before the fix the handset's RTP passed as plain egress and
the kernel let the attacker's replies in as return traffic."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402


def main():
    v.require_environment()
    c = v.Check("e2e_18_media_elsewhere")
    with v.Site() as s:
        c.attach(s)
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy()))
        d.start()
        c.figure("backend", d.status()["backend"])
        # The "PBX" answers with the attacker's address in its SDP.
        pbx = s.sipp(s.internet, "uas_answer.xml", "-i", v.PBX, "-p", "5060", "-mi", v.ATTACKER, "-m", "1",
                     "-timeout", "25", label="pbx")
        v.time.sleep(0.5)
        uac = s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5060", "-mi", v.HANDSET,
                     "-s", "02079460000", "-d", "5000", "-m", "1", "-timeout", "25", "-timeout_error",
                     label="handset")
        c.that(bool(d.wait_log("VG_CALL_STARTED", timeout=8)), "the call was answered")
        # The handset sends first (its RTP would make the attacker's replies
        # return traffic), then the attacker answers on the same ports.
        at_attacker, at_handset = v.start_rtp(s, media=v.ATTACKER, count=150, pps=50, handset_delay=0.2,
                                              pbx_delay=0.6)
        ra, rh = s.result(at_attacker, 20), s.result(at_handset, 20)
        rc_uac, rc_pbx = s.sipp_wait(uac, 25), s.sipp_wait(pbx, 25)
        # After the call: the attacker tries the handset's media port again.
        late = s.probe(s.internet, "udp-send", "--src", v.ATTACKER, "--sport", "14000", "--dst", v.HANDSET,
                       "--dport", "41000", "--count", "50", "--pps", "50", "--kind", "rtp")
        st = d.status()

        c.figure("handset_rtp_sent_to_sdp_address", rh["sent"])
        c.figure("received_by_that_address", ra["received"])
        c.figure("attacker_rtp_sent", ra["sent"])
        c.figure("handset_received_by_source", rh["sources"])
        c.figure("attacker_sent_after_the_call", late["sent"])
        c.figure("reasons", st["reasons"])
        c.that(rc_uac == 0 and rc_pbx == 0, "the call's signalling completed (sipp exit %d / %d)" % (rc_uac, rc_pbx))
        c.that(rh["sent"] >= 100 and ra["received"] == 0,
               "none of the handset's %d RTP packets reached the SDP's non-PBX address (%d did)"
               % (rh["sent"], ra["received"]))
        c.that(rh["sources"].get(v.ATTACKER, 0) == 0,
               "none of the attacker's %d packets reached the handset (%d did)"
               % (ra["sent"], rh["sources"].get(v.ATTACKER, 0)))
        c.that(st["reasons"].get("media_destination_denied", 0) >= rh["sent"] * 0.98,
               "the daemon dropped the handset's RTP as media_destination_denied (%d)"
               % st["reasons"].get("media_destination_denied", 0))
        warn = d.log_lines("VG_MEDIA_ADDRESS_NOT_ALLOWED")
        denied = d.log_lines("VG_MEDIA_DESTINATION_DENIED")
        c.figure("syslog", warn[:1] + denied[:1])
        c.that(any("detail=" + v.ATTACKER in l for l in warn), "syslog: the SDP's address was reported at answer time")
        c.that(any("dst=" + v.ATTACKER in l and "handset_port=41000" in l for l in denied),
               "syslog: VG_MEDIA_DESTINATION_DENIED names the handset port and the address")
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
