#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 46 (label long): a five-minute call between a real handset and
the far-end phone through voipguard, the router masquerading the handsets
with short UDP conntrack timeouts. baresip 201 calls 300 via Kamailio and
rtpengine; every 30 s both directions must have moved on at both ends (no
gap, no one-way audio), and at the end each phone received at least 95% of
what the other sent (50 packets/s)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import realpeers as rp  # noqa: E402

SECONDS = 300
STEP = 30


def main():
    v.require_environment()
    rp.Pbx.require()
    rp.RtpEngine.require()
    rp.Phone.require()
    c = v.Check("e2e_46_real_long_call")
    with rp.RealSite() as s:
        c.attach(s)
        s.add_internet_address(rp.FAREND)
        s.run(s.router, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-s", "192.168.20.0/24",
              "-j", "MASQUERADE")
        for key, value in (("nf_conntrack_udp_timeout", 8), ("nf_conntrack_udp_timeout_stream", 10)):
            s.run(s.router, "sysctl", "-qw", "net.netfilter.%s=%d" % (key, value), check=False)
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy()))
        d.start()
        c.figure("backend", d.status()["backend"])
        rp.RtpEngine(s).start()
        pbx = rp.Pbx(s, expires=60, natping=10).start()
        far = rp.Phone(s, s.internet, rp.FAREND, "300", regint=60, ctrl_port=4450).start()
        h1 = rp.Phone(s, s.handset, v.HANDSET, "201", regint=60, ctrl_port=4444).start()
        for p in (far, h1):
            c.that(bool(v.wait_until(lambda: pbx.registrations(p.user), 30, 0.2)),
                   "%s registered over %s" % (p.user, p.transport))
        h1.dial("300")
        ok = all(p.wait_event("CALL_ESTABLISHED", timeout=30) for p in (h1, far))
        c.that(ok, "201 called 300, answered")
        start = {p.user: p.counter().read() for p in (h1, far)}
        t0 = v.time.monotonic()
        samples = []
        last = start
        while ok and v.time.monotonic() - t0 < SECONDS:
            v.time.sleep(min(STEP, max(0.0, SECONDS - (v.time.monotonic() - t0))))
            now = {p.user: p.counter().read() for p in (h1, far)}
            step = {u: {k: now[u][k] - last[u][k] for k in ("tx", "rx")} for u in now}
            samples.append({"at": round(v.time.monotonic() - t0), "delta": step})
            c.that(all(x > 0 for dd in step.values() for x in dd.values()),
                   "at %.0f s: audio moved on both ways at both phones (%s)" % (v.time.monotonic() - t0, step))
            last = now
        elapsed = v.time.monotonic() - t0
        c.figure("samples", samples)
        total = {u: {k: last[u][k] - start[u][k] for k in ("tx", "rx")} for u in last}
        c.figure("totals", total)
        c.figure("seconds", round(elapsed, 1))
        c.that(total["201"]["rx"] >= 0.95 * total["300"]["tx"] and total["300"]["rx"] >= 0.95 * total["201"]["tx"],
               "over %.0f s each phone received >= 95%% of what the other sent (%s)" % (elapsed, total))
        c.that(total["201"]["tx"] >= 0.9 * 50 * elapsed, "201 sent 50 packets/s all along (%d)" % total["201"]["tx"])
        c.that(far.count("CALL_CLOSED") == 0 and h1.count("CALL_CLOSED") == 0, "the call was never cut")
        h1.command("hangup")
        c.that(bool(far.wait_event("CALL_CLOSED", timeout=20)), "the call ended on the hangup")
        st = d.status()
        c.figure("voipguard_reasons", st.get("reasons"))
        c.figure("voipguard_status", {k: st.get(k) for k in ("calls", "pinholes", "kernel") if k in st})
        bad = rp.bad_lines(d)
        c.figure("syslog_drops", bad[:10])
        c.that(not bad, "voipguard dropped nothing of the phones' and the PBX's traffic (%d lines)" % len(bad))
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
