#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 22: a reload storm during calls. 100 reloads, SIGHUP and
`voipguard reload` in turn, with the policy file switching between two valid
versions (one more deny prefix, a changed OPTIONS limit) before each, while a
long call with RTP both ways runs and a second handset places short calls
one after the other. No call is lost (every sipp exits 0, media >= 99 %),
the reload counters say 100 ok and 0 failed, syslog has 100 VG_RELOAD_OK,
and the kernel rules are not duplicated."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import loadlib as L  # noqa: E402

RELOADS = 100
PPS = 50
# Short calls back to back from one handset are the storm's load, not fraud:
# the per-handset limits are raised and the destination profiles (whose
# built-in levels block a handset's ninth national call in a minute) are off.
LIMITS = ('deny_prefixes: ["+881", "+882", "+883", "09"]',
          'deny_prefixes: ["+881", "+882", "+883", "09"]\n  limits:\n    per_handset:\n'
          '      calls_per_hour: 10000\n      concurrent_calls: 10\n  profiles: []')
LOG = "logging:\n  aggregate_window: 2s\n"


def versions():
    a = v.demo_policy(replace=[LIMITS], append=LOG)
    b = v.demo_policy(replace=[LIMITS, ('"09"]', '"09", "+4470"]')],
                      append="sip:\n  rate_limits:\n    OPTIONS: 30/s burst 60\n" + LOG)
    return a, b


def write_atomically(path, text):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def main():
    v.require_environment()
    c = v.Check("e2e_22_reload_storm")
    a, b = versions()
    with v.Site() as s:
        c.attach(s)
        path = s.file("policy.yaml", a)
        d = v.Daemon(s, path)
        d.start()
        pid = L.daemon_pid(s)
        c.figure("backend", d.status()["backend"])
        rules0 = v.kernel_rules(s)
        pbx = L.pbx(s, timeout=90)
        v.time.sleep(0.5)
        long_call = L.call(s, v.HANDSET, "02079460000", 35000, "long-call", timeout=90)
        c.that(bool(d.wait_log("VG_CALL_STARTED", timeout=8)), "the long call is up")
        at_pbx, at_handset = v.start_rtp(s, count=33 * PPS, pps=PPS, pbx_delay=0.2, handset_delay=0.3)
        # Short calls from the second handset, one every 1.5 s, 1 s each.
        short = s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", v.HANDSET2, "-p", "5061",
                       "-mi", v.HANDSET2, "-s", "02079460001", "-d", "1000", "-r", "2", "-rp", "3000", "-m", "14",
                       "-timeout", "80", "-timeout_error", label="short-calls")
        v.time.sleep(1.0)

        st0 = d.status()
        t0 = v.time.monotonic()
        timings = []
        unanswered = []
        for i in range(RELOADS):
            write_atomically(path, b if i % 2 == 0 else a)
            before = d.status()["reloads_ok"]
            t = v.time.monotonic()
            if i % 2 == 0:
                os.kill(pid, signal.SIGHUP)
                ok = v.wait_until(lambda: d.status()["reloads_ok"] > before, timeout=10, step=0.02)
            else:
                r = d.ctl("reload", check=False)
                ok = r.returncode == 0
            timings.append(v.time.monotonic() - t)
            if not ok:
                unanswered.append(i)
            v.time.sleep(0.08)  # the storm spans the short calls (~20 s)
        storm_s = v.time.monotonic() - t0
        st1 = d.status()
        rules1 = v.kernel_rules(s)

        rc_short = s.sipp_wait(short, 90)
        rp, rh = s.result(at_pbx, 90), s.result(at_handset, 90)
        rc_long = s.sipp_wait(long_call, 90)
        pbx.kill()
        end = d.status()

        ok_lines = d.log_lines("VG_RELOAD_OK")
        c.figure("reloads", RELOADS)
        c.figure("storm_seconds", round(storm_s, 1))
        c.figure("reload_ms", {"median": int(sorted(timings)[len(timings) // 2] * 1000),
                               "max": int(max(timings) * 1000)})
        c.figure("reload_counters", {"ok": st1["reloads_ok"] - st0["reloads_ok"],
                                     "failed": st1["reloads_failed"] - st0["reloads_failed"]})
        c.figure("syslog_reload_ok_lines", len(ok_lines))
        c.figure("rtp_pbx_to_handset", [rh["received"], rp["sent"]])
        c.figure("rtp_handset_to_pbx", [rp["received"], rh["sent"]])
        c.figure("sipp_rc", {"long_call": rc_long, "short_calls": rc_short})
        c.figure("short_calls_sent_invites", len(v.requests(short.trace, "INVITE", "sent")))
        c.figure("rule_lines", [v.rule_count(rules0), v.rule_count(rules1)])
        c.figure("tables_end", {k: end[k] for k in ("calls", "dialogs", "pinholes")})
        c.figure("reasons", end["reasons"])

        c.that(not unanswered, "every reload was answered (%d not: %s)" % (len(unanswered), unanswered[:5]))
        c.that(st1["reloads_ok"] - st0["reloads_ok"] == RELOADS and st1["reloads_failed"] == st0["reloads_failed"],
               "reload counters: +%d ok, +%d failed" % (st1["reloads_ok"] - st0["reloads_ok"],
                                                       st1["reloads_failed"] - st0["reloads_failed"]))
        c.that(len(ok_lines) == RELOADS, "syslog: %d VG_RELOAD_OK lines" % len(ok_lines))
        c.that(rc_long == 0, "the long call survived the storm and ended with BYE (sipp exit %d)" % rc_long)
        c.that(rc_short == 0, "every short call during the storm completed (sipp exit %d)" % rc_short)
        c.that(rh["received"] >= rp["sent"] * 0.99,
               "PBX media reached the handset: %d of %d" % (rh["received"], rp["sent"]))
        c.that(rp["received"] >= rh["sent"] * 0.99,
               "handset media reached the PBX: %d of %d" % (rp["received"], rh["sent"]))
        c.that(v.rule_count(rules1) == v.rule_count(rules0),
               "the kernel rules were replaced, not duplicated (%d lines before, %d after)"
               % (v.rule_count(rules0), v.rule_count(rules1)))
        c.that(end["calls"] == 0 and end["pinholes"] == 0,
               "after the calls: %d calls, %d pinholes" % (end["calls"], end["pinholes"]))
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
