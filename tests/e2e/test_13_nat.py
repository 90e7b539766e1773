#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""NAT variant: the router also masquerades the handset network toward the
internet (as most customer routers do). voipguard's forward-hook rules see
the handsets' own addresses; the PBX sees the router's (100.64.0.1).
Registration and the call's signalling pass through NAT, the media too
when the PBX answers the address the handset's media came from (symmetric
RTP), and an attacker routing packets to the handset network through the
router is still dropped."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

ROUTER_WAN = "100.64.0.1"


def main():
    v.require_environment()
    if v.shutil.which("conntrack") is None:
        v.skip("conntrack is not installed (packaging/install-deps installs it)")
    c = v.Check("e2e_13_nat")
    with v.Site() as s:
        c.attach(s)
        s.run(s.router, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-s", "192.168.20.0/24",
              "-j", "MASQUERADE")
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy(append="logging:\n  level: debug\n")))
        d.start()
        c.figure("backend", d.status()["backend"])
        pbx = s.sipp(s.internet, "uas_pbx.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA, "-m", "1",
                     "-timeout", "25", label="pbx")
        v.time.sleep(0.5)
        uac = s.sipp(s.handset, "uac_call.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5060", "-mi", v.HANDSET,
                     "-s", "02079460000", "-d", "5000", "-m", "1", "-timeout", "25", "-timeout_error",
                     label="handset")
        c.that(bool(d.wait_log("VG_CALL_STARTED", timeout=8)), "the call through NAT was answered")
        hs = v.json.loads(d.ctl("handsets", "--json").stdout)["handsets"]
        c.figure("handsets", [(h["address"], h["aor"], h["registered"]) for h in hs])
        c.that(len(hs) == 1 and hs[0]["address"] == v.HANDSET and hs[0]["registered"],
               "the handset registered through NAT (voipguard saw it as %s)" % v.HANDSET)
        ct = s.run(s.router, "conntrack", "-L", "-p", "udp", "--orig-src", v.HANDSET, "--orig-port-dst", "5060",
                   check=False).stdout.strip().splitlines()
        c.figure("conntrack_sip", ct)
        c.that(any("dst=" + ROUTER_WAN in l for l in ct),
               "conntrack: the handset's SIP flow is masqueraded to %s" % ROUTER_WAN)
        before = d.status()

        # Symmetric RTP: the handset speaks first, the PBX sends to where that came from.
        at_pbx, at_handset = v.start_rtp(s, count=150, pps=50, handset_delay=0.2, pbx_delay=0.6,
                                         pbx_peer=ROUTER_WAN)
        v.time.sleep(0.8)
        attack = s.probe_bg(s.internet, "udp-send", "--src", v.ATTACKER, "--sport", "5070", "--dst", v.HANDSET,
                            "--dport", "41000", "--count", "40", "--pps", "40", "--kind", "rtp")
        scan = s.probe_bg(s.internet, "udp-send", "--src", v.ATTACKER, "--sport", "5071", "--dst", v.HANDSET2,
                          "--dport", "5060", "--count", "20", "--pps", "20", "--kind", "sip-options",
                          "--ua", "friendly-scanner")
        rx = s.probe_bg(s.handset, "udp-recv", "--bind", v.HANDSET2, "--port", "5060", "--seconds", "2")
        sent = s.result(attack)["sent"] + s.result(scan)["sent"]
        rp, rh = s.result(at_pbx), s.result(at_handset)
        got = s.result(rx)
        during = d.status()
        rc_uac, rc_pbx = s.sipp_wait(uac, 25), s.sipp_wait(pbx, 25)
        st = d.status()
        c.figure("sipp_rc", [rc_uac, rc_pbx])
        c.figure("pbx_received_sip", v.sip_messages(pbx.trace))
        c.figure("rtp_pbx_to_router_to_handset", {"sent": rp["sent"], "received": rh["sources"].get(v.PBX_MEDIA, 0)})
        c.figure("rtp_handset_to_pbx", {"sent": rh["sent"], "received": rp["received"]})
        c.figure("pbx_media_seen_from", rp["sources"])
        c.figure("media_packets_queued_to_daemon", during["queue"]["packets"] - before["queue"]["packets"])
        c.figure("attacker_sent_received", [sent, got["received"] + rh["sources"].get(v.ATTACKER, 0)])
        c.figure("kernel_inbound_drop_packets", st["kernel"]["inbound_drop_packets"])
        c.figure("reasons", st["reasons"])
        c.that(rc_uac == 0 and rc_pbx == 0, "REGISTER, INVITE, ACK and BYE passed through NAT (sipp %d / %d)"
               % (rc_uac, rc_pbx))
        c.that(list(rp["sources"]) == [ROUTER_WAN], "the PBX saw the handset's media from %s" % ROUTER_WAN)
        c.that(rh["sources"].get(v.PBX_MEDIA, 0) >= rp["sent"] * 0.98 and rp["received"] >= rh["sent"] * 0.98,
               "media both ways through NAT: %d of %d to the handset, %d of %d to the PBX"
               % (rh["sources"].get(v.PBX_MEDIA, 0), rp["sent"], rp["received"], rh["sent"]))
        q = during["queue"]["packets"] - before["queue"]["packets"]
        c.that(1 <= q <= 4, "the PBX's media was verified by the daemon once, then the fast path (%d queued)" % q)
        c.that(got["received"] == 0 and v.ATTACKER not in rh["sources"],
               "the attacker's %d packets routed to the handset network did not arrive" % sent)
        c.that(st["kernel"]["inbound_drop_packets"] >= sent, "the kernel dropped them (%d)"
               % st["kernel"]["inbound_drop_packets"])
        c.that(bool(d.wait_log("VG_KERNEL_DROP", 3)), "syslog: VG_KERNEL_DROP for the attacker")
        c.that(d.stop() == 0, "voipguard stopped cleanly")
        nat = s.run(s.router, "iptables", "-t", "nat", "-S", "POSTROUTING").stdout
        c.that("MASQUERADE" in nat, "voipguard left the router's own NAT rule alone")
    c.finish()


if __name__ == "__main__":
    main()
