#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 15: a real SIP server as the PBX. Kamailio (Debian's package,
tests/e2e/vgnet.py:Kamailio) is the registrar behind the router running
voipguard with the demo policy. Handsets register with digest
authentication through the router (sipsak, a real SIP client), allowed
INVITEs reach Kamailio and are logged by it, and INVITEs to denied numbers,
over UDP (retransmitted as a phone does) and over TCP (written in several
send() calls, retransmitted by the handset's own TCP stack when voipguard
drops a segment), never appear in Kamailio's log; voipguard logs each."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

# Allowed numbers: (number, transport, handset).
ALLOWED = [
    ("02079460000", "udp", v.HANDSET),
    ("999", "udp", v.HANDSET),
    ("02079460002", "tcp", v.HANDSET2),
    ("999", "tcp", v.HANDSET2),
    ("02079460003", "udp", v.HANDSET6),
    ("02079460004", "tcp", v.HANDSET6),
]
# Denied numbers of the demo policy: (dialled, normalised, rule). Each
# attempt comes from a handset address of its own: voipguard aggregates
# VG_TOLL_FRAUD_BLOCKED per handset, so each is then logged by itself.
DENIED = [
    ("0088213000001", "+88213000001", "deny_prefix:+882"),
    ("+8816123456", "+8816123456", "deny_prefix:+881"),
    ("09098790000", "+449098790000", "deny_prefix:09"),
]
DENIED_ATTEMPTS = []  # (dialled, normalised, rule, transport, source)
for i, (dialled, number, rule) in enumerate(DENIED):
    DENIED_ATTEMPTS.append((dialled, number, rule, "udp", "192.168.20.%d" % (21 + i)))
    DENIED_ATTEMPTS.append((dialled, number, rule, "tcp", "192.168.20.%d" % (31 + i)))
DENIED_ATTEMPTS.append(("0088213000001", "+88213000001", "deny_prefix:+882", "udp", "fd00:20::21"))
DENIED_ATTEMPTS.append(("09098790000", "+449098790000", "deny_prefix:09", "tcp", "fd00:20::31"))


def pbx_of(src):
    return v.PBX6 if ":" in src else v.PBX


def invite(site, number, transport, src, retransmit=True):
    """One INVITE from SRC to the PBX. UDP: the request and, when no final
    answer came, its retransmissions 0.5 s and 1 s later (RFC 3261 timer A),
    as a phone sends them. TCP: one connection, the request written in three
    send() calls; held 1.5 s so that the handset's TCP stack retransmits what
    was not acknowledged."""
    pbx = pbx_of(src)
    if transport == "udp":
        msg = v.sip_invite(number, src, 5060, dst=pbx, transport="UDP")
        out = {"sent": 0, "replies": [], "error": None}
        for _ in range(3 if retransmit else 1):
            r = v.send_udp(site, site.handset, src, pbx, 5060, [msg], listen=0.5, sport=5060)
            out["sent"] += r["sent"]
            out["replies"] += r["replies"]
            out["error"] = out["error"] or r["error"]
            if any(l[8:9] in "23456" for l in r["replies"]):  # a final answer ends timer A
                break
        return out
    msg = v.sip_invite(number, src, 5060, dst=pbx, transport="TCP")
    cut1, cut2 = msg.index(b"\r\n") - 12, len(msg) // 2  # the second send starts inside the Request-URI
    return v.send_tcp(site, site.handset, src, pbx, 5060, [msg[:cut1], msg[cut1:cut2], msg[cut2:]],
                      pause=0.1, hold=1.5)


def main():
    v.require_environment()
    v.Kamailio.require()
    if shutil.which("sipsak") is None:
        v.skip("sipsak is not installed (packaging/install-deps installs it)")
    c = v.Check("e2e_15_kamailio_pbx")
    with v.Site() as s:
        c.attach(s)
        for _, _, _, _, src in DENIED_ATTEMPTS:
            if ":" in src:
                s.run(s.handset, "ip", "-6", "addr", "add", src + "/64", "dev", "vgh0", "nodad")
            else:
                s.run(s.handset, "ip", "addr", "add", src + "/24", "dev", "vgh0")
        policy = v.demo_policy(replace=[
            ("addresses: [203.0.113.10]", 'addresses: [203.0.113.10, "%s"]' % v.PBX6),
        ])
        d = v.Daemon(s, s.file("policy.yaml", policy))
        d.start()
        c.figure("backend", d.status()["backend"])
        k = v.Kamailio(s).start()

        # (a) Registration with digest authentication through the router.
        regs = [("201", v.HANDSET, 5070, "udp"), ("202", v.HANDSET2, 5070, "tcp"), ("201", v.HANDSET6, 5072, "udp")]
        rc_wrong, out_wrong = v.sipsak_register(s, s.handset, "202", "not-the-password", v.HANDSET2, 5071)
        c.figure("sipsak_wrong_password_rc", rc_wrong)
        c.that(rc_wrong != 0 and "403" in out_wrong,
               "Kamailio refused a REGISTER with a wrong password (403, sipsak exit %d)" % rc_wrong)
        rcs = {}
        for user, src, port, transport in regs:
            if ":" in src:
                # sipsak 0.9.8 cannot parse IPv6 addresses in SIP URIs: sipp's [authentication].
                tool = "sipp"
                p = s.sipp(s.handset, "uac_register_auth.xml", "[%s]:5060" % pbx_of(src), "-i", src,
                           "-p", str(port), "-s", user, "-au", user, "-ap", v.KAMAILIO_USERS[user], "-m", "1",
                           "-timeout", "15", "-timeout_error", label="register6")
                rc, out = s.sipp_wait(p, 20), ""
            else:
                tool = "sipsak"
                rc, out = v.sipsak_register(s, s.handset, user, v.KAMAILIO_USERS[user], src, port,
                                            pbx=pbx_of(src), transport=transport)
            rcs["%s %s@%s/%s" % (tool, user, src, transport)] = rc
            c.that(rc == 0, "%s registered %s from %s over %s with digest auth (exit %d)"
                   % (tool, user, src, transport, rc))
            if rc != 0:
                print(out[-2000:])
        c.figure("register_rc", rcs)
        registered = [(e["user"], e["src"], e["proto"]) for e in k.events("REGISTERED")]
        c.figure("kamailio_registered", registered)
        for user, src, _, transport in regs:
            c.that((user, src, transport) in registered,
                   "Kamailio's registrar accepted %s from %s over %s" % (user, src, transport))
        contacts = {u: k.contacts(u) for u in ("201", "202")}
        c.figure("kamailio_contacts", contacts)
        for user, src, port, _ in regs:
            want = "sip:%s@%s:%d" % (user, v.host_of(src), port)
            c.that(want in contacts[user], "the registrar holds the contact %s" % want)
        c.that(bool(d.wait_log("VG_HANDSET_REGISTERED", timeout=3)),
               "voipguard saw the registration (VG_HANDSET_REGISTERED)")

        # (b) Allowed INVITEs reach Kamailio and its answer comes back.
        allowed = {}
        for number, transport, src in ALLOWED:
            r = invite(s, number, transport, src)
            allowed["%s/%s/%s" % (number, transport, src)] = r["replies"]
            c.that(any(l.startswith("SIP/2.0 480") for l in r["replies"]),
                   "INVITE %s over %s from %s: Kamailio's 480 came back (%s)" % (number, transport, src,
                                                                                r["replies"]))
        c.figure("allowed_replies", allowed)

        # (c) Denied numbers never reach it.
        denied = {}
        for dialled, _, _, transport, src in DENIED_ATTEMPTS:
            r = invite(s, dialled, transport, src)
            denied["%s/%s/%s" % (dialled, transport, src)] = {"replies": r["replies"], "error": r["error"]}
        c.figure("denied_attempts", denied)
        # Over TCP the denied INVITE cut the connection: the handset's stack
        # got a reset at once (it reconnects) instead of retransmitting into
        # the void until TCP gives up.
        for dialled, _, _, transport, src in DENIED_ATTEMPTS:
            if transport != "tcp":
                continue
            err = denied["%s/%s/%s" % (dialled, transport, src)]["error"] or ""
            c.that("reset" in err.lower(), "the TCP connection of the INVITE to %s from %s was reset (%s)"
                   % (dialled, src, err or "no error"))
        cuts = d.log_lines("VG_SIP_STREAM_CUT")
        c.figure("syslog_stream_cut", cuts[:3])
        c.that(any("detail=after:toll_fraud" in l for l in cuts), "syslog: VG_SIP_STREAM_CUT detail=after:toll_fraud")
        v.time.sleep(1.0)

        seen = [(e["user"], e["src"], e["proto"]) for e in k.events("INVITE")]
        c.figure("kamailio_invites", seen)
        c.figure("kamailio_logged_users", sorted(k.logged_users()))
        for number, transport, src in ALLOWED:
            c.that((number, src, transport) in seen,
                   "Kamailio logged the allowed INVITE %s from %s over %s" % (number, src, transport))
        logged = k.logged_users()
        for dialled, _, _, transport, src in DENIED_ATTEMPTS:
            hits = [x for x in seen if x[0] == dialled and x[1] == src]
            c.that(not hits, "no INVITE to %s from %s over %s reached Kamailio (%d did)"
                   % (dialled, src, transport, len(hits)))
        c.that(not any(dialled in logged for dialled, _, _ in DENIED),
               "no denied number appears anywhere in Kamailio's log")

        fraud = d.log_lines("VG_TOLL_FRAUD_BLOCKED")
        c.figure("syslog_toll_fraud", fraud)
        for dialled, number, rule, transport, src in DENIED_ATTEMPTS:
            c.that(any("handset=%s " % src in l and "number=%s " % v.masked(number) in l and "dialled=%s " % v.masked(dialled) in l
                       and "rule=%s " % rule in l and "proto=%s " % transport in l for l in fraud),
                   "syslog: VG_TOLL_FRAUD_BLOCKED handset=%s proto=%s number=%s rule=%s"
                   % (src, transport, number, rule))
        st = d.status()
        c.figure("reasons", st["reasons"])
        c.that(st["reasons"].get("toll_fraud", 0) >= len(DENIED_ATTEMPTS),
               "the daemon counted toll_fraud drops (%d >= %d attempts)"
               % (st["reasons"].get("toll_fraud", 0), len(DENIED_ATTEMPTS)))
        c.that(k.running(), "Kamailio ran through the scenario")
        k.stop()
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
