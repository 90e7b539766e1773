#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 9: policy reloads during a call.
  1. a changed policy (one more deny prefix): the call and its media survive,
     the new rule applies at once;
  2. a broken policy: refused, the error logged, the running policy stays;
  3. a policy without the PBX's media range: the call's pinholes close and
     the PBX's media no longer arrives."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

HANDSET3 = "192.168.20.12"
PPS = 50
LOG = "logging:\n  level: debug\n  aggregate_window: 2s\n"
DENY = ('deny_prefixes: ["+881", "+882", "+883", "09"]', 'deny_prefixes: ["+881", "+882", "+883", "09", "+4470"]')


def blocked_call(s, handset, number, label):
    """A call the policy should block: True if it got no answer."""
    p = s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", handset, "-p", "5070", "-mi", handset,
               "-s", number, "-d", "200", "-m", "1", "-timeout", "2", "-timeout_error", label=label)
    return s.sipp_wait(p, 10) != 0


def reload(d, c, name, text):
    with open(d.policy, "w") as f:
        f.write(text)
    r = d.ctl("reload", "--json", check=False)
    try:
        answer = v.json.loads(r.stdout)
    except ValueError:
        answer = {"ok": None, "message": r.stdout + r.stderr}
    c.figure(name + "_answer", answer)
    return answer


def main():
    v.require_environment()
    c = v.Check("e2e_09_reload")
    with v.Site() as s:
        c.attach(s)
        s.run(s.handset, "ip", "addr", "add", HANDSET3 + "/24", "dev", "vgh0")
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy(append=LOG)))
        d.start()
        c.figure("backend", d.status()["backend"])
        pbx = s.sipp(s.internet, "uas_answer.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA,
                     "-timeout", "40", label="pbx")
        v.time.sleep(0.5)
        uac = s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5060",
                     "-mi", v.HANDSET, "-s", "02079460000", "-d", "13000", "-m", "1", "-timeout", "30",
                     "-timeout_error", label="call")
        c.that(bool(d.wait_log("VG_CALL_STARTED", timeout=8)), "the call is up")
        # The PBX sends for 13 s; the handset only for the first 6 s, so that
        # step 3 shows the PBX's media alone (media the handset keeps sending
        # makes the PBX's the return traffic of an ordinary egress flow).
        t_media = v.time.time()
        at_pbx, at_handset = v.start_rtp(s, count=13 * PPS, handset_count=6 * PPS, pps=PPS, pbx_delay=0.2,
                                         handset_delay=0.3, arrivals=True)
        v.time.sleep(1.5)

        # 1. A changed policy.
        a1 = reload(d, c, "reload_changed", v.demo_policy(replace=[DENY], append=LOG))
        st1 = d.status()
        c.that(a1.get("ok") is True, "the changed policy was reloaded")
        c.that(st1["calls"] == 1 and st1["pinholes"] == 2,
               "the call and its pinholes survived the reload (%d calls, %d pinholes)"
               % (st1["calls"], st1["pinholes"]))
        c.that(blocked_call(s, v.HANDSET2, "07000123456", "new-rule"),
               "the new deny prefix +4470 applies at once: a call to 07000123456 is blocked")
        v.time.sleep(0.5)

        # 2. A broken policy.
        broken = v.demo_policy(replace=[DENY], append=LOG) + "toll_fraud_typo: [\n"
        a2 = reload(d, c, "reload_broken", broken)
        text_rc = d.ctl("reload", check=False)
        c.figure("reload_broken_text_exit_code", text_rc.returncode)
        st2 = d.status()
        c.that(a2.get("ok") is False, "the broken policy was refused")
        c.that(st2["reloads_failed"] >= 1 and st2["calls"] == 1 and st2["pinholes"] == 2,
               "after the refused reload: %d failed reloads, the call and its pinholes still there"
               % st2["reloads_failed"])
        failed = d.wait_log("VG_RELOAD_FAILED", 3)
        c.figure("syslog_reload_failed", [l[l.find("VG_"):] for l in failed])
        c.that(any("error1=" in l and "policy.yaml" in l for l in failed),
               "syslog: VG_RELOAD_FAILED with the error and its place in the file")
        c.that(blocked_call(s, HANDSET3, "07000123457", "old-rule-kept"),
               "the running policy stays: a call to 07000123457 is still blocked")
        attacker = s.probe(s.internet, "udp-send", "--src", v.ATTACKER, "--dst", v.HANDSET, "--dport", "41000",
                           "--count", "10", "--kind", "rtp")
        c.figure("attacker_sent_during_broken_policy", attacker["sent"])
        # Step 3 once the handset has stopped sending (6 s after 0.3 s delay).
        v.time.sleep(max(0.0, t_media + 6.8 - v.time.time()))

        # 3. The PBX's media range leaves the policy.
        moved = v.demo_policy(replace=[DENY, ("addresses: [203.0.113.64/27]", "addresses: [203.0.113.128/27]")],
                              append=LOG)
        before3 = d.status()
        a3 = reload(d, c, "reload_media_removed", moved)
        t3 = v.time.time()
        st3 = d.status()
        c.that(a3.get("ok") is True, "the policy without 203.0.113.64/27 was reloaded")
        c.that(st3["pinholes"] == 0, "the call's pinholes closed (%d open)" % st3["pinholes"])
        c.figure("conntrack_deleted_by_reload", st3["conntrack_deleted"] - before3["conntrack_deleted"])
        c.that(st3["conntrack_deleted"] > before3["conntrack_deleted"], "their conntrack entries were deleted")

        rp, rh = s.result(at_pbx, 30), s.result(at_handset, 30)
        rc = s.sipp_wait(uac, 30)
        pbx.kill()
        end = d.status()
        arrivals = rh["arrivals"]
        t_reload = d.event_times("VG_RELOAD_OK")
        c.figure("reload_ok_times_rel", [round(t - arrivals[0], 2) for t in t_reload] if arrivals else [])
        first = rp["first_sent"]
        before = [t for t in arrivals if t < t3]
        sent_before = int((t3 - first) * PPS) + 1
        gaps = [b - a for a, b in zip(before, before[1:])]
        late = [t for t in arrivals if t > t3 + 1.0]
        c.figure("pbx_media_sent", rp["sent"])
        c.figure("pbx_media_received_before_step3", len(before))
        c.figure("pbx_media_sent_before_step3", sent_before)
        c.figure("pbx_media_max_gap_ms_before_step3", int(max(gaps) * 1000) if gaps else None)
        c.figure("pbx_media_received_more_than_1s_after_step3", len(late))
        c.figure("handset_media_sent_received", [rh["sent"], rp["received"]])
        c.figure("call_rc", rc)
        c.figure("reasons", end["reasons"])
        c.figure("kernel_inbound_drop_packets", end["kernel"]["inbound_drop_packets"])
        c.that(len(before) >= sent_before * 0.97 and gaps and max(gaps) < 0.25,
               "the PBX's media survived reloads 1 and 2: %d of ~%d, longest gap %d ms"
               % (len(before), sent_before, int(max(gaps) * 1000) if gaps else -1))
        c.that(rp["received"] >= rh["sent"] * 0.98, "the handset's media arrived: %d of %d"
               % (rp["received"], rh["sent"]))
        c.that(not late, "after step 3 the PBX's media no longer arrives (%d packets did)" % len(late))
        c.that(rc == 0, "the call itself completed with BYE (sipp exit %d)" % rc)
        closed = d.log_lines("VG_PINHOLE_CLOSED")
        c.figure("syslog", d.log_lines("VG_RELOAD_OK") + closed + d.log_lines("VG_TOLL_FRAUD_BLOCKED"))
        c.that(len(closed) >= 2, "syslog: VG_PINHOLE_CLOSED for the call's RTP and RTCP")
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
