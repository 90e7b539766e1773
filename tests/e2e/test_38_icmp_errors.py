#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 38: ICMP errors from the PBX about flows conntrack no longer has.

When a call ends the daemon deletes its media flows' conntrack entries, and
the PBX's "port unreachable" for the handset's last RTP packet can arrive
just after: conntrack cannot place it (INVALID). The kernel rules queue such
errors from the PBX's addresses to the engine, rate-limited, and the engine
lets one pass when it quotes a flow of the handset to the PBX. Shown here
without a call (no conntrack entry exists for the quoted flows):
  (a) from the PBX's media address, quoting handset -> PBX media: arrives;
  (b) from the PBX, quoting handset -> a host that is not the PBX: dropped
      by the engine (icmp_unsolicited);
  (c) a ping from the PBX's media address: dropped in the kernel;
  (d) from an unlisted source, quoting handset -> PBX media: dropped in
      the kernel;
  (e) 400 of (a) in one second: at most the queue rule's rate arrives, the
      rest is dropped in the kernel, the daemon keeps serving."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

OTHER = "198.51.100.99"
RATE = 50   # kIcmpQueueRate: per second and burst, per address set


def send(s, src, *args, count=3, pps=20):
    return s.probe_bg(s.internet, "icmp-send", "--src", src, "--dst", v.HANDSET, "--count", str(count),
                      "--pps", str(pps), *args)


def unreachable(quote_dst):
    return ["--type", "3", "--code", "3", "--quote-src", v.HANDSET, "--quote-sport", "41000",
            "--quote-dst", quote_dst, "--quote-dport", "14000"]


def main():
    v.require_environment()
    c = v.Check("e2e_38_icmp_errors")
    with v.Site() as s:
        c.attach(s)
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy()))
        d.start()
        c.figure("backend", d.status()["backend"])
        before = d.status()

        rx = s.probe_bg(s.handset, "icmp-recv", "--seconds", "3")
        v.time.sleep(0.4)
        probes = [send(s, v.PBX_MEDIA, *unreachable(v.PBX_MEDIA)),
                  send(s, v.PBX, *unreachable(OTHER)),
                  send(s, v.PBX_MEDIA, "--type", "8"),
                  send(s, v.ATTACKER, *unreachable(v.PBX_MEDIA))]
        sent = [s.result(p)["sent"] for p in probes]
        got = s.result(rx, 10)["received"]
        after = d.status()
        c.figure("sent", sent)
        c.figure("received", got)
        delta = {k: after["reasons"].get(k, 0) - before["reasons"].get(k, 0) for k in after["reasons"]}
        c.figure("reasons_delta", delta)
        c.that(got.get(v.PBX_MEDIA + " type 3", 0) == sent[0],
               "(a) the PBX's port unreachable about the handset's media arrived (%d of %d)"
               % (got.get(v.PBX_MEDIA + " type 3", 0), sent[0]))
        c.that(delta.get("icmp_related", 0) >= sent[0], "(a) the engine passed them as icmp_related (%d)"
               % delta.get("icmp_related", 0))
        c.that(got.get(v.PBX + " type 3", 0) == 0 and delta.get("icmp_unsolicited", 0) >= sent[1],
               "(b) an error quoting a flow to another host was dropped by the engine (%d arrived, "
               "icmp_unsolicited %d)" % (got.get(v.PBX + " type 3", 0), delta.get("icmp_unsolicited", 0)))
        c.that(got.get(v.PBX_MEDIA + " type 8", 0) == 0, "(c) the PBX's ping was dropped")
        c.that(got.get(v.ATTACKER + " type 3", 0) == 0, "(d) the unlisted source's error was dropped")
        kernel_drops = after["kernel"]["inbound_drop_packets"] - before["kernel"]["inbound_drop_packets"]
        c.that(kernel_drops >= sent[2] + sent[3], "(c, d) dropped in the kernel (%d inbound drops)" % kernel_drops)

        # (e) A flood of (a): the queue rule's limit holds.
        v.time.sleep(1.5)   # the limit's bucket refills
        rx = s.probe_bg(s.handset, "icmp-recv", "--seconds", "3")
        v.time.sleep(0.4)
        flood = send(s, v.PBX_MEDIA, *unreachable(v.PBX_MEDIA), count=400, pps=400)
        n = s.result(flood)["sent"]
        arrived = s.result(rx, 10)["received"].get(v.PBX_MEDIA + " type 3", 0)
        c.figure("flood_sent_arrived", [n, arrived])
        # The burst, then the rate for the flood's second (and some slack
        # for a slow sender): far below what was sent.
        c.that(RATE <= arrived <= 2 * RATE + RATE // 2,
               "(e) of %d errors in a second, %d arrived (the rule lets %d/s through, burst %d)"
               % (n, arrived, RATE, RATE))
        c.that(d.proc.poll() is None and d.stop() == 0, "voipguard survived and stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
