#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 3: an attacker scans the handset network: SIP OPTIONS, INVITE
and REGISTER with scanner User-Agents, plain UDP probes and TCP connection
attempts. Nothing arrives; the kernel drops and counts it; syslog names the
source in aggregated events (one line at once, then one summary per window)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

WINDOW = 4  # logging.aggregate_window of the test policy, seconds
UDP_PORTS = "5060,69,161,5061,41000"
TCP_PORTS = ["22", "80", "443", "5060"]


def main():
    v.require_environment()
    c = v.Check("e2e_03_scan")
    with v.Site() as s:
        c.attach(s)
        policy = v.demo_policy(append="logging:\n  aggregate_window: %ds\n" % WINDOW)
        d = v.Daemon(s, s.file("policy.yaml", policy))
        d.start()
        c.figure("backend", d.status()["backend"])

        listen = 5.0
        rx1 = s.probe_bg(s.handset, "udp-recv", "--bind", "0.0.0.0", "--port", UDP_PORTS, "--seconds", str(listen))
        tcp = s.probe_bg(s.handset, "tcp-listen", "--bind", "0.0.0.0", "--port", ",".join(TCP_PORTS),
                         "--seconds", str(listen))
        v.time.sleep(0.5)

        sends = [
            # (kind, User-Agent, destination, port, count)
            ("sip-options", "friendly-scanner", v.HANDSET, 5060, 40),
            ("sip-invite", "sipvicious", v.HANDSET, 5060, 20),
            ("sip-register", "sipcli/v1.8", v.HANDSET2, 5060, 20),
            ("text", "", v.HANDSET, 69, 10),
            ("text", "", v.HANDSET, 161, 10),
            ("text", "", v.HANDSET2, 5061, 10),
            ("text", "", v.HANDSET, 41000, 10),
        ]
        procs = []
        for i, (kind, ua, dst, port, n) in enumerate(sends):
            args = ["udp-send", "--src", v.ATTACKER, "--sport", str(5070 + i), "--dst", dst, "--dport", str(port),
                    "--count", str(n), "--pps", "20", "--kind", kind]
            if ua:
                args += ["--ua", ua]
            procs.append(s.probe_bg(s.internet, *args))
        conns = [s.probe_bg(s.internet, "tcp-connect", "--src", v.ATTACKER, "--dst", v.HANDSET, "--port", p,
                            "--timeout", "1.5") for p in TCP_PORTS]
        sent = sum(s.result(p)["sent"] for p in procs)
        connected = [s.result(p)["connected"] for p in conns]
        udp_got, tcp_got = s.result(rx1, 15), s.result(tcp, 15)
        st = d.status()

        c.figure("udp_sent", sent)
        c.figure("udp_received_at_handsets", udp_got)
        c.figure("tcp_connects", dict(zip(TCP_PORTS, connected)))
        c.figure("tcp_accepted_at_handset", tcp_got)
        c.that(udp_got["received"] == 0, "none of the %d UDP probes reached a handset (%d did)"
               % (sent, udp_got["received"]))
        c.that(not any(connected) and tcp_got["accepted"] == 0,
               "no TCP connection to %s succeeded" % "/".join(TCP_PORTS))
        drops = st["kernel"]["inbound_drop_packets"]
        c.figure("kernel_inbound_drop_packets", drops)
        c.figure("kernel_drop_samples", st["kernel"]["drop_samples"])
        c.figure("queue_packets", st["queue"]["packets"])
        c.that(drops >= sent + len(TCP_PORTS),
               "the kernel counted the drops: %d >= %d probes" % (drops, sent + len(TCP_PORTS)))
        c.that(st["queue"]["packets"] == 0,
               "the attack never reached the daemon's queue (%d packets)" % st["queue"]["packets"])
        c.that(st["kernel"]["drop_samples"] > 0, "sampled drops reached the daemon through NFLOG (%d)"
               % st["kernel"]["drop_samples"])

        # Aggregation: the first event at once, the rest as one summary per window.
        v.wait_until(lambda: d.log_lines("VG_KERNEL_DROP", "src=" + v.ATTACKER, "suppressed"), WINDOW + 3)
        scanner = d.log_lines("VG_SCANNER_DETECTED", "src=" + v.ATTACKER)
        kdrop = d.log_lines("VG_KERNEL_DROP", "src=" + v.ATTACKER)
        c.figure("syslog_scanner", scanner)
        c.figure("syslog_kernel_drop", kdrop)
        c.that(any("detail=user_agent:" in l for l in scanner if "suppressed" not in l),
               "syslog: VG_SCANNER_DETECTED names the source and the scanner User-Agent")
        c.that(any("suppressed" not in l and "dst=" in l for l in kdrop), "syslog: VG_KERNEL_DROP names the source")
        c.that(any("suppressed" in l for l in kdrop), "syslog: the repeated kernel drops were summarised")
        c.that(len(kdrop) <= 4, "aggregated: %d VG_KERNEL_DROP lines for %d sampled drops"
               % (len(kdrop), st["kernel"]["drop_samples"]))
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
