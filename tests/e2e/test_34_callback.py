#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 34: callback (Wangiri) fraud. The PBX rings a handset from
+88213000001 and cancels after one ring: voipguard marks the number
(VG_CALLBACK_MARKED). Another handset then calls it back, dialled as
0088213000001: the INVITE never reaches the PBX (reason callback,
VG_CALLBACK_BLOCKED naming the inbound call), while a national call still
goes through."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

CALLER = "+88213000001"


def main():
    v.require_environment()
    c = v.Check("e2e_34_callback")
    with v.Site() as s:
        c.attach(s)
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy()))
        d.start()
        c.figure("backend", d.status()["backend"])

        # The one-ring call: the handset rings, the PBX cancels after 1.5 s.
        phone = s.sipp(s.handset, "uas_handset_ring.xml", "-i", v.HANDSET, "-p", "5060", "-m", "1",
                       "-timeout", "25", label="handset")
        v.time.sleep(0.5)
        ring = s.sipp(s.internet, "uac_pbx_one_ring.xml", v.HANDSET + ":5060", "-i", v.PBX, "-p", "5060",
                      "-s", "201", "-key", "caller", CALLER, "-d", "1500", "-m", "1", "-timeout", "25",
                      "-timeout_error", label="pbx-ring")
        rc_ring, rc_phone = s.sipp_wait(ring, 30), s.sipp_wait(phone, 30)
        c.figure("one_ring_rc", {"pbx": rc_ring, "handset": rc_phone})
        c.that(rc_ring == 0 and rc_phone == 0, "the one-ring call ran: INVITE, 180, CANCEL, 200, 487, ACK")
        marked = d.wait_log("VG_CALLBACK_MARKED", timeout=8)
        c.figure("marked", d.log_lines("VG_CALLBACK_MARKED"))
        c.that(bool(marked) and any("number=%s " % v.masked(CALLER) in l and "rule=callback_risk:+882" in l
                                    and "handset=%s " % v.HANDSET in l and " cancel:" in l
                                    for l in d.log_lines("VG_CALLBACK_MARKED")),
               "syslog: VG_CALLBACK_MARKED number=%s rule=callback_risk:+882 (cancelled ring)" % CALLER)

        # The callback from the other handset, and a national call.
        pbx = s.sipp(s.internet, "uas_answer.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA,
                     "-timeout", "30", label="pbx")
        v.time.sleep(0.5)
        back = s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", v.HANDSET2, "-p", "5060",
                      "-mi", v.HANDSET2, "-s", "0088213000001", "-d", "500", "-m", "1", "-timeout", "4",
                      "-timeout_error", label="callback")
        national = s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5062",
                          "-mi", v.HANDSET, "-s", "02079460000", "-d", "500", "-m", "1", "-timeout", "20",
                          "-timeout_error", label="national")
        rc_back, rc_national = s.sipp_wait(back, 20), s.sipp_wait(national, 25)
        c.figure("callback_rc", rc_back)
        c.figure("national_rc", rc_national)
        c.that(rc_back != 0, "the callback to %s was not answered" % CALLER)
        c.that(rc_national == 0, "the national call 02079460000 was answered")
        pbx.kill()
        pbx.wait()
        numbers = sorted(set(u.split(":")[1].split("@")[0] for u in v.requests(pbx.trace, "INVITE")))
        c.figure("numbers_at_pbx", numbers)
        c.that("0088213000001" not in numbers, "no callback INVITE reached the PBX")
        c.that("02079460000" in numbers, "the national call reached the PBX")

        st = d.status()
        c.figure("reasons", st["reasons"])
        c.that(st["reasons"].get("callback", 0) >= 1, "the daemon dropped the callback as reason callback (%d)"
               % st["reasons"].get("callback", 0))
        blocked = d.log_lines("VG_CALLBACK_BLOCKED")
        c.figure("syslog", blocked)
        c.that(any("handset=%s " % v.HANDSET2 in l and "number=%s " % v.masked(CALLER) in l and "dialled=%s" % v.masked("0088213000001") in l
                   and "rule=callback:+882" in l and "handset:%s" % v.HANDSET in l for l in blocked),
               "syslog: VG_CALLBACK_BLOCKED from %s to %s, naming the call that rang %s"
               % (v.HANDSET2, CALLER, v.HANDSET))
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
