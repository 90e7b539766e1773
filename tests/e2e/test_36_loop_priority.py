#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 36: the packet loop's scheduler (--realtime, daemon/loop_priority.h).
  start: the loop runs SCHED_RR at the default priority 5, the daemon's
         other threads (workers, alert runner) on the fair scheduler;
  flood: OPTIONS from the PBX's address at RATE/s for FLOOD seconds, which
         the loop must judge. With --realtime-budget 1 (percent of a CPU; 50
         by default) that is over the budget: the loop goes back to the fair
         scheduler (VG_LOOP_PRIORITY scheduler=fair, status loop
         realtime_priority 0, one demotion) and a call placed during the
         flood still gets through;
  after: 10 s below the budget, the loop is real-time again
         (VG_LOOP_PRIORITY scheduler=realtime:5) - where the daemon could
         raise RLIMIT_RTPRIO at start (it needs CAP_SYS_RESOURCE, which root
         in a container may lack): else it says once that the loop stays on
         the fair scheduler, and does not try again.
The kernel's view (/proc/PID/task/*/sched) is checked besides the daemon's."""
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import loadlib as L  # noqa: E402

RATE = 3000
FLOOD = 6


def policies(pid):
    """{thread name: scheduling policy number} of the daemon's threads."""
    out = {}
    for task in glob.glob("/proc/%d/task/*" % pid):
        try:
            with open(task + "/comm") as f:
                name = f.read().strip()
            with open(task + "/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[name + ":" + os.path.basename(task)] = int(fields[38])   # field 41: policy
        except (OSError, IndexError, ValueError):
            continue
    return out


def main():
    v.require_environment()
    L.flood_binary()
    c = v.Check("e2e_36_loop_priority")
    with v.Site() as s:
        c.attach(s)
        policy = v.demo_policy(append="sip:\n  rate_limits:\n    OPTIONS: 50/s burst 100\n")
        d = v.Daemon(s, s.file("policy.yaml", policy), extra=("--log-stderr", "--realtime-budget", "1"))
        d.start()
        pid = L.daemon_pid(s)
        priv = d.log_lines("VG_PRIVILEGES")
        c.figure("privileges", [l[l.find("VG_"):] for l in priv])
        if priv and "realtime_error" in priv[0] and "realtime=5" not in priv[0]:
            v.skip("the loop cannot be made real-time here: %s" % priv[0])
        st0 = d.status()
        c.that(st0["loop"]["realtime_priority"] == 5, "at start the loop is real-time, priority 5: %s" % st0["loop"])
        threads = policies(pid)
        c.figure("thread_policies_at_start", threads)
        rr = [t for t, p in threads.items() if p == 2]
        c.that(len(rr) == 1, "exactly one thread (the loop) runs SCHED_RR, the others SCHED_OTHER: %s" % threads)

        pbx = L.pbx(s, timeout=60)
        v.time.sleep(0.5)
        f = L.flood(s, s.internet, v.HANDSET2 + ":5060", RATE, FLOOD, src=v.PBX + ":5062", kind="options")
        down = v.wait_until(lambda: d.log_lines("VG_LOOP_PRIORITY", "scheduler=fair"), FLOOD + 5)
        c.that(bool(down), "the flood put the loop on the fair scheduler (VG_LOOP_PRIORITY scheduler=fair)")
        st1 = d.status()
        c.figure("loop_during_flood", st1["loop"])
        c.that(st1["loop"]["realtime_priority"] == 0 and st1["loop"]["realtime_demotions"] >= 1,
               "status says so: %s" % st1["loop"])
        c.that(all(p == 0 for p in policies(pid).values()), "the kernel agrees: no thread is SCHED_RR")
        call = L.call(s, v.HANDSET, "02079460000", 1500, "call-flood", timeout=15)
        rc = s.sipp_wait(call, 20)
        c.that(rc == 0, "a call placed during the flood gets through (sipp exit %s)" % rc)
        r = L.flood_result(f)
        c.figure("flood", r)

        if priv and "RLIMIT_RTPRIO" in priv[0]:
            # Root without CAP_SYS_RESOURCE (a container) cannot raise
            # RLIMIT_RTPRIO, and the daemon gave up CAP_SYS_NICE: the way
            # back is closed. It must say so once and stay fair, not flap.
            c.figure("way_back", "not possible here: " + priv[0][priv[0].find("realtime_error"):])
            err = v.wait_until(lambda: d.log_lines("VG_LOOP_PRIORITY", "error="), 25)
            c.that(bool(err), "without RLIMIT_RTPRIO the daemon says once that the loop stays fair: %s" % err)
            v.time.sleep(12)
            st2 = d.status()
            c.that(st2["loop"]["realtime_priority"] == 0 and len(d.log_lines("VG_LOOP_PRIORITY")) == 2,
                   "and does not try again: %s" % st2["loop"])
        else:
            up = v.wait_until(lambda: d.log_lines("VG_LOOP_PRIORITY", "scheduler=realtime:5"), 25)
            c.that(bool(up), "10 s after the flood the loop is real-time again (VG_LOOP_PRIORITY scheduler=realtime:5)")
            st2 = d.status()
            c.figure("loop_after", st2["loop"])
            c.that(st2["loop"]["realtime_priority"] == 5, "status: real-time again: %s" % st2["loop"])
            c.that(len([p for p in policies(pid).values() if p == 2]) == 1, "the kernel agrees: the loop is SCHED_RR")
        c.figure("syslog_loop_priority", [l[l.find("VG_"):] for l in d.log_lines("VG_LOOP_PRIORITY")])
        pbx.kill()
        d.stop()
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
