#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 5: after BYE, media to the old pinhole is dropped within a
second: the pinhole closes and the daemon deletes the flow's conntrack entry,
so the kernel fast path ends with the call.

Two calls: (a) the PBX's media server spoke first and keeps sending after the
handset hung up; (b) the handset spoke first and both ends keep sending after
BYE (the PBX's media is then the reply direction of the handset's flow)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

HOLD_MS = 3000
PPS = 50


def one_call(s, d, c, tag, handset_first, handset_keeps_sending):
    before = d.status()
    ended_before = len(d.event_times("VG_CALL_ENDED"))
    uac = s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5060", "-mi", v.HANDSET,
                 "-s", "02079460000", "-d", str(HOLD_MS), "-m", "1", "-timeout", "20", "-timeout_error",
                 label="handset-" + tag)
    c.that(bool(v.wait_until(lambda: len(d.log_lines("VG_CALL_STARTED")) > (0 if tag == "a" else 1), 8)),
           "%s: the call was answered" % tag)
    # 6 s of PBX media: the call's last ~2.7 s and ~3 s after its BYE.
    count = 6 * PPS
    handset_count = count if handset_keeps_sending else int((HOLD_MS / 1000.0 - 0.6) * PPS)
    at_pbx, at_handset = v.start_rtp(s, count=count, handset_count=handset_count, pps=PPS,
                                     handset_delay=0.2 if handset_first else 0.4,
                                     pbx_delay=0.4 if handset_first else 0.2, arrivals=True)
    rp, rh = s.result(at_pbx, 20), s.result(at_handset, 20)
    rc = s.sipp_wait(uac, 20)
    after = d.status()
    ends = d.event_times("VG_CALL_ENDED")
    c.that(rc == 0 and len(ends) > ended_before, "%s: the call ended with BYE (sipp exit %d)" % (tag, rc))
    if len(ends) <= ended_before:
        return
    t_bye = ends[ended_before]
    arrivals = rh["arrivals"]
    during = [t for t in arrivals if t <= t_bye]
    late = [t for t in arrivals if t > t_bye + 1.0]
    last = max(arrivals) if arrivals else t_bye
    sent_after = max(0, int((rp["last_sent"] - (t_bye + 1.0)) * PPS))
    c.figure(tag + "_pbx_media_sent", rp["sent"])
    c.figure(tag + "_pbx_media_received_before_bye", len(during))
    c.figure(tag + "_pbx_media_sent_more_than_1s_after_bye", sent_after)
    c.figure(tag + "_pbx_media_received_more_than_1s_after_bye", len(late))
    c.figure(tag + "_last_arrival_ms_after_bye", int((last - t_bye) * 1000))
    c.figure(tag + "_handset_media_sent_received", [rh["sent"], rp["received"]])
    c.figure(tag + "_conntrack_deleted", after["conntrack_deleted"] - before["conntrack_deleted"])
    c.figure(tag + "_reasons_delta", {k: after["reasons"].get(k, 0) - before["reasons"].get(k, 0)
                                      for k in after["reasons"]})
    c.figure(tag + "_kernel_inbound_drops_delta",
             after["kernel"]["inbound_drop_packets"] - before["kernel"]["inbound_drop_packets"])
    c.that(len(during) >= (HOLD_MS / 1000.0 - 0.8) * PPS,
           "%s: PBX media arrived during the call (%d packets)" % (tag, len(during)))
    c.that(sent_after >= PPS, "%s: the PBX kept sending after BYE (%d packets > 1 s after)" % (tag, sent_after))
    c.that(not late, "%s: no PBX media arrived more than 1 s after BYE (%d did; last %d ms after BYE)"
           % (tag, len(late), int((last - t_bye) * 1000)))
    c.that(after["conntrack_deleted"] > before["conntrack_deleted"],
           "%s: the daemon deleted the flow's conntrack entry at BYE" % tag)


def main():
    v.require_environment()
    c = v.Check("e2e_05_after_bye")
    with v.Site() as s:
        c.attach(s)
        # A short aggregation window: the second call's VG_PINHOLE_CLOSED for
        # the same handset port is logged at once, not summarised later.
        policy = v.demo_policy(append="logging:\n  level: debug\n  aggregate_window: 2s\n")
        d = v.Daemon(s, s.file("policy.yaml", policy))
        d.start()
        c.figure("backend", d.status()["backend"])
        pbx = s.sipp(s.internet, "uas_answer.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA,
                     "-timeout", "40", label="pbx")
        v.time.sleep(0.5)
        one_call(s, d, c, "a", handset_first=False, handset_keeps_sending=False)
        one_call(s, d, c, "b", handset_first=True, handset_keeps_sending=True)
        pbx.kill()
        closed = d.log_lines("VG_PINHOLE_CLOSED")
        c.figure("syslog_pinhole_closed", closed)
        c.that(len(closed) >= 4, "syslog: VG_PINHOLE_CLOSED for both calls' RTP and RTCP (%d)" % len(closed))
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
