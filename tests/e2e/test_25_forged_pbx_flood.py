#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 25: unanswered INVITEs forged from the PBX's address during a call.
A handset (192.168.20.10) is in a call with RTP flowing both ways. The
attacker, in the internet namespace where the PBX's address lives, sends
INVITEs with SDP and a new Call-ID each, from the PBX's signalling address,
at a high rate: to the handset in the call, and spread over many handset
addresses. The kernel hands them to the daemon (they come from a listed
PBX); the rate limits per (source, handset, method) pass a share of them
under the site's ceiling, and every one that passes starts a dialog nobody
answers. The daemon runs with a small dialog table (--max-dialogs 32), so
the table is full within a second and churns several times a second.

The call's dialog is confirmed, so no unanswered dialog can push it out:
  - its audio keeps flowing end to end (RTP received per second during the
    flood, against the same measure before it),
  - its pinholes stay (no VG_PINHOLE_CLOSED for it, `status` never shows
    fewer than its two, `calls` still lists it confirmed),
  - a real call from the PBX to another handset (192.168.20.11) placed during
    the flood rings and is answered (180, 200), and its own media passes,
  - the table was under real pressure (evictions) and never refused a dialog
    (it never held only confirmed calls)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import loadlib as L  # noqa: E402

MAX_DIALOGS = 32
PPS = 50
QUIET = 4            # seconds of call audio measured before the flood
FLOOD = 10           # seconds of flood
RATE_CALL = 600      # INVITEs per second at the handset in the call
RATE_SPREAD = 1500   # INVITEs per second spread over SPREAD other handset addresses
SPREAD = 16          # 16 handsets x 5/s (INVITE's default per-key rate) stays under the
                     # site ceiling (100/s): the real call's INVITE is not starved by it
SPREAD_FROM = "192.168.20.100"
INBOUND_AT = 3       # seconds into the flood the PBX calls the other handset
INBOUND_HOLD_MS = 3000
INBOUND_RTP_PORT = 14002   # the PBX media server's port for the second call's RTP


def policy():
    return v.demo_policy(append="logging:\n  level: debug\n  aggregate_window: 2s\n")


def in_window(times, t0, t1):
    return sum(1 for t in times if t0 <= t < t1)


def main():
    v.require_environment()
    L.flood_binary()
    c = v.Check("e2e_25_forged_pbx_flood")
    with v.Site() as s:
        c.attach(s)
        d = v.Daemon(s, s.file("policy.yaml", policy()),
                     extra=("--log-stderr", "--max-dialogs", str(MAX_DIALOGS)))
        d.start()
        c.figure("backend", d.status()["backend"])
        pbx = L.pbx(s, timeout=90)
        v.time.sleep(0.5)

        # The call: handset .10 calls out and holds past the flood.
        hold_ms = (QUIET + FLOOD + 6) * 1000
        call = L.call(s, v.HANDSET, "02079460000", hold_ms, "call", timeout=90)
        c.that(bool(d.wait_log("VG_CALL_STARTED", timeout=8)), "the call is up")
        media_s = QUIET + FLOOD + 4
        at_pbx, at_handset = v.start_rtp(s, count=media_s * PPS, pps=PPS, pbx_delay=0.2, handset_delay=0.3,
                                         arrivals=True)
        # The other handset waits for the PBX's call.
        phone2 = s.sipp(s.handset, "uas_handset.xml", "-i", v.HANDSET2, "-p", "5060", "-mi", v.HANDSET2, "-m", "1",
                        "-timeout", "60", label="handset2")
        v.time.sleep(1.5)

        # Before: the call's audio, undisturbed.
        st0 = d.status()
        t_quiet = time.time()
        v.time.sleep(QUIET)

        # The flood, from the PBX's own address (other source ports: the
        # real PBX holds 5060).
        t_flood = time.time()
        at_call = L.flood(s, s.internet, v.HANDSET + ":5060", RATE_CALL, FLOOD, src=v.PBX + ":5062", kind="invite")
        spread = L.flood(s, s.internet, SPREAD_FROM + ":5060", RATE_SPREAD, FLOOD, src=v.PBX + ":5064",
                         kind="invite", dst_count=SPREAD)
        samples = []   # (seconds into the flood, dialogs, pinholes, calls, evictions)
        call_listed = []
        inbound = None
        inbound_rtp = None
        while time.time() - t_flood < FLOOD - 0.5:
            v.time.sleep(1.0)
            st = d.status()
            samples.append((round(time.time() - t_flood, 1), st["dialogs"], st["pinholes"], st["calls"],
                            st["evictions"]["dialogs"] - st0["evictions"]["dialogs"]))
            calls = v.json.loads(d.ctl("calls", "--json").stdout)["calls"]
            call_listed.append(any(x["handset"] == v.HANDSET and x["state"] == "confirmed"
                                   and x["direction"] == "outbound" for x in calls))
            if inbound is None and time.time() - t_flood >= INBOUND_AT:
                # A real inbound call to the other handset, during the flood.
                inbound = s.sipp(s.internet, "uac_pbx_call.xml", v.HANDSET2 + ":5060", "-i", v.PBX, "-p", "5070",
                                 "-mi", v.PBX_MEDIA, "-s", "202", "-d", str(INBOUND_HOLD_MS), "-m", "1",
                                 "-timeout", "30", "-timeout_error", label="pbx-inbound")
                v.wait_until(lambda: any("handset=" + v.HANDSET2 in l and "detail=inbound" in l
                                         for l in d.log_lines("VG_CALL_STARTED")), timeout=5)
                inbound_rtp = (
                    s.probe_bg(s.internet, "rtp-peer", "--bind", v.PBX_MEDIA, "--port", str(INBOUND_RTP_PORT),
                               "--peer", v.HANDSET2, "--peer-port", "41000", "--count", "100", "--pps", str(PPS),
                               "--delay", "0.1", "--seconds", "2.8"),
                    s.probe_bg(s.handset, "rtp-peer", "--bind", v.HANDSET2, "--port", "41000",
                               "--peer", v.PBX_MEDIA, "--peer-port", str(INBOUND_RTP_PORT), "--count", "100",
                               "--pps", str(PPS), "--delay", "0.2", "--seconds", "2.8"))
        r_call, r_spread = L.flood_result(at_call), L.flood_result(spread)
        t_end = time.time()
        st1 = d.status()

        rc_inbound = s.sipp_wait(inbound, 40) if inbound else -1
        rc_phone2 = s.sipp_wait(phone2, 40)
        in_pbx, in_phone = (s.result(inbound_rtp[0], 30), s.result(inbound_rtp[1], 30)) if inbound_rtp else ({}, {})
        rp, rh = s.result(at_pbx, 60), s.result(at_handset, 60)
        rc_call = s.sipp_wait(call, 60)
        pbx.kill()
        end = d.status()

        # The call's audio, before and during the flood (packets per second).
        quiet_s, flood_s = t_flood - t_quiet, t_end - t_flood
        h_before, h_during = in_window(rh["arrivals"], t_quiet, t_flood), in_window(rh["arrivals"], t_flood, t_end)
        p_before, p_during = in_window(rp["arrivals"], t_quiet, t_flood), in_window(rp["arrivals"], t_flood, t_end)
        rate = lambda n, sec: round(n / sec, 1) if sec > 0 else 0.0  # noqa: E731
        got_inbound = v.sip_messages(inbound.trace, "received") if inbound else []
        closed_call = [l for l in d.log_lines("VG_PINHOLE_CLOSED", "handset=" + v.HANDSET + " ")
                       if "handset_port=41000" in l or "handset_port=41001" in l]
        closed_times = d.event_times("VG_PINHOLE_CLOSED", "handset=" + v.HANDSET + " ", "handset_port=41000")
        ev = {k: st1["evictions"][k] - st0["evictions"][k] for k in ("dialogs", "dialogs_refused")}
        limited = st1["reasons"].get("sip_rate_limited", 0) - st0["reasons"].get("sip_rate_limited", 0)

        c.figure("flood_at_call", r_call)
        c.figure("flood_spread", dict(r_spread, handsets=SPREAD))
        c.figure("rtp_to_handset", {"before": h_before, "during": h_during,
                                    "per_s_before": rate(h_before, quiet_s), "per_s_during": rate(h_during, flood_s)})
        c.figure("rtp_to_pbx", {"before": p_before, "during": p_during,
                                "per_s_before": rate(p_before, quiet_s), "per_s_during": rate(p_during, flood_s)})
        c.figure("rtp_totals", {"pbx_to_handset": [rh["received"], rp["sent"]],
                                "handset_to_pbx": [rp["received"], rh["sent"]]})
        c.figure("windows_s", {"quiet": round(quiet_s, 2), "flood": round(flood_s, 2)})
        c.figure("during_flood_samples_s_dialogs_pinholes_calls_evictions", samples)
        c.figure("dialog_table", {"max_dialogs": MAX_DIALOGS, "evictions_during_flood": ev["dialogs"],
                                  "refused_during_flood": ev["dialogs_refused"],
                                  "evictions_total": end["evictions"]["dialogs"],
                                  "refused_total": end["evictions"]["dialogs_refused"]})
        c.figure("sip_rate_limited_during_flood", limited)
        c.figure("inbound_call", {"sipp_pbx_rc": rc_inbound, "sipp_handset_rc": rc_phone2,
                                  "pbx_received": got_inbound,
                                  "rtp_pbx_to_handset": [in_phone.get("received"), in_pbx.get("sent")],
                                  "rtp_handset_to_pbx": [in_pbx.get("received"), in_phone.get("sent")]})
        c.figure("call_rc", rc_call)
        c.figure("queue", end["queue"])
        c.figure("tables_end", {k: end[k] for k in ("calls", "dialogs", "pinholes", "handsets")})

        c.that(rc_call == 0, "the call completed with BYE (sipp exit %d)" % rc_call)
        c.that(h_before >= quiet_s * PPS * 0.9, "before the flood the handset got its audio: %d packets in %.1f s"
               % (h_before, quiet_s))
        c.that(h_during >= h_before / quiet_s * flood_s * 0.95,
               "the call's audio keeps reaching the handset during the flood: %.1f/s during, %.1f/s before"
               % (rate(h_during, flood_s), rate(h_before, quiet_s)))
        c.that(p_during >= p_before / quiet_s * flood_s * 0.95,
               "the handset's audio keeps reaching the PBX during the flood: %.1f/s during, %.1f/s before"
               % (rate(p_during, flood_s), rate(p_before, quiet_s)))
        c.that(rh["received"] >= rp["sent"] * 0.98 and rp["received"] >= rh["sent"] * 0.98,
               "the whole call's media arrived: %d of %d to the handset, %d of %d to the PBX"
               % (rh["received"], rp["sent"], rp["received"], rh["sent"]))
        c.that(len(closed_times) == 1 and closed_times[0] >= t_end,
               "the call's RTP pinhole closed once, after the flood (at its BYE): %d closes, %d during the flood"
               % (len(closed_times), sum(1 for t in closed_times if t < t_end)))
        c.that(len(closed_call) == 2, "its RTP and RTCP pinholes closed once each: %s" % closed_call)
        c.that(bool(samples) and all(ph >= 2 for _, _, ph, _, _ in samples),
               "status shows the call's pinholes all through the flood: %s" % [x[2] for x in samples])
        c.that(bool(call_listed) and all(call_listed), "`calls` lists the call confirmed all through the flood")
        c.that(r_call["sent"] + r_spread["sent"] >= (RATE_CALL + RATE_SPREAD) * FLOOD * 0.5,
               "the flood was sent: %d INVITEs" % (r_call["sent"] + r_spread["sent"]))
        c.that(ev["dialogs"] >= 5 * MAX_DIALOGS,
               "the dialog table was under pressure: %d unanswered dialogs pushed out during the flood"
               % ev["dialogs"])
        c.that(all(dl <= MAX_DIALOGS for _, dl, _, _, _ in samples), "the table stayed bounded: %s"
               % [x[1] for x in samples])
        c.that(ev["dialogs_refused"] == 0, "no dialog was refused (%d)" % ev["dialogs_refused"])
        c.that(inbound is not None and rc_inbound == 0,
               "a real inbound call placed during the flood completed (PBX sipp exit %d)" % rc_inbound)
        c.that(any(m.startswith("SIP/2.0 180") for m in got_inbound) and
               any(m.startswith("SIP/2.0 200") for m in got_inbound),
               "it rang and was answered: the PBX received %s" % got_inbound)
        c.that(rc_phone2 == 0, "the other handset rang, answered and got the BYE (sipp exit %d)" % rc_phone2)
        c.that(bool(in_phone) and in_phone["received"] >= in_pbx["sent"] * 0.9 and
               in_pbx["received"] >= in_phone["sent"] * 0.9,
               "the inbound call's media passed both ways: %s / %s"
               % ([in_phone.get("received"), in_pbx.get("sent")], [in_pbx.get("received"), in_phone.get("sent")]))
        # (the flood's unanswered dialogs still count as calls until they time out)
        c.that(end["pinholes"] == 0, "after the calls: no pinhole left (%d)" % end["pinholes"])
        c.that(d.proc.poll() is None and d.stop() == 0, "voipguard survived and stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
