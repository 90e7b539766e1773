#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 7: toll fraud. INVITEs to denied prefixes (+882 dialled as 00882,
+881 dialled with +, the national premium prefix 09) never reach the PBX and
are logged with the number; a national call passes; a call over the
per-handset concurrent limit (2 in the demo policy) is blocked while an
emergency call still goes through."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

HANDSET3 = "192.168.20.12"
DENIED = [
    # (handset, local port, dialled, normalised, rule)
    (v.HANDSET, "5061", "0088213000001", "+88213000001", "deny_prefix:+882"),
    (v.HANDSET2, "5060", "+8816123456", "+8816123456", "deny_prefix:+881"),
    (HANDSET3, "5060", "09098790000", "+449098790000", "deny_prefix:09"),
]


def call(s, handset, port, number, hold_ms, label, timeout=20, extra=()):
    return s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", handset, "-p", port, "-mi", handset,
                  "-s", number, "-d", str(hold_ms), "-timeout", str(timeout), "-timeout_error", *extra,
                  label=label)


def main():
    v.require_environment()
    c = v.Check("e2e_07_toll_fraud")
    with v.Site() as s:
        c.attach(s)
        s.run(s.handset, "ip", "addr", "add", HANDSET3 + "/24", "dev", "vgh0")
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy()))
        d.start()
        c.figure("backend", d.status()["backend"])
        pbx = s.sipp(s.internet, "uas_answer.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA,
                     "-timeout", "40", label="pbx")
        v.time.sleep(0.5)

        # Phase 1: three denied numbers (one per handset: the log aggregates
        # per handset) and a national call, at the same time.
        national = call(s, v.HANDSET, "5060", "02079460000", 1000, "national", extra=("-m", "1"))
        denied = [call(s, h, p, dialled, 1000, "denied-%d" % i, timeout=4, extra=("-m", "1"))
                  for i, (h, p, dialled, _, _) in enumerate(DENIED)]
        rc_national = s.sipp_wait(national, 20)
        rc_denied = [s.sipp_wait(p, 20) for p in denied]
        c.figure("national_call_rc", rc_national)
        c.figure("denied_calls_rc", rc_denied)
        c.that(rc_national == 0, "the national call 02079460000 was answered and completed")
        c.that(all(rc != 0 for rc in rc_denied), "no denied call was answered (sipp exit %s)" % rc_denied)
        sent = {DENIED[i][2]: len(v.requests(p.trace, "INVITE", "sent")) for i, p in enumerate(denied)}
        c.figure("denied_invites_sent_incl_retransmissions", sent)

        # Phase 2: two calls held, a third over the limit, and an emergency call.
        hold = call(s, v.HANDSET, "5064", "02079460000", 6000, "hold", extra=("-m", "2", "-l", "2", "-r", "10"))
        c.that(bool(v.wait_until(lambda: d.status()["calls"] == 2, 8)), "two calls are up")
        calls_up = v.json.loads(d.ctl("calls", "--json").stdout)["calls"]
        c.figure("calls_during_limit_test", [(x["handset"], x["number"], x["state"]) for x in calls_up])
        third = call(s, v.HANDSET, "5065", "02079460001", 1000, "third", timeout=4, extra=("-m", "1"))
        emergency = call(s, v.HANDSET, "5066", "999", 500, "emergency", extra=("-m", "1"))
        rc_third, rc_emergency = s.sipp_wait(third, 20), s.sipp_wait(emergency, 20)
        rc_hold = s.sipp_wait(hold, 20)
        c.figure("third_call_rc", rc_third)
        c.figure("emergency_call_rc", rc_emergency)
        c.figure("held_calls_rc", rc_hold)
        c.that(rc_third != 0, "the third concurrent call was not answered")
        c.that(rc_emergency == 0, "the emergency call 999 went through over the limit")
        c.that(rc_hold == 0, "both held calls completed")

        pbx.kill()
        pbx.wait()
        at_pbx = v.requests(pbx.trace, "INVITE")
        numbers = sorted(set(u.split(":")[1].split("@")[0] for u in at_pbx))
        c.figure("numbers_at_pbx", numbers)
        c.figure("invites_at_pbx", len(at_pbx))
        for _, _, dialled, _, _ in DENIED:
            c.that(dialled not in numbers, "no INVITE to %s reached the PBX" % dialled)
        c.that("02079460001" not in numbers, "the INVITE over the limit did not reach the PBX")
        c.that("02079460000" in numbers and "999" in numbers, "the national and the emergency calls reached it")

        st = d.status()
        c.figure("reasons", st["reasons"])
        c.that(st["reasons"].get("toll_fraud", 0) >= 3, "the daemon dropped the denied INVITEs as toll_fraud (%d)"
               % st["reasons"].get("toll_fraud", 0))
        c.that(st["reasons"].get("call_limit", 0) >= 1, "it dropped the third call as call_limit (%d)"
               % st["reasons"].get("call_limit", 0))
        fraud = d.log_lines("VG_TOLL_FRAUD_BLOCKED")
        limit = d.log_lines("VG_CALL_LIMIT_BLOCKED")
        c.figure("syslog", fraud + limit)
        for h, _, dialled, number, rule in DENIED:
            c.that(any("handset=%s " % h in l and "number=%s " % v.masked(number) in l
                       and "dialled=%s " % v.masked(dialled) in l and "rule=%s " % rule in l for l in fraud),
                   "syslog: VG_TOLL_FRAUD_BLOCKED handset=%s number=%s (masked) rule=%s" % (h, v.masked(number), rule))
        c.that(any("rule=limit:per_handset_concurrent_calls" in l and "number=%s" % v.masked("+442079460001") in l for l in limit),
               "syslog: VG_CALL_LIMIT_BLOCKED rule=limit:per_handset_concurrent_calls number=%s"
               % v.masked("+442079460001"))
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
