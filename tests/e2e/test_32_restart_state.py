#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 32: state that survives a restart (--state). A handset
registers and places calls up to one short of its hourly limit; the daemon is
stopped and started again with the same --state file: the handset is still
listed by `voipguard handsets`, the call that fits is answered and the next
one, over the limit, is blocked as call_limit. A daemon without the file
starts afresh (control: the limit would have been reset)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

LIMIT = 3
LIMITS = ('deny_prefixes: ["+881", "+882", "+883", "09"]',
          'deny_prefixes: ["+881", "+882", "+883", "09"]\n  limits:\n    per_handset:\n'
          '      calls_per_hour: %d\n      concurrent_calls: 5' % LIMIT)


def call(s, port, number, label):
    return s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", port, "-mi", v.HANDSET,
                  "-s", number, "-d", "300", "-m", "1", "-timeout", "6", "-timeout_error", label=label)


def handsets(d):
    return [h["address"] for h in json.loads(d.ctl("handsets", "--json").stdout)["handsets"]]


def main():
    v.require_environment()
    c = v.Check("e2e_32_restart_state")
    with v.Site() as s:
        c.attach(s)
        policy = s.file("policy.yaml", v.demo_policy(replace=[LIMITS]))
        state = s.file("state", "")
        os.unlink(state)
        extra = ("--log-stderr", "--state", state, "--state-interval", "5")
        d = v.Daemon(s, policy, extra=extra, label="daemon-1")
        d.start()
        reg_pbx = s.sipp(s.internet, "uas_register.xml", "-i", v.PBX, "-p", "5060", "-m", "1", "-timeout", "15",
                         label="pbx-register")
        v.time.sleep(0.5)
        reg = s.sipp(s.handset, "uac_register.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5061", "-m", "1",
                     "-timeout", "6", "-timeout_error", label="register")
        c.figure("register_rc", s.sipp_wait(reg, 20))
        s.sipp_wait(reg_pbx, 20)
        pbx = s.sipp(s.internet, "uas_answer.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA,
                     "-timeout", "60", label="pbx")
        v.time.sleep(0.5)
        rcs = [s.sipp_wait(call(s, str(5062 + i), "0207946000%d" % i, "before-%d" % i), 20) for i in range(LIMIT - 1)]
        c.figure("calls_before_restart_rc", rcs)
        c.that(all(rc == 0 for rc in rcs), "%d calls were answered before the restart" % (LIMIT - 1))
        before = handsets(d)
        c.figure("handsets_before", before)
        c.that(v.HANDSET in before, "the handset is listed before the restart")
        c.that(d.stop() == 0, "the first daemon stopped cleanly")
        c.that(os.path.exists(state) and os.path.getsize(state) > 0, "the state file was written at the stop")
        c.figure("state_bytes", os.path.getsize(state) if os.path.exists(state) else 0)

        d2 = v.Daemon(s, policy, extra=extra, label="daemon-2")
        d2.start()
        restored = d2.log_lines("VG_STATE_RESTORED")
        c.figure("restored", restored)
        c.that(any("handsets=1 " in l for l in restored), "the second daemon restored the handset")
        after = handsets(d2)
        c.figure("handsets_after", after)
        c.that(v.HANDSET in after, "the handset is still listed by `voipguard handsets` after the restart")
        fits = s.sipp_wait(call(s, "5070", "02079460007", "after-fits"), 20)
        over = s.sipp_wait(call(s, "5071", "02079460008", "after-over"), 20)
        c.figure("after_restart_rc", [fits, over])
        c.that(fits == 0, "the last call within the hourly limit was answered")
        c.that(over != 0, "the next call, over the limit, was not answered")
        limit = d2.log_lines("VG_CALL_LIMIT_BLOCKED")
        c.figure("limit_lines", limit)
        c.that(any("rule=limit:per_handset_calls_per_hour" in l for l in limit),
               "syslog: VG_CALL_LIMIT_BLOCKED rule=limit:per_handset_calls_per_hour after the restart")
        c.that(d2.stop() == 0, "the second daemon stopped cleanly")

        # A damaged file is reported and ignored: the daemon starts afresh.
        with open(state, "r+b") as f:
            f.seek(40)
            b = f.read(1)
            f.seek(40)
            f.write(bytes([b[0] ^ 0xff]))
        d3 = v.Daemon(s, policy, extra=extra, label="daemon-3")
        d3.start()
        rejected = d3.log_lines("VG_STATE_REJECTED")
        c.figure("rejected", rejected)
        c.that(any("error=checksum" in l for l in rejected), "a damaged state file is reported (checksum)")
        c.that(v.HANDSET not in handsets(d3), "and nothing of it is used")
        c.that(d3.stop() == 0, "the third daemon stopped cleanly")
        pbx.kill()
        pbx.wait()
    c.finish()


if __name__ == "__main__":
    main()
