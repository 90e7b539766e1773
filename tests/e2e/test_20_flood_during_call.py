#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 20: floods while a legitimate call with RTP runs.
  phase 1 (10 s): a UDP flood (100k packets/s asked; the rate actually
           offered is measured) from the unlisted attacker to the call's own
           RTP port on the handset, and an INVITE flood from the attacker to
           another handset's SIP port;
  phase 2 (5 s):  an INVITE flood from random spoofed sources in the gaps
           of the allow-lists (203.0.113.0/24 outside the PBX address and
           its media range).
The call completes, its media arrives (>= 99 % each way), nothing of the
floods reaches a handset, and the daemon's CPU time (utime + stime over each
phase against a quiet phase before) and resident memory stay flat."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import loadlib as L  # noqa: E402

PPS = 50
UDP_RATE = 100000
INVITE_RATE = 3000
PHASE1 = 10
PHASE2 = 5
QUIET = 3
# 203.0.113.0/24 around the PBX (203.0.113.10) and its media range
# (203.0.113.64/27): the neighbours an attacker guessing the allow-list uses.
GAPS = ["203.0.113.0/26", "203.0.113.96/27", "203.0.113.128/25"]


def main():
    v.require_environment()
    L.flood_binary()
    c = v.Check("e2e_20_flood_during_call")
    with v.Site() as s:
        c.attach(s)
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy(append="logging:\n  aggregate_window: 2s\n")))
        d.start()
        pid = L.daemon_pid(s)
        c.figure("backend", d.status()["backend"])
        hold = (QUIET + PHASE1 + PHASE2 + 6) * 1000
        pbx = L.pbx(s, timeout=60)
        v.time.sleep(0.5)
        call = L.call(s, v.HANDSET, "02079460000", hold, "call", timeout=60)
        c.that(bool(d.wait_log("VG_CALL_STARTED", timeout=8)), "the call is up")
        media_s = QUIET + PHASE1 + PHASE2 + 3
        at_pbx, at_handset = v.start_rtp(s, count=media_s * PPS, pps=PPS, pbx_delay=0.2, handset_delay=0.3)
        v.time.sleep(1.0)

        rss0 = L.rss_kib(pid)
        st0 = d.status()
        quiet = L.CpuWindow(pid).start()
        v.time.sleep(QUIET)
        quiet.stop()

        # Phase 1: UDP flood to the call's RTP port + INVITE flood, one source.
        rx = s.probe_bg(s.handset, "udp-recv", "--bind", v.HANDSET2, "--port", "5060",
                        "--seconds", str(PHASE1 + PHASE2 + 2))
        v.time.sleep(0.3)
        p1 = L.CpuWindow(pid).start()
        udp = L.flood(s, s.internet, v.HANDSET + ":41000", UDP_RATE, PHASE1, src=v.ATTACKER + ":40000")
        inv = L.flood(s, s.internet, v.HANDSET2 + ":5060", INVITE_RATE, PHASE1, src=v.ATTACKER + ":5060",
                      kind="invite")
        r_udp, r_inv = L.flood_result(udp), L.flood_result(inv)
        p1.stop()
        st1 = d.status()
        rss1 = L.rss_kib(pid)

        # Phase 2: INVITEs from spoofed sources in the allow-lists' gaps.
        p2 = L.CpuWindow(pid).start()
        spoofed = L.flood(s, s.internet, v.HANDSET2 + ":5060", INVITE_RATE, PHASE2, spoof=GAPS, exclude=[v.PBX],
                          kind="invite")
        r_sp = L.flood_result(spoofed)
        p2.stop()
        st2 = d.status()
        rss2 = L.rss_kib(pid)

        rp, rh = s.result(at_pbx, 60), s.result(at_handset, 60)
        got_sip = s.result(rx, 30)
        rc = s.sipp_wait(call, 60)
        pbx.kill()
        end = d.status()

        c.figure("udp_flood", r_udp)
        c.figure("invite_flood_unlisted", r_inv)
        c.figure("invite_flood_spoofed", r_sp)
        c.figure("udp_flood_rate_offered", r_udp["rate"])
        c.figure("daemon_cpu_percent", {"quiet": quiet.percent, "phase1": p1.percent, "phase2": p2.percent})
        c.figure("daemon_cpu_seconds", {"quiet": round(quiet.cpu, 2), "phase1": round(p1.cpu, 2),
                                        "phase2": round(p2.cpu, 2)})
        c.figure("daemon_rss_kib", [rss0, rss1, rss2])
        c.figure("kernel_inbound_drops", {"phase1": st1["kernel"]["inbound_drop_packets"]
                                          - st0["kernel"]["inbound_drop_packets"],
                                          "phase2": st2["kernel"]["inbound_drop_packets"]
                                          - st1["kernel"]["inbound_drop_packets"]})
        c.figure("daemon_packets", {"phase1": st1["packets"] - st0["packets"],
                                    "phase2": st2["packets"] - st1["packets"]})
        c.figure("queue", end["queue"])
        c.figure("rtp_pbx_to_handset", [rh["received"], rp["sent"]])
        c.figure("rtp_handset_to_pbx", [rp["received"], rh["sent"]])
        c.figure("flood_reaching_handsets", {"sip_port": got_sip["received"],
                                             "rtp_port_from_others": sum(n for a, n in rh["sources"].items()
                                                                         if a != v.PBX_MEDIA)})
        c.figure("tables_after", {k: end[k] for k in ("calls", "dialogs", "pinholes", "handsets")})

        c.that(rc == 0, "the call completed with BYE (sipp exit %d)" % rc)
        c.that(rh["received"] >= rp["sent"] * 0.99,
               "PBX media reached the handset: %d of %d" % (rh["received"], rp["sent"]))
        c.that(rp["received"] >= rh["sent"] * 0.99,
               "handset media reached the PBX: %d of %d" % (rp["received"], rh["sent"]))
        c.that(got_sip["received"] == 0, "no flood INVITE reached a handset (%d did)" % got_sip["received"])
        c.that(set(rh["sources"]) <= {v.PBX_MEDIA}, "only the PBX's media reached the call's RTP port: %s"
               % rh["sources"])
        flood_sent = r_udp["sent"] + r_inv["sent"]
        c.that(st1["kernel"]["inbound_drop_packets"] - st0["kernel"]["inbound_drop_packets"] >= flood_sent * 0.9,
               "the kernel rules dropped phase 1's flood (%d of %d counted)"
               % (st1["kernel"]["inbound_drop_packets"] - st0["kernel"]["inbound_drop_packets"], flood_sent))
        # Flat: the unlisted floods are the kernel's to drop; the daemon only
        # sees samples of them.
        c.that(p1.percent <= quiet.percent + 10 and p2.percent <= quiet.percent + 10,
               "daemon CPU stays flat: %.1f %% quiet, %.1f %% and %.1f %% of a core under the floods"
               % (quiet.percent, p1.percent, p2.percent))
        c.that(max(rss1, rss2) <= rss0 * 1.05 + 256,
               "daemon memory stays flat: VmRSS %d -> %d -> %d KiB" % (rss0, rss1, rss2))
        c.that(end["calls"] == 0 and end["pinholes"] == 0 and end["dialogs"] <= 1,
               "after the call: %d calls, %d dialogs, %d pinholes" % (end["calls"], end["dialogs"], end["pinholes"]))
        c.that(d.proc.poll() is None and d.stop() == 0, "voipguard survived and stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
