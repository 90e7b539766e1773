#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 8: a hijacked handset sends SIP to a rogue server (REGISTER and
INVITE over UDP, a TCP connection to its SIP port). None of it reaches the
rogue server, each is logged naming the handset and the server; the same
handset still registers with the real PBX."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

HANDSET3 = "192.168.20.12"


def main():
    v.require_environment()
    c = v.Check("e2e_08_rogue_sip")
    with v.Site() as s:
        c.attach(s)
        s.run(s.handset, "ip", "addr", "add", HANDSET3 + "/24", "dev", "vgh0")
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy(append="logging:\n  aggregate_window: 2s\n")))
        d.start()
        c.figure("backend", d.status()["backend"])
        rogue = s.sipp(s.internet, "uas_register.xml", "-i", v.ROGUE, "-p", "5060", "-timeout", "15", label="rogue")
        rogue_tcp = s.probe_bg(s.internet, "tcp-listen", "--bind", v.ROGUE, "--port", "5060", "--seconds", "6")
        rogue_other = s.probe_bg(s.internet, "udp-recv", "--bind", v.ROGUE, "--port", "5080", "--seconds", "6")
        pbx = s.sipp(s.internet, "uas_register.xml", "-i", v.PBX, "-p", "5060", "-m", "1", "-timeout", "15",
                     label="pbx")
        v.time.sleep(0.5)

        reg = s.sipp(s.handset, "uac_register.xml", v.ROGUE + ":5060", "-i", v.HANDSET, "-p", "5061", "-m", "1",
                     "-timeout", "4", "-timeout_error", label="register-rogue")
        inv = s.sipp(s.handset, "uac_invite.xml", v.ROGUE + ":5060", "-i", v.HANDSET2, "-p", "5061",
                     "-mi", v.HANDSET2, "-s", "02079460000", "-d", "500", "-m", "1", "-timeout", "4",
                     "-timeout_error", label="invite-rogue")
        # From a third handset: the log aggregates per handset.
        tcp = s.probe_bg(s.handset, "tcp-connect", "--src", HANDSET3, "--dst", v.ROGUE, "--port", "5060",
                         "--timeout", "2")
        good = s.sipp(s.handset, "uac_register.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5060", "-m", "1",
                      "-timeout", "5", "-timeout_error", label="register-pbx")
        # Informational: SIP to the rogue server on a port the policy does not
        # call SIP (egress mode open: the kernel does not queue it).
        other = s.probe(s.handset, "udp-send", "--src", v.HANDSET, "--sport", "5062", "--dst", v.ROGUE,
                        "--dport", "5080", "--count", "3", "--kind", "sip-register", "--ua", "Yealink SIP-T46S")

        rc_reg, rc_inv, rc_good = s.sipp_wait(reg, 15), s.sipp_wait(inv, 15), s.sipp_wait(good, 15)
        tcp_ok = s.result(tcp)["connected"]
        tcp_got = s.result(rogue_tcp, 15)
        other_got = s.result(rogue_other, 15)
        rogue.kill()
        rogue.wait()
        st = d.status()
        at_rogue = v.sip_messages(rogue.trace)
        c.figure("register_to_rogue_rc", rc_reg)
        c.figure("invite_to_rogue_rc", rc_inv)
        c.figure("register_to_pbx_rc", rc_good)
        c.figure("register_sent_to_rogue", len(v.requests(reg.trace, "REGISTER", "sent")))
        c.figure("invite_sent_to_rogue", len(v.requests(inv.trace, "INVITE", "sent")))
        c.figure("sip_received_at_rogue_udp5060", at_rogue)
        c.figure("tcp_connect_to_rogue_5060", tcp_ok)
        c.figure("tcp_accepted_at_rogue", tcp_got["accepted"])
        c.figure("info_sip_on_udp5080_sent_received", [other["sent"], other_got["received"]])
        c.figure("reasons", st["reasons"])
        c.that(rc_reg != 0 and rc_inv != 0, "REGISTER and INVITE to the rogue server got no answer")
        c.that(not at_rogue, "nothing reached the rogue server's SIP port (%d messages)" % len(at_rogue))
        c.that(not tcp_ok and tcp_got["accepted"] == 0, "no TCP connection to the rogue server's SIP port")
        c.that(rc_good == 0, "the handset still registers with the PBX")
        c.that(st["reasons"].get("rogue_sip_destination", 0) >= 3,
               "the daemon dropped them as rogue_sip_destination (%d)" % st["reasons"].get("rogue_sip_destination", 0))
        lines = d.log_lines("VG_ROGUE_SIP_DESTINATION")
        c.figure("syslog", lines)
        c.that(any("handset=%s " % v.HANDSET in l and "dst=%s " % v.ROGUE in l and "method=REGISTER" in l
                   for l in lines), "syslog: VG_ROGUE_SIP_DESTINATION handset=%s dst=%s method=REGISTER"
               % (v.HANDSET, v.ROGUE))
        c.that(any("handset=%s " % v.HANDSET2 in l and "method=INVITE" in l and "detail=sip:" in l for l in lines),
               "syslog: VG_ROGUE_SIP_DESTINATION handset=%s method=INVITE with the Request-URI" % v.HANDSET2)
        c.that(any("handset=%s " % HANDSET3 in l and "proto=tcp" in l and "dst_port=5060" in l for l in lines),
               "syslog: VG_ROGUE_SIP_DESTINATION handset=%s proto=tcp dst_port=5060" % HANDSET3)
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
