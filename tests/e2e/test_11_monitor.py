#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 11: `mode: monitor`. The same attacks as in enforce mode (scan,
UDP and TCP probes, a call to +882, a REGISTER to a rogue server) all reach
their target: nothing is dropped. What would have been dropped is counted
(kernel counters, the daemon's `monitored`) and logged."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402


def main():
    v.require_environment()
    c = v.Check("e2e_11_monitor")
    with v.Site() as s:
        c.attach(s)
        policy = v.demo_policy(replace=[("mode: enforce", "mode: monitor")], append="logging:\n  aggregate_window: 2s\n")
        d = v.Daemon(s, s.file("policy.yaml", policy))
        d.start()
        st0 = d.status()
        c.figure("backend", st0["backend"])
        c.that(st0["mode"] == "monitor", "the daemon runs in monitor mode")
        c.that(any("mode=monitor" in l for l in d.log_lines("VG_START")), "syslog: VG_START mode=monitor")

        pbx = s.sipp(s.internet, "uas_answer.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA, "-m", "1",
                     "-timeout", "20", label="pbx")
        rogue = s.sipp(s.internet, "uas_register.xml", "-i", v.ROGUE, "-p", "5060", "-m", "1", "-timeout", "20",
                       label="rogue")
        rx = s.probe_bg(s.handset, "udp-recv", "--bind", v.HANDSET, "--port", "5060,41000", "--seconds", "3.5")
        tcp = s.probe_bg(s.handset, "tcp-listen", "--bind", v.HANDSET, "--port", "22", "--seconds", "3.5")
        v.time.sleep(0.5)
        scan = s.probe_bg(s.internet, "udp-send", "--src", v.ATTACKER, "--sport", "5070", "--dst", v.HANDSET,
                          "--dport", "5060", "--count", "20", "--pps", "20", "--kind", "sip-options",
                          "--ua", "friendly-scanner")
        probe = s.probe_bg(s.internet, "udp-send", "--src", v.ATTACKER, "--sport", "30000", "--dst", v.HANDSET,
                           "--dport", "41000", "--count", "10", "--pps", "20", "--kind", "rtp")
        conn = s.probe_bg(s.internet, "tcp-connect", "--src", v.ATTACKER, "--dst", v.HANDSET, "--port", "22")
        fraud = s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", v.HANDSET2, "-p", "5060",
                       "-mi", v.HANDSET2, "-s", "0088213000001", "-d", "300", "-m", "1", "-timeout", "6",
                       "-timeout_error", label="fraud")
        reg = s.sipp(s.handset, "uac_register.xml", v.ROGUE + ":5060", "-i", v.HANDSET2, "-p", "5061", "-m", "1",
                     "-timeout", "6", "-timeout_error", label="rogue-register")
        sent = s.result(scan)["sent"] + s.result(probe)["sent"]
        connected = s.result(conn)["connected"]
        got, accepted = s.result(rx, 10), s.result(tcp, 10)
        rc_fraud, rc_reg = s.sipp_wait(fraud, 10), s.sipp_wait(reg, 10)
        s.sipp_wait(pbx, 5)
        s.sipp_wait(rogue, 5)
        st = d.status()

        c.figure("attacker_udp_sent_received", [sent, got["sources"].get(v.ATTACKER, 0)])
        c.figure("attacker_tcp22_connected", connected)
        c.figure("call_to_+882_rc", rc_fraud)
        c.figure("register_to_rogue_rc", rc_reg)
        c.figure("invites_at_pbx", v.requests(pbx.trace, "INVITE"))
        c.figure("verdicts", st["verdicts"])
        c.figure("monitored", st["monitored"])
        c.figure("reasons", st["reasons"])
        c.figure("kernel_inbound_drop_packets_would_drop", st["kernel"]["inbound_drop_packets"])
        c.that(got["sources"].get(v.ATTACKER, 0) == sent, "all %d attacker UDP packets arrived (%d)"
               % (sent, got["sources"].get(v.ATTACKER, 0)))
        c.that(connected and accepted["accepted"] == 1, "the attacker's TCP connection to port 22 succeeded")
        c.that(rc_fraud == 0, "the call to +882 was let through and answered")
        c.that(rc_reg == 0, "the REGISTER to the rogue server was let through and answered")
        c.that(st["verdicts"]["drop"] == 0, "the daemon dropped nothing (%d)" % st["verdicts"]["drop"])
        c.that(st["monitored"] >= 2, "it counted %d would-drop verdicts (toll fraud, rogue SIP)" % st["monitored"])
        c.that(st["reasons"].get("toll_fraud", 0) >= 1 and st["reasons"].get("rogue_sip_destination", 0) >= 1,
               "the would-drop reasons are toll_fraud and rogue_sip_destination")
        c.that(st["kernel"]["inbound_drop_packets"] >= sent + 1,
               "the kernel counted %d would-drop packets without dropping them" % st["kernel"]["inbound_drop_packets"])
        v.wait_until(lambda: d.log_lines("VG_KERNEL_DROP", "src=" + v.ATTACKER), 3)
        lines = {k: d.log_lines(k) for k in ("VG_TOLL_FRAUD_BLOCKED", "VG_ROGUE_SIP_DESTINATION",
                                             "VG_SCANNER_DETECTED", "VG_KERNEL_DROP")}
        c.figure("syslog", lines)
        c.that(any("number=" + v.masked("+88213000001") in l for l in lines["VG_TOLL_FRAUD_BLOCKED"]),
               "syslog: would-drop VG_TOLL_FRAUD_BLOCKED number=+88213000001")
        c.that(any("dst=" + v.ROGUE in l for l in lines["VG_ROGUE_SIP_DESTINATION"]),
               "syslog: would-drop VG_ROGUE_SIP_DESTINATION dst=%s" % v.ROGUE)
        c.that(any("src=" + v.ATTACKER in l for l in lines["VG_SCANNER_DETECTED"]),
               "syslog: VG_SCANNER_DETECTED src=%s" % v.ATTACKER)
        c.that(any("src=" + v.ATTACKER in l for l in lines["VG_KERNEL_DROP"]),
               "syslog: would-drop VG_KERNEL_DROP src=%s" % v.ATTACKER)
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
