#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 12: IPv6. The handset (fd00:20::10) registers and calls the PBX
over IPv6 (2001:db8:100::10, media from 2001:db8:100::70), RTP both ways on
the fast path; meanwhile an IPv6 attacker (2001:db8:666::66) scans the
second handset address and injects media into the call. None of the
attacker's packets arrive."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

HANDSET6_2 = "fd00:20::11"


def main():
    v.require_environment()
    c = v.Check("e2e_12_ipv6")
    with v.Site() as s:
        c.attach(s)
        policy = v.demo_policy(replace=[
            ("addresses: [203.0.113.10]", 'addresses: [203.0.113.10, "%s"]' % v.PBX6),
            ("addresses: [203.0.113.64/27]", 'addresses: [203.0.113.64/27, "2001:db8:100::40/122"]'),
        ], append="logging:\n  aggregate_window: 3s\n")
        d = v.Daemon(s, s.file("policy.yaml", policy))
        d.start()
        c.figure("backend", d.status()["backend"])

        pbx = s.sipp(s.internet, "uas_pbx.xml", "-i", v.PBX6, "-p", "5060", "-mi", v.PBX_MEDIA6, "-m", "1",
                     "-timeout", "25", label="pbx")
        v.time.sleep(0.5)
        uac = s.sipp(s.handset, "uac_call.xml", "[%s]:5060" % v.PBX6, "-i", v.HANDSET6, "-p", "5060",
                     "-mi", v.HANDSET6, "-s", "02079460000", "-d", "5000", "-m", "1", "-timeout", "25",
                     "-timeout_error", label="handset")
        c.that(bool(d.wait_log("VG_CALL_STARTED", timeout=8)), "the IPv6 call was answered")
        before = d.status()
        calls = v.json.loads(d.ctl("calls", "--json").stdout)["calls"]
        c.figure("calls_during_call", calls)
        c.that(len(calls) == 1 and calls[0]["handset"] == v.HANDSET6 and calls[0]["pbx"] == v.PBX6
               and calls[0]["media"] and calls[0]["media"][0]["remote"] == v.PBX_MEDIA6,
               "`voipguard calls`: %s -> %s, media from %s" % (v.HANDSET6, v.PBX6, v.PBX_MEDIA6))

        rx = s.probe_bg(s.handset, "udp-recv", "--bind", HANDSET6_2, "--port", "5060,41000", "--seconds", "3.5")
        tcp = s.probe_bg(s.handset, "tcp-listen", "--bind", "::", "--port", "22", "--seconds", "3.5")
        at_pbx, at_handset = v.start_rtp(s, handset=v.HANDSET6, media=v.PBX_MEDIA6, count=150, pps=50,
                                         pbx_delay=0.2, handset_delay=0.5)
        v.time.sleep(0.5)
        attack = [
            s.probe_bg(s.internet, "udp-send", "--src", v.ATTACKER6, "--sport", "5070", "--dst", HANDSET6_2,
                       "--dport", "5060", "--count", "20", "--pps", "20", "--kind", "sip-options",
                       "--ua", "friendly-scanner"),
            s.probe_bg(s.internet, "udp-send", "--src", v.ATTACKER6, "--sport", "30000", "--dst", HANDSET6_2,
                       "--dport", "41000", "--count", "20", "--pps", "20"),
            s.probe_bg(s.internet, "udp-send", "--src", v.ATTACKER6, "--sport", "30002", "--dst", v.HANDSET6,
                       "--dport", "41000", "--count", "50", "--pps", "25", "--kind", "rtp"),
        ]
        conn = s.probe_bg(s.internet, "tcp-connect", "--src", v.ATTACKER6, "--dst", v.HANDSET6, "--port", "22")
        sent = [s.result(p)["sent"] for p in attack]
        connected = s.result(conn)["connected"]
        rp, rh = s.result(at_pbx), s.result(at_handset)
        during = d.status()
        got, accepted = s.result(rx, 10), s.result(tcp, 10)
        rc_uac, rc_pbx = s.sipp_wait(uac, 25), s.sipp_wait(pbx, 25)
        st = d.status()

        c.figure("sipp_rc", [rc_uac, rc_pbx])
        c.figure("rtp_pbx_to_handset", {"sent": rp["sent"], "received": rh["sources"].get(v.PBX_MEDIA6, 0)})
        c.figure("rtp_handset_to_pbx", {"sent": rh["sent"], "received": rp["received"]})
        c.figure("handset_media_sources", rh["sources"])
        c.figure("media_packets_queued_to_daemon", during["queue"]["packets"] - before["queue"]["packets"])
        c.figure("attacker_sent", sum(sent) + 1)
        c.figure("attacker_received", got["received"] + rh["sources"].get(v.ATTACKER6, 0) + accepted["accepted"])
        c.figure("kernel_inbound_drop_packets", st["kernel"]["inbound_drop_packets"])
        c.figure("reasons", st["reasons"])
        c.that(rc_uac == 0 and rc_pbx == 0, "REGISTER, call and BYE over IPv6 completed (sipp %d / %d)"
               % (rc_uac, rc_pbx))
        c.that(rh["sources"].get(v.PBX_MEDIA6, 0) >= rp["sent"] * 0.98 and rp["received"] >= rh["sent"] * 0.98,
               "IPv6 RTP both ways: %d of %d to the handset, %d of %d to the PBX"
               % (rh["sources"].get(v.PBX_MEDIA6, 0), rp["sent"], rp["received"], rh["sent"]))
        q = during["queue"]["packets"] - before["queue"]["packets"]
        c.that(1 <= q <= 4, "fast path over IPv6: %d media packets reached the daemon" % q)
        c.that(got["received"] == 0 and v.ATTACKER6 not in rh["sources"] and not connected
               and accepted["accepted"] == 0, "nothing from the IPv6 attacker arrived")
        c.that(st["kernel"]["inbound_drop_packets"] >= sum(sent) + 1,
               "ip6tables dropped and counted the attack (%d)" % st["kernel"]["inbound_drop_packets"])
        v.wait_until(lambda: d.log_lines("VG_KERNEL_DROP", "src=" + v.ATTACKER6), 3)
        lines = d.log_lines("src=" + v.ATTACKER6) + d.log_lines("VG_CALL_STARTED") + d.log_lines("VG_HANDSET_REGISTERED")
        c.figure("syslog", lines)
        c.that(any(l.startswith("VG_SCANNER_DETECTED") and "ua=friendly-scanner" in l for l in lines),
               "syslog: VG_SCANNER_DETECTED src=%s ua=friendly-scanner" % v.ATTACKER6)
        c.that(any(l.startswith("VG_KERNEL_DROP") for l in lines), "syslog: VG_KERNEL_DROP src=%s" % v.ATTACKER6)
        c.that(any(l.startswith("VG_HANDSET_REGISTERED") and "handset=" + v.HANDSET6 in l for l in lines),
               "syslog: VG_HANDSET_REGISTERED handset=%s" % v.HANDSET6)
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
