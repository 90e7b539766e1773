#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 6: the support provider (198.51.100.7, tcp/22 and tcp/443 in the
demo policy) reaches those handset ports and no others; the attacker reaches
none of them."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

TCP_PORTS = ["22", "443", "23", "8080"]


def main():
    v.require_environment()
    c = v.Check("e2e_06_support")
    with v.Site() as s:
        c.attach(s)
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy()))
        d.start()
        c.figure("backend", d.status()["backend"])
        tcp = s.probe_bg(s.handset, "tcp-listen", "--bind", "0.0.0.0", "--port", ",".join(TCP_PORTS),
                         "--seconds", "4.5")
        udp = s.probe_bg(s.handset, "udp-recv", "--bind", "0.0.0.0", "--port", "22,443", "--seconds", "4.5")
        v.time.sleep(0.5)
        tries = []  # (source, destination, port)
        for port in TCP_PORTS:
            tries.append((v.SUPPORT, v.HANDSET, port))
            tries.append((v.ATTACKER, v.HANDSET, port))
        tries.append((v.SUPPORT, v.HANDSET2, "22"))
        procs = [s.probe_bg(s.internet, "tcp-connect", "--src", src, "--dst", dst, "--port", port, "--timeout", "1.5")
                 for src, dst, port in tries]
        udp_sent = s.probe(s.internet, "udp-send", "--src", v.SUPPORT, "--dst", v.HANDSET, "--dport", "22",
                           "--count", "10", "--pps", "20")["sent"]
        results = {}
        for (src, dst, port), p in zip(tries, procs):
            results["%s->%s:%s" % (src, dst, port)] = s.result(p)["connected"]
        accepted, udp_got = s.result(tcp, 15), s.result(udp, 15)
        st = d.status()
        c.figure("tcp_connects", results)
        c.figure("accepted_at_handset", accepted)
        c.figure("support_udp22_sent_received", [udp_sent, udp_got["received"]])
        c.figure("kernel_inbound_drop_packets", st["kernel"]["inbound_drop_packets"])
        c.figure("verdicts", st["verdicts"])

        for port in ("22", "443"):
            c.that(results["%s->%s:%s" % (v.SUPPORT, v.HANDSET, port)],
                   "support reaches its listed port tcp/%s" % port)
            c.that(not results["%s->%s:%s" % (v.ATTACKER, v.HANDSET, port)],
                   "the attacker does not reach tcp/%s" % port)
        c.that(results["%s->%s:22" % (v.SUPPORT, v.HANDSET2)], "support reaches tcp/22 of the second handset")
        for port in ("23", "8080"):
            c.that(not results["%s->%s:%s" % (v.SUPPORT, v.HANDSET, port)],
                   "support does not reach the unlisted port tcp/%s" % port)
            c.that(not results["%s->%s:%s" % (v.ATTACKER, v.HANDSET, port)],
                   "the attacker does not reach tcp/%s" % port)
        c.that(accepted["accepted"] == 3 and set(accepted["sources"]) == {v.SUPPORT}
               and set(accepted["ports"]) == {"22", "443"},
               "the handset accepted exactly 3 connections, all from support on 22/443")
        c.that(udp_got["received"] == 0, "support's UDP to port 22 (only tcp/22 is listed) did not arrive")
        c.that(st["kernel"]["inbound_drop_packets"] >= 6 + udp_sent,
               "the kernel dropped and counted the refused attempts (%d)" % st["kernel"]["inbound_drop_packets"])
        v.wait_until(lambda: d.log_lines("VG_KERNEL_DROP", "src=" + v.SUPPORT), 3)
        ks = d.log_lines("VG_KERNEL_DROP", "src=" + v.SUPPORT)
        ka = d.log_lines("VG_KERNEL_DROP", "src=" + v.ATTACKER)
        c.figure("syslog", ks + ka)
        c.that(bool(ks), "syslog: VG_KERNEL_DROP names the support address for its refused attempt")
        c.that(bool(ka), "syslog: VG_KERNEL_DROP names the attacker")
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
