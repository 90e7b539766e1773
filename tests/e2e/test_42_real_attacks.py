#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 42: the real attack tools against a working site. The router
masquerades the handsets (its public address 100.64.0.1); baresip handsets
(201 over UDP, 202 over TCP) are registered at Kamailio. From the internet
side, sipvicious (svmap, svwar, svcrack) and sipsak go at the site's public
address and at the handset range while calls go on: nothing from the
attacker reaches a handset (tcpdump on each handset's interface), the tools
find nothing, voipguard logs the scan once per source (aggregated), and the
calls placed during the scan are answered with audio both ways."""
import os
import shutil
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import realpeers as rp  # noqa: E402
import test_17_sipvicious as t17  # noqa: E402

PUBLIC = "100.64.0.1"
A4 = v.ATTACKER
MIN_RTP = 100


def attacks():
    """(label, command): every tool from the attacker's address, bounded in time."""
    return [
        ("svmap handset range", ["svmap", "-b", A4, "-P", "5070", "-p", "5060-5061", "192.168.20.0/24"]),
        ("svmap public", ["svmap", "-b", A4, "-P", "5071", "-p", "5060-5061", PUBLIC]),
        ("svmap INVITE public", ["svmap", "-b", A4, "-P", "5072", "-m", "INVITE", PUBLIC]),
        ("svwar handset", ["svwar", "-b", A4, "-P", "5073", "--force", "-e", "100-400", "-m", "INVITE",
                           "--maximumtime", "15", "udp://192.168.20.10:5060"]),
        ("svwar public", ["svwar", "-b", A4, "-P", "5074", "--force", "-e", "100-400", "-m", "REGISTER",
                          "--maximumtime", "15", "udp://%s:5060" % PUBLIC]),
        ("svcrack handset", ["svcrack", "-b", A4, "-P", "5075", "-u", "201", "-r", "1000-2999",
                             "--maximumtime", "15", "udp://192.168.20.10:5060"]),
        ("svcrack public", ["svcrack", "-b", A4, "-P", "5076", "-u", "201", "-r", "1000-2999",
                            "--maximumtime", "15", "udp://%s:5060" % PUBLIC]),
        ("sipsak handset", ["sipsak", "-s", "sip:201@192.168.20.10", "-H", A4, "--local-ip", A4,
                            "-l", "5077", "-r", "5060", "-D", "2", "-vv"]),
        ("sipsak public", ["sipsak", "-s", "sip:201@%s" % PUBLIC, "-H", A4, "--local-ip", A4, "-l", "5078",
                           "-D", "2", "-vv"]),
    ]


def main():
    v.require_environment()
    for name in ("svmap", "svwar", "svcrack", "sipsak"):
        if shutil.which(name) is None:
            v.skip("%s is not installed (packaging/install-deps installs sipvicious and sipsak)" % name)
    rp.Pbx.require()
    rp.RtpEngine.require()
    rp.Phone.require()
    v.Capture.require()
    c = v.Check("e2e_42_real_attacks")
    with rp.RealSite() as s:
        c.attach(s)
        s.run(s.router, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-s", "192.168.20.0/24",
              "-j", "MASQUERADE")
        d, pbx, far = rp.start_site(c, s, expires=60, natping=10)
        udp = rp.Phone(s, s.handset, v.HANDSET, "201", transport="udp", regint=60, ctrl_port=4444).start()
        tcp = rp.Phone(s, s.handset2, v.HANDSET2, "202", transport="tcp", regint=60, ctrl_port=4445).start()
        for p in (far, udp, tcp):
            c.that(bool(v.wait_until(lambda: pbx.registrations(p.user), 30, 0.2)),
                   "%s registered over %s" % (p.user, p.transport))
        # Traffic of the internet namespace to the site leaves from the
        # attacker's address (svwar 0.3.3 ignores -b).
        s.run(s.internet, "ip", "route", "replace", "192.168.20.0/24", "via", "100.64.0.1", "src", A4)
        s.run(s.internet, "ip", "route", "replace", PUBLIC, "dev", "vgi0", "src", A4)
        caps = [v.Capture(s, s.handset, "vgh0", "handset-side", "src host %s" % A4),
                v.Capture(s, s.handset2, "eth0", "handset2-side", "src host %s" % A4)]
        sent_cap = v.Capture(s, s.internet, "vgi0", "attacker-side", "src host %s" % A4)

        results = {}

        def scan():
            for label, cmd in attacks():
                rc, out, secs = t17.tool(s, s.internet, *cmd)
                results[label] = {"exit": rc, "seconds": secs, "found": t17.found(out) if cmd[0] != "sipsak" else [],
                                  "said": [l.strip() for l in out.splitlines() if "found nothing" in l
                                           or "ERROR" in l or "Traceback" in l or "no reply" in l.lower()
                                           or "timeout" in l.lower()][:3]}

        t0 = v.time.monotonic()
        scanner = threading.Thread(target=scan)
        scanner.start()
        # Calls during the scan, as long as it lasts (at least one each way).
        calls = []
        while True:
            for caller, callee in ((far, udp), (tcp, far)):
                est = {p.user: p.count("CALL_ESTABLISHED") for p in (caller, callee)}
                closed = caller.count("CALL_CLOSED")
                before = {p.user: p.counter().read() for p in (caller, callee)}
                caller.dial(callee.user)
                ok = all(p.wait_event("CALL_ESTABLISHED", since=est[p.user], timeout=30) for p in (caller, callee))
                delta = rp.rtp_flows({p.user: p.counter() for p in (caller, callee)}, before, MIN_RTP, 30) \
                    if ok else {}
                caller.command("hangup")
                caller.wait_event("CALL_CLOSED", since=closed, timeout=20)
                calls.append({"from": caller.user, "to": callee.user, "answered": ok, "rtp": delta,
                              "during_scan": scanner.is_alive(), "at": round(v.time.monotonic() - t0, 1)})
            if not scanner.is_alive() or v.time.monotonic() - t0 > 240:
                break
        scanner.join(300)
        scan_seconds = round(v.time.monotonic() - t0, 1)
        c.figure("scan_seconds", scan_seconds)
        c.figure("calls_during_scan", calls)
        c.figure("tools", results)
        for call in calls:
            c.that(call["answered"] and all(x >= MIN_RTP for dd in call["rtp"].values() for x in dd.values()),
                   "a call %s -> %s at %.0f s of the scan: answered, audio both ways (%s)"
                   % (call["from"], call["to"], call["at"], call["rtp"]))
        c.that(sum(1 for x in calls if x["during_scan"]) >= 2, "at least two calls ran during the scan")
        for label, r in results.items():
            c.that(r["exit"] != -9, "%s ran to its end (exit %d, %.1f s)" % (label, r["exit"], r["seconds"]))
            c.that(not r["found"], "%s found nothing (%s)" % (label, r["found"]))

        v.time.sleep(0.5)
        for cap in caps + [sent_cap]:
            cap.stop()
        arrived = [l for cap in caps for l in cap.lines()]
        sent = sent_cap.count()
        c.figure("attacker_packets_sent", sent)
        c.figure("attacker_packets_at_handsets", len(arrived))
        c.that(sent > 500, "the tools sent %d packets from the attacker" % sent)
        c.that(not arrived, "no packet from the attacker reached a handset (%d did: %s)" % (len(arrived), arrived[:3]))
        heard = [l for p in (udp, tcp) for l in p.output().splitlines() if A4 in l]
        c.that(not heard, "the handsets never heard of the attacker (%d lines)" % len(heard))
        for p in (udp, tcp):
            n = len(pbx.registrations(p.user))
            c.that(bool(v.wait_until(lambda: len(pbx.registrations(p.user)) > n, 90, 0.5)),
                   "%s still refreshes its registration after the scan" % p.user)

        st = d.status()
        c.figure("voipguard_reasons", st.get("reasons"))
        c.figure("voipguard_kernel", st.get("kernel"))
        lines = [l for l in d.log_lines() if "src=%s " % A4 in l]
        per_event = {}
        for l in lines:
            per_event.setdefault(l.split()[0], []).append(l)
        c.figure("syslog_lines_naming_the_attacker", {k: len(x) for k, x in per_event.items()})
        c.figure("syslog_attacker_lines", lines)
        c.that(bool(per_event), "voipguard logged the attacker")
        # One line per source and event at once; the repeats only in a
        # summary line ("(suppressed N more in 60 s)") once per window.
        windows = 1 + int(scan_seconds // 60) + 1
        for event, x in per_event.items():
            first = [l for l in x if "(suppressed " not in l]
            c.that(len(first) == 1 and len(x) - 1 <= windows,
                   "aggregated: %s names the attacker once (%d), then in %d summary line(s) over %.0f s"
                   % (event, len(first), len(x) - len(first), scan_seconds))
        c.that("VG_SCANNER_DETECTED" in per_event, "syslog: VG_SCANNER_DETECTED for the attacker")
        bad = rp.bad_lines(d, exclude_src=(A4,))
        c.figure("syslog_other_drops", bad[:10])
        c.that(not bad, "voipguard dropped nothing of the phones' and the PBX's traffic (%d lines)" % len(bad))
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
