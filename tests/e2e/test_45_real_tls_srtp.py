#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 45: TLS signalling and SRTP media with real phones. Kamailio
listens for SIP over TLS on 5061 (a certificate the test makes); baresip
201 registers and calls over TLS with SRTP (mediaenc=srtp-mand); the
far-end phone (SRTP, its SIP over UDP on the internet side) answers and
calls it; rtpengine relays the SRTP. voipguard cannot read that
SIP: the policy opts in to media.static_allowance, the calls work both
ways, and `voipguard status` and the log say plainly that inspection is
blind for those flows: VG_TLS_UNINSPECTED per connection, the status's
"blind" section, media counted as media_static_allowance (not as a
pinhole's)."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import realpeers as rp  # noqa: E402

MIN_RTP = 100


def call(c, caller, callee, what):
    est = {p.user: p.count("CALL_ESTABLISHED") for p in (caller, callee)}
    closed = caller.count("CALL_CLOSED")
    before = {p.user: p.counter().read() for p in (caller, callee)}
    caller.dial(callee.user)
    ok = all(p.wait_event("CALL_ESTABLISHED", since=est[p.user], timeout=30) for p in (caller, callee))
    delta = rp.rtp_flows({p.user: p.counter() for p in (caller, callee)}, before, MIN_RTP, 30) if ok else {}
    c.that(ok and all(x >= MIN_RTP for dd in delta.values() for x in dd.values()),
           "%s: %s called %s, answered, audio both ways (%s)" % (what, caller.user, callee.user, delta))
    srtp = [e for p in (caller, callee) for e in p.events("CALL_MENC")]
    caller.command("hangup")
    caller.wait_event("CALL_CLOSED", since=closed, timeout=20)
    return {"answered": ok, "rtp": delta, "menc_events": [(e.get("accountaor"), e.get("param")) for e in srtp]}


def main():
    v.require_environment()
    rp.Pbx.require()
    rp.RtpEngine.require()
    rp.Phone.require("srtp")
    if shutil.which("openssl") is None:
        v.skip("openssl is not installed (packaging/install-deps installs it)")
    if not os.path.exists(os.path.join(rp.Pbx.require(), "tls.so")):
        v.skip("Kamailio's tls module is not installed (packaging/install-deps installs kamailio-tls-modules)")
    c = v.Check("e2e_45_real_tls_srtp")
    with rp.RealSite() as s:
        c.attach(s)
        s.add_internet_address(rp.FAREND)
        policy = v.demo_policy(append="media:\n  static_allowance: true\n")
        d = v.Daemon(s, s.file("policy.yaml", policy))
        d.start()
        c.figure("backend", d.status()["backend"])
        rp.RtpEngine(s).start()
        pbx = rp.Pbx(s, tls=True).start()
        # The far-end phone's own leg (inside the internet side) is UDP: only
        # the handset's leg crosses voipguard.
        far = rp.Phone(s, s.internet, rp.FAREND, "300", transport="udp", mediaenc="srtp-mand", ctrl_port=4450).start()
        h1 = rp.Phone(s, s.handset, v.HANDSET, "201", transport="tls", mediaenc="srtp-mand", ctrl_port=4444).start()
        for p in (far, h1):
            c.that(bool(v.wait_until(lambda: pbx.registrations(p.user), 30, 0.2)),
                   "%s registered over %s" % (p.user, p.transport))
        c.figure("registrations", pbx.registrations())
        c.that(("201", v.HANDSET, "tls") in pbx.registrations(), "the PBX saw 201 register over TLS")
        calls = {"outbound": call(c, h1, far, "outbound over TLS + SRTP"),
                 "inbound": call(c, far, h1, "inbound over TLS + SRTP")}
        c.figure("calls", calls)
        for what, x in calls.items():
            keyed = [e for e in x["menc_events"] if "AES_CM" in (e[1] or "")]
            c.that(len(keyed) >= 2, "%s call: SRTP keyed at both phones (%s)" % (what, keyed))

        st = d.status()
        c.figure("voipguard_reasons", st.get("reasons"))
        c.figure("voipguard_blind", st.get("blind"))
        text = d.ctl("status").stdout
        c.figure("status_text_blind", [l for l in text.splitlines() if "blind" in l])
        tls = d.log_lines("VG_TLS_UNINSPECTED")
        c.figure("syslog_tls_uninspected", tls)
        c.that(any("handset=%s " % v.HANDSET in l and "dst_port=5061" in l for l in tls),
               "syslog: VG_TLS_UNINSPECTED for %s to the PBX's 5061" % v.HANDSET)
        blind = st.get("blind") or {}
        c.that(blind.get("tls_connections", 0) >= 1, "status: blind.tls_connections counts the TLS connection")
        c.that(blind.get("static_allowance") is True, "status: blind.static_allowance is on")
        c.that(st["reasons"].get("media_static_allowance", 0) >= 1 and st["reasons"].get("media_pinhole", 0) == 0,
               "status: the media passed on the static allowance, not on a pinhole (%s)" % st["reasons"])
        c.that(any("blind" in l and "TLS" in l for l in text.splitlines()),
               "voipguard status (text) says inspection is blind for TLS")
        bad = rp.bad_lines(d)
        c.figure("syslog_drops", bad[:10])
        c.that(not bad, "voipguard dropped nothing of the phones' and the PBX's traffic (%d lines)" % len(bad))
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
