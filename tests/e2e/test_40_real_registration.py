#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 40: real phones register through a masquerading router with
short UDP conntrack timeouts. baresip handsets (201 over UDP, 202 over TCP)
register with digest authentication at Kamailio, which grants only a short
Expires, and refresh across at least three expiry cycles; Kamailio keeps
their NAT bindings open with OPTIONS pings (nathelper). The router forgets
an idle UDP flow after a few seconds, so after every refresh, once the
flow has been idle for longer than that, only the keep-alives hold the
binding: an inbound call from the far-end phone (baresip 300 on the
internet side) must still arrive at each handset, with audio both ways
(media anchored on rtpengine)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import realpeers as rp  # noqa: E402

EXPIRES = 30        # what the registrar grants; baresip refreshes at 90% of it
NATPING = 4         # seconds between Kamailio's OPTIONS pings to NATed contacts
UDP_TIMEOUT = 8     # the router's conntrack timeouts for UDP (unreplied / stream)
UDP_STREAM_TIMEOUT = 10
CYCLES = 3


def call_in(c, far, phone, pbx, cycle):
    """The far-end phone calls PHONE; it answers by itself; audio both ways; hang up."""
    est = len(phone.events("CALL_ESTABLISHED"))
    closed_far = len(far.events("CALL_CLOSED"))
    before = {"phone": phone.counter().read(), "far": far.counter().read()}
    far.dial(phone.user)
    ok = bool(phone.wait_event("CALL_ESTABLISHED", since=est, timeout=30))
    c.that(ok, "cycle %d: the far-end's call reached %s (%s) and was answered" % (cycle, phone.user,
                                                                                 phone.transport))
    delta = rp.rtp_flows({"phone": phone.counter(), "far": far.counter()}, before, min_packets=100, timeout=30) \
        if ok else {}
    c.that(ok and all(x >= 100 for dd in delta.values() for x in dd.values()),
           "cycle %d: audio both ways on the call to %s: %s" % (cycle, phone.user, delta))
    far.command("hangup")
    c.that(bool(far.wait_event("CALL_CLOSED", since=closed_far, timeout=20)),
           "cycle %d: the call to %s ended" % (cycle, phone.user))
    return {"answered": ok, "rtp": delta}


def main():
    v.require_environment()
    rp.Pbx.require()
    rp.RtpEngine.require()
    rp.Phone.require()
    c = v.Check("e2e_40_real_registration")
    with rp.RealSite() as s:
        c.attach(s)
        s.add_internet_address(rp.FAREND)
        s.run(s.router, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-s", "192.168.20.0/24",
              "-j", "MASQUERADE")
        # The conntrack timeouts are per network namespace (the module is
        # loaded by the NAT rule above); a kernel where they are not says so here.
        timeouts = {}
        for key, value in (("nf_conntrack_udp_timeout", UDP_TIMEOUT),
                           ("nf_conntrack_udp_timeout_stream", UDP_STREAM_TIMEOUT)):
            r = s.run(s.router, "sysctl", "-qw", "net.netfilter.%s=%d" % (key, value), check=False)
            got = s.run(s.router, "sysctl", "-n", "net.netfilter." + key, check=False).stdout.strip()
            host = v.sh("sysctl", "-n", "net.netfilter." + key, check=False).stdout.strip()
            timeouts[key] = {"router": got, "host": host, "set_rc": r.returncode}
        c.figure("conntrack_timeouts", timeouts)
        c.that(all(t["router"] == str(val) for t, val in zip(timeouts.values(), (UDP_TIMEOUT, UDP_STREAM_TIMEOUT))),
               "the router's UDP conntrack timeouts are %d s / %d s (namespaced sysctls)"
               % (UDP_TIMEOUT, UDP_STREAM_TIMEOUT))

        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy()))
        d.start()
        c.figure("backend", d.status()["backend"])
        rp.RtpEngine(s).start()
        pbx = rp.Pbx(s, expires=EXPIRES, natping=NATPING).start()
        keepalives = v.Capture(s, s.handset, "vgh0", "handset-sip", "src host %s and udp port 5060" % v.PBX)
        far = rp.Phone(s, s.internet, rp.FAREND, "300", regint=EXPIRES, ctrl_port=4450).start()
        udp = rp.Phone(s, s.handset, v.HANDSET, "201", transport="udp", regint=EXPIRES, ctrl_port=4444).start()
        tcp = rp.Phone(s, s.handset2, v.HANDSET2, "202", transport="tcp", regint=EXPIRES, ctrl_port=4445).start()
        for p in (far, udp, tcp):
            ok = v.wait_until(lambda: pbx.registrations(p.user), 30, 0.2)
            c.that(bool(ok), "%s registered over %s with digest authentication" % (p.user, p.transport))
        c.figure("first_registrations", pbx.registrations())
        c.that(("201", "100.64.0.1", "udp") in pbx.registrations() and ("202", "100.64.0.1", "tcp")
               in pbx.registrations(), "the PBX saw both handsets from the router's public address (NAT)")

        cycles = []
        for cycle in range(1, CYCLES + 1):
            # A refresh of each handset's registration ...
            n = {p.user: len(pbx.registrations(p.user)) for p in (udp, tcp)}
            refreshed = v.wait_until(lambda: all(len(pbx.registrations(p.user)) > n[p.user] for p in (udp, tcp)),
                                     EXPIRES * 2, 0.2)
            c.that(bool(refreshed), "cycle %d: both handsets refreshed their registration" % cycle)
            # ... then idle SIP for longer than the router keeps an idle UDP flow.
            v.time.sleep(UDP_STREAM_TIMEOUT + 2)
            ct = s.run(s.router, "conntrack", "-L", "-p", "udp", "--orig-src", v.HANDSET, "--orig-port-src", "5060",
                       check=False).stdout.strip().splitlines()
            entry = {"conntrack": ct, "contacts_201": pbx.contacts("201"), "contacts_202": pbx.contacts("202")}
            entry["udp"] = call_in(c, far, udp, pbx, cycle)
            entry["tcp"] = call_in(c, far, tcp, pbx, cycle)
            cycles.append(entry)
        c.figure("cycles", cycles)
        c.figure("registrations", pbx.registrations())

        keepalives.stop()
        text = v.sh("tcpdump", "-r", keepalives.path, "-n", "-A", check=False).stdout
        pings = text.count("OPTIONS sip:")
        c.figure("pbx_options_pings_at_handsets", pings)
        c.that(pings >= CYCLES * 2, "Kamailio's NAT keep-alives (OPTIONS) reached the UDP handset (%d)" % pings)
        st = d.status()
        c.figure("voipguard_reasons", st.get("reasons"))
        c.figure("voipguard_status", {k: st.get(k) for k in ("calls", "handsets", "kernel") if k in st})
        regs = d.log_lines("VG_HANDSET_REGISTERED")
        c.figure("syslog_registered", regs[:4])
        c.that(any("handset=%s" % v.HANDSET in l for l in regs) and any("handset=%s" % v.HANDSET2 in l for l in regs),
               "syslog: VG_HANDSET_REGISTERED for both handsets")
        drops = rp.bad_lines(d)
        c.figure("syslog_drops", drops[:10])
        c.that(not drops, "voipguard dropped nothing of the phones' and the PBX's traffic (%d lines)" % len(drops))
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
