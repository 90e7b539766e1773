#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 21: SIP floods from listed PBX addresses.
  phase 1 (8 s): OPTIONS at several thousand per second from the PBX's own
           address (spoofed by the attacker; the kernel lets it through to
           the daemon): the per-source limit of sip.rate_limits holds (what
           reaches the handset is at most burst + rate x time), the drops are
           counted (reasons.sip_rate_limited), and a legitimate call placed
           during the flood gets through;
  phase 2 (6 s): OPTIONS from random sources of a listed PBX range (more
           sources than sip.max_tracked_sources): the daemon keeps up, its
           tables and memory stay bounded, and a second call gets through.
Afterwards the call tables are empty again."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import loadlib as L  # noqa: E402

RATE = 4000
PHASE1 = 8
PHASE2 = 6
LIMIT, BURST = 50, 100
RANGE = "198.18.0.0/24"  # a second, wide PBX address range of the policy
TRACKED = 64


def policy():
    return v.demo_policy(
        replace=[("addresses: [203.0.113.10]", "addresses: [203.0.113.10, %s]" % RANGE)],
        append="sip:\n  rate_limits:\n    OPTIONS: %d/s burst %d\n  max_tracked_sources: %d\n"
               "logging:\n  aggregate_window: 2s\n" % (LIMIT, BURST, TRACKED))


def main():
    v.require_environment()
    L.flood_binary()
    c = v.Check("e2e_21_pbx_flood")
    with v.Site() as s:
        c.attach(s)
        d = v.Daemon(s, s.file("policy.yaml", policy()))
        d.start()
        pid = L.daemon_pid(s)
        c.figure("backend", d.status()["backend"])
        pbx = L.pbx(s, timeout=60)
        v.time.sleep(0.5)
        rss0 = L.rss_kib(pid)
        st0 = d.status()

        # Phase 1: the PBX's address floods a handset with OPTIONS.
        rx = s.probe_bg(s.handset, "udp-recv", "--bind", v.HANDSET2, "--port", "5060",
                        "--seconds", str(PHASE1 + PHASE2 + 3))
        v.time.sleep(0.3)
        cpu1 = L.CpuWindow(pid).start()
        f1 = L.flood(s, s.internet, v.HANDSET2 + ":5060", RATE, PHASE1, src=v.PBX + ":5062", kind="options")
        v.time.sleep(2)
        call1 = L.call(s, v.HANDSET, "02079460000", 1500, "call-phase1", timeout=15)
        rc1 = s.sipp_wait(call1, 20)
        r1 = L.flood_result(f1)
        cpu1.stop()
        st1 = d.status()
        rss1 = L.rss_kib(pid)
        q1 = L.nfqueue_stats(s)

        # Phase 2: random sources of the listed range.
        cpu2 = L.CpuWindow(pid).start()
        f2 = L.flood(s, s.internet, v.HANDSET2 + ":5060", RATE, PHASE2, spoof=[RANGE], kind="options")
        v.time.sleep(2)
        call2 = L.call(s, v.HANDSET, "02079460001", 1500, "call-phase2", timeout=15)
        rc2 = s.sipp_wait(call2, 20)
        r2 = L.flood_result(f2)
        cpu2.stop()
        st2 = d.status()
        rss2 = L.rss_kib(pid)
        got = s.result(rx, 30)
        v.time.sleep(1)
        end = d.status()
        pbx.kill()

        from_pbx = got["sources"].get(v.PBX, 0)
        from_range = sum(n for a, n in got["sources"].items() if a.startswith("198.18.0."))
        limited1 = st1["reasons"].get("sip_rate_limited", 0) - st0["reasons"].get("sip_rate_limited", 0)
        limited2 = st2["reasons"].get("sip_rate_limited", 0) - st1["reasons"].get("sip_rate_limited", 0)
        allowed1 = BURST + LIMIT * r1["seconds"]
        c.figure("flood_phase1", r1)
        c.figure("flood_phase2", r2)
        c.figure("phase1_reached_handset_vs_limit", [from_pbx, int(allowed1)])
        c.figure("phase2_reached_handset", [from_range, len([a for a in got["sources"] if a.startswith("198.18.")])])
        c.figure("sip_rate_limited", {"phase1": limited1, "phase2": limited2})
        c.figure("daemon_packets", {"phase1": st1["packets"] - st0["packets"], "phase2": st2["packets"] - st1["packets"]})
        c.figure("daemon_cpu_percent", {"phase1": cpu1.percent, "phase2": cpu2.percent})
        c.figure("daemon_rss_kib", [rss0, rss1, rss2])
        c.figure("queue_after_phase1", st1["queue"])
        c.figure("nfnetlink_queue_after_phase1", q1)
        c.figure("queue_end", end["queue"])
        c.figure("calls_rc", [rc1, rc2])
        c.figure("tables", {k: [st1[k], st2[k], end[k]] for k in ("calls", "dialogs", "pinholes", "handsets")})
        c.figure("syslog_rate_limited", [l[l.find("VG_"):] for l in d.log_lines("VG_SIP_RATE_LIMITED")][:4])
        # The loop's scheduler (--realtime): real-time unless a flood took
        # half a CPU, then back after 10 s below that.
        c.figure("loop", {k: end["loop"].get(k) for k in ("realtime_priority", "cpu_percent", "realtime_demotions",
                                                          "longest_step_us")})
        c.figure("syslog_loop_priority", [l[l.find("VG_"):] for l in d.log_lines("VG_LOOP_PRIORITY")][:4])
        c.figure("privileges", [l[l.find("VG_"):] for l in d.log_lines("VG_PRIVILEGES")][:1])

        c.that(rc1 == 0, "a call placed during the PBX-address flood got through (sipp exit %d)" % rc1)
        c.that(rc2 == 0, "a call placed during the range flood got through (sipp exit %d)" % rc2)
        c.that(from_pbx <= allowed1 * 1.1 + 5,
               "the OPTIONS limit holds: %d of %d reached the handset, at most ~%d allowed"
               % (from_pbx, r1["sent"], allowed1))
        c.that(from_pbx >= min(allowed1 * 0.5, r1["sent"] * 0.5),
               "the limit lets its rate through: %d passed" % from_pbx)
        c.that(limited1 >= (r1["sent"] - allowed1) * 0.5,
               "the drops are counted: sip_rate_limited +%d" % limited1)
        c.that(bool(d.log_lines("VG_SIP_RATE_LIMITED")), "syslog: VG_SIP_RATE_LIMITED")
        c.that(max(rss1, rss2) <= rss0 * 1.05 + 512,
               "daemon memory stays bounded: VmRSS %d -> %d -> %d KiB" % (rss0, rss1, rss2))
        c.that(end["calls"] == 0 and end["pinholes"] == 0 and end["dialogs"] <= 2,
               "after the calls: %d calls, %d dialogs, %d pinholes" % (end["calls"], end["dialogs"],
                                                                        end["pinholes"]))
        c.that(d.proc.poll() is None and d.stop() == 0, "voipguard survived and stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
