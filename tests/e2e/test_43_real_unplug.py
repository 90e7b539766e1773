#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 43: a registered phone is unplugged and plugged back. baresip
202 (SIP over TCP, in a namespace of its own) and 201 (UDP, the control)
register at Kamailio every 30 s; the policy says handsets.stale_after: 1m.
202's cable is pulled (its interface down) for longer than that: voipguard
reports it stale (VG_HANDSET_STALE), and not 201. Plugged back, 202
registers again by itself (a new TCP connection through voipguard),
voipguard reports it registered again (VG_HANDSET_REGISTERED), and calls
to and from it work with audio both ways."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import realpeers as rp  # noqa: E402

EXPIRES = 30
STALE_AFTER = 60
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
    caller.command("hangup")
    caller.wait_event("CALL_CLOSED", since=closed, timeout=20)
    return {"answered": ok, "rtp": delta}


def main():
    v.require_environment()
    rp.Pbx.require()
    rp.RtpEngine.require()
    rp.Phone.require()
    c = v.Check("e2e_43_real_unplug")
    with rp.RealSite() as s:
        c.attach(s)
        s.add_internet_address(rp.FAREND)
        policy = v.demo_policy(replace=[("  networks: [192.168.20.0/24, \"fd00:20::/64\"]\n",
                                         "  networks: [192.168.20.0/24, \"fd00:20::/64\"]\n"
                                         "  stale_after: %ds\n" % STALE_AFTER)])
        d = v.Daemon(s, s.file("policy.yaml", policy))
        d.start()
        c.figure("backend", d.status()["backend"])
        rp.RtpEngine(s).start()
        pbx = rp.Pbx(s, expires=EXPIRES).start()
        far = rp.Phone(s, s.internet, rp.FAREND, "300", regint=EXPIRES, ctrl_port=4450).start()
        udp = rp.Phone(s, s.handset, v.HANDSET, "201", transport="udp", regint=EXPIRES, ctrl_port=4444).start()
        tcp = rp.Phone(s, s.handset2, v.HANDSET2, "202", transport="tcp", regint=EXPIRES, ctrl_port=4445).start()
        for p in (far, udp, tcp):
            c.that(bool(v.wait_until(lambda: pbx.registrations(p.user), 30, 0.2)),
                   "%s registered over %s" % (p.user, p.transport))
        c.that(bool(v.wait_until(lambda: d.log_lines("VG_HANDSET_REGISTERED", "handset=%s " % v.HANDSET2), 10)),
               "syslog: VG_HANDSET_REGISTERED for %s" % v.HANDSET2)
        c.figure("before", call(c, far, tcp, "before the unplug"))

        # Unplugged.
        t0 = v.time.monotonic()
        s.run(s.handset2, "ip", "link", "set", "eth0", "down")
        stale = v.wait_until(lambda: d.log_lines("VG_HANDSET_STALE", "handset=%s " % v.HANDSET2),
                             STALE_AFTER + EXPIRES + 90, 0.5)
        stale_at = round(v.time.monotonic() - t0, 1)
        c.figure("syslog_stale", stale)
        c.figure("stale_seconds_after_unplug", stale_at)
        c.that(bool(stale), "syslog: VG_HANDSET_STALE for the unplugged %s (%.0f s after the unplug)"
               % (v.HANDSET2, stale_at))
        c.that(any("detail=202@" in l for l in stale), "the stale event names its AOR 202@...")
        # Unplugged for longer than stale_after, whatever the last refresh was.
        while v.time.monotonic() - t0 < STALE_AFTER + 2:
            v.time.sleep(0.5)
        c.that(not d.log_lines("VG_HANDSET_STALE", "handset=%s " % v.HANDSET),
               "the control phone %s, registering all along, is not stale" % v.HANDSET)
        c.figure("unplugged_seconds", round(v.time.monotonic() - t0, 1))
        regs_before = len(pbx.registrations("202"))
        again_before = len(d.log_lines("VG_HANDSET_REGISTERED", "handset=%s " % v.HANDSET2))

        # Plugged back: it registers by itself.
        t1 = v.time.monotonic()
        s.run(s.handset2, "ip", "link", "set", "eth0", "up")
        s.run(s.handset2, "ip", "route", "replace", "default", "via", "192.168.20.1")
        back = v.wait_until(lambda: len(pbx.registrations("202")) > regs_before, 180, 0.5)
        c.figure("reregistered_seconds_after_plug", round(v.time.monotonic() - t1, 1))
        c.that(bool(back), "202 registered again at the PBX after the plug (%s)" % pbx.registrations("202")[-1:])
        again = v.wait_until(lambda: len(d.log_lines("VG_HANDSET_REGISTERED", "handset=%s " % v.HANDSET2))
                             > again_before, 10, 0.2)
        c.figure("syslog_registered", d.log_lines("VG_HANDSET_REGISTERED"))
        c.that(bool(again), "syslog: VG_HANDSET_REGISTERED again for %s" % v.HANDSET2)
        c.figure("after_in", call(c, far, tcp, "after the plug, inbound"))
        c.figure("after_out", call(c, tcp, far, "after the plug, outbound"))

        st = d.status()
        c.figure("voipguard_reasons", st.get("reasons"))
        c.figure("voipguard_status", {k: st.get(k) for k in ("calls", "handsets", "kernel") if k in st})
        hs = v.json.loads(d.ctl("handsets", "--json").stdout)["handsets"]
        c.figure("handsets", hs)
        bad = rp.bad_lines(d)
        c.figure("syslog_drops", bad[:10])
        c.that(not bad, "voipguard dropped nothing of the phones' and the PBX's traffic (%d lines)" % len(bad))
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
