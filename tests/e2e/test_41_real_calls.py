#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 41: real calls through voipguard, audio counted at both ends.
baresip handsets (201 over UDP, 202 over TCP, each in a namespace of its
own) and a far-end baresip (300) registered at Kamailio, media anchored on
rtpengine at the policy's PBX media address. Outbound and inbound calls on
each transport carry audio both ways (no one-way audio). Then, on one call:
early media (the far-end answers 183 with SDP first; baresip 1.0 sends no
media of its own before the answer, so only the caller's early media is
counted), hold and resume (a re-INVITE each way of the direction), and DTMF
as RFC 4733 telephone-events, which the far-end phone reports."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import realpeers as rp  # noqa: E402

MIN_RTP = 100  # packets each way (2 s of 20 ms packets)


def zero():
    return {"tx": 0, "rx": 0}


def audio(c, what, phones, before=None, min_packets=MIN_RTP):
    """Until each phone in PHONES counted MIN_PACKETS more both ways; a check."""
    counters = {p.user: p.counter() for p in phones}
    before = before or {p.user: p.counter().read() for p in phones}
    delta = rp.rtp_flows(counters, before, min_packets=min_packets, timeout=40)
    ok = all(x >= min_packets for dd in delta.values() for x in dd.values())
    c.that(ok, "%s: audio both ways at both ends (packets per phone: %s)" % (what, delta))
    return delta


def call(c, caller, callee, what):
    """CALLER dials CALLEE (answering by itself); audio both ways; hang up.
    Returns the figures."""
    est = {p.user: p.count("CALL_ESTABLISHED") for p in (caller, callee)}
    closed = {p.user: p.count("CALL_CLOSED") for p in (caller, callee)}
    before = {p.user: p.counter().read() for p in (caller, callee)}
    caller.dial(callee.user)
    ok = all(p.wait_event("CALL_ESTABLISHED", since=est[p.user], timeout=30) for p in (caller, callee))
    c.that(ok, "%s: %s called %s, answered" % (what, caller.user, callee.user))
    delta = audio(c, what, (caller, callee), before) if ok else None
    caller.command("hangup")
    ended = all(p.wait_event("CALL_CLOSED", since=closed[p.user], timeout=20) for p in (caller, callee))
    c.that(ended, "%s: the call ended at both phones" % what)
    return {"answered": ok, "rtp": delta}


def main():
    v.require_environment()
    rp.Pbx.require()
    rp.RtpEngine.require()
    rp.Phone.require()
    c = v.Check("e2e_41_real_calls")
    with rp.RealSite() as s:
        c.attach(s)
        # One UDP worker: the far-end phone's 180 and 183 reach the handset in
        # the order it sent them. With two, Kamailio once forwarded the 183
        # first, and the handset (baresip) sent 7 packets of early media and
        # then nothing until the answer: a 180 after the 183 ends its early
        # media, as on many phones (they play their own ringback then).
        d, pbx, far = rp.start_site(c, s, expires=600, udp_workers=1)
        udp = rp.Phone(s, s.handset, v.HANDSET, "201", transport="udp", ctrl_port=4444).start()
        tcp = rp.Phone(s, s.handset2, v.HANDSET2, "202", transport="tcp", ctrl_port=4445).start()
        for p in (far, udp, tcp):
            c.that(bool(v.wait_until(lambda: pbx.registrations(p.user), 30, 0.2)),
                   "%s registered over %s" % (p.user, p.transport))

        calls = {}
        calls["outbound_udp"] = call(c, udp, far, "outbound over UDP")
        calls["inbound_udp"] = call(c, far, udp, "inbound over UDP")
        calls["outbound_tcp"] = call(c, tcp, far, "outbound over TCP")
        calls["inbound_tcp"] = call(c, far, tcp, "inbound over TCP")
        calls["handset_to_handset"] = call(c, udp, tcp, "handset to handset")
        c.figure("calls", calls)

        # Early media: the far-end answers with 183 + SDP, accepts later.
        r = far.command("answermode", "early")
        c.that(r is not None and r.get("ok"), "the far-end phone answers with early media now")
        est = udp.count("CALL_ESTABLISHED")
        before = {p.user: p.counter().read() for p in (udp, far)}
        udp.dial(far.user)
        progress = udp.wait_event("CALL_PROGRESS", timeout=30)
        c.that(bool(progress), "early media: the handset got the 183 with SDP")
        early = rp.rtp_flows({"201": udp.counter(), "300": far.counter()}, before, min_packets=MIN_RTP, timeout=30,
                             need={"201": ("tx",), "300": ("rx",)})
        c.figure("early_media_rtp", early)
        c.that(udp.count("CALL_ESTABLISHED") == est, "early media: the call was not answered yet")
        c.that(early["201"]["tx"] >= MIN_RTP and early["300"]["rx"] >= MIN_RTP,
               "early media: the handset's media reached the far-end before the answer (%s)" % early)
        far.command("accept")
        c.that(bool(udp.wait_event("CALL_ESTABLISHED", since=est, timeout=30)), "early media: then answered")
        calls_ext = {"answered_after_early": audio(c, "after early media", (udp, far))}

        # Hold and resume (re-INVITEs from the handset).
        held = udp.count("CALL_REMOTE_SDP")
        udp.command("hold")
        c.that(bool(udp.wait_event("CALL_REMOTE_SDP", since=held, timeout=20)), "hold: the re-INVITE was answered")
        quiet = rp.stopped(udp.counter(), "rx")
        c.that(bool(quiet), "hold: the far-end's audio stopped")
        resumed = udp.count("CALL_REMOTE_SDP")
        udp.command("resume")
        c.that(bool(udp.wait_event("CALL_REMOTE_SDP", since=resumed, timeout=20)),
               "resume: the re-INVITE was answered")
        calls_ext["after_resume"] = audio(c, "after resume", (udp, far))

        # DTMF: RFC 4733 telephone-events through voipguard and rtpengine.
        digits = "159#"
        got = []
        for digit in digits:
            n = far.count("CALL_DTMF_START")
            udp.command("sndcode", digit)
            v.time.sleep(0.3)
            udp.command("sndcode", "")
            ev = far.wait_event("CALL_DTMF_START", since=n, timeout=10)
            got.append(ev[0].get("param") if ev else None)
        c.figure("dtmf_sent_received", [digits, got])
        c.that("".join(g or "?" for g in got) == digits, "DTMF: the far-end phone heard %s (%s)" % (digits, got))
        calls_ext["after_dtmf"] = audio(c, "after DTMF", (udp, far))
        c.figure("calls_features", calls_ext)
        closed = far.count("CALL_CLOSED")
        udp.command("hangup")
        c.that(bool(far.wait_event("CALL_CLOSED", since=closed, timeout=20)), "the call ended")

        st = d.status()
        c.figure("voipguard_reasons", st.get("reasons"))
        c.figure("voipguard_status", {k: st.get(k) for k in ("calls", "handsets", "kernel") if k in st})
        started = d.log_lines("VG_CALL_STARTED")
        c.figure("syslog_call_started", started[:8])
        c.that(len(started) >= 6, "syslog: VG_CALL_STARTED for every call through the router (%d)" % len(started))
        bad = rp.bad_lines(d)
        c.figure("syslog_drops", bad[:10])
        c.that(not bad, "voipguard dropped nothing of the phones' and the PBX's traffic (%d lines)" % len(bad))
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
