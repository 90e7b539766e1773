#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 17: the real attack tools. Debian's sipvicious (svmap, svwar,
svcrack) runs from the attacker's address in the internet namespace against
the handset network: svmap sweeps 192.168.20.0/24, svwar enumerates
extensions and svcrack guesses a password on the handset 192.168.20.10, and
the same over IPv6 against fd00:20::10. A real SIP phone (baresip,
headless) listens on each handset address; a control run in the handset
namespace shows that svmap finds it when nothing is in between. Behind
voipguard: no packet from the attacker reaches the handset interface
(tcpdump there; the phones' own logs as a second witness), the tools find
nothing, and voipguard logged the scan with the attacker and its
User-Agent."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

TOOL_TIMEOUT = 45  # seconds, every tool run
ATTACKER_BPF = "src host %s or src host %s" % (v.ATTACKER, v.ATTACKER6)
# What crosses the router: its own addresses and the LAN broadcast stay on it.
TO_HANDSETS = ("(%s) and not dst host 192.168.20.1 and not dst host 192.168.20.255 and not dst host fd00:20::1"
               % ATTACKER_BPF)
HANDSET6_NAME = "handset6.e2e.test"


def found(output):
    """Rows of a sipvicious result table (| a | b |), header left out."""
    rows = []
    for line in output.splitlines():
        cells = [x.strip() for x in line.strip().strip("|").split("|")] if line.strip().startswith("|") else []
        if cells and cells[0] not in ("SIP Device", "Extension", "") and not set(line) <= set("+-=| "):
            rows.append(cells)
    return rows


def tool(site, ns, *args):
    """A sipvicious command in namespace NS, bounded in time; (exit code,
    output, seconds). HOME is the temp dir: the tools keep sessions there."""
    t0 = v.time.monotonic()
    cmd = ["env", "HOME=" + site.tmp, "timeout", "-k", "5", str(TOOL_TIMEOUT)] + list(args)
    try:
        r = site.run(ns, *cmd, check=False, timeout=TOOL_TIMEOUT + 15)
        rc, out = r.returncode, r.stdout + r.stderr
    except v.subprocess.TimeoutExpired:
        rc, out = -9, "did not finish"
    return rc, out, round(v.time.monotonic() - t0, 1)


def main():
    v.require_environment()
    for name in ("svmap", "svwar", "svcrack"):
        if shutil.which(name) is None:
            v.skip("%s is not installed (packaging/install-deps installs sipvicious)" % name)
    v.Baresip.require()
    v.Capture.require()
    c = v.Check("e2e_17_sipvicious")
    with v.Site() as s:
        c.attach(s)
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy()))
        d.start()
        c.figure("backend", d.status()["backend"])
        phones = [v.Baresip(s, v.HANDSET).start(), v.Baresip(s, v.HANDSET6).start()]
        at_handsets = v.Capture(s, s.handset, "vgh0", "handset-side")
        from_attacker = v.Capture(s, s.internet, "vgi0", "attacker-side", ATTACKER_BPF)
        # Traffic of the internet namespace to the handset networks leaves from
        # the attacker's address even where a tool does not bind to it (svwar
        # 0.3.3 ignores -b); svwar and svcrack take no IPv6 literal as target,
        # so the IPv6 handset gets a host name there.
        s.run(s.internet, "ip", "route", "replace", "192.168.20.0/24", "via", "100.64.0.1", "src", v.ATTACKER)
        s.run(s.internet, "ip", "-6", "route", "replace", "fd00:20::/64", "via", "2001:db8:ffff::1",
              "src", v.ATTACKER6)
        s.hosts_file(s.internet, {HANDSET6_NAME: v.HANDSET6})

        # The capture sees what the PBX may send: an OPTIONS from the PBX reaches the phone.
        ctl = s.probe(s.internet, "udp-send", "--src", v.PBX, "--sport", "5060", "--dst", v.HANDSET,
                      "--dport", "5060", "--count", "2", "--pps", "10", "--kind", "sip-options", "--ua", "vgpbx")
        c.figure("pbx_options_sent", ctl["sent"])

        a4, a6 = v.ATTACKER, v.ATTACKER6
        runs = [
            ("svmap 192.168.20.0/24", s.internet, ["svmap", "-b", a4, "-P", "5060", "-p", "5060-5061",
                                                   "192.168.20.0/24"]),
            ("svmap INVITE 192.168.20.10", s.internet, ["svmap", "-b", a4, "-P", "5062", "-m", "INVITE",
                                                        "192.168.20.10"]),
            ("svwar 192.168.20.10", s.internet, ["svwar", "-b", a4, "-P", "5063", "--force", "-e", "100-299",
                                                 "-m", "INVITE", "--maximumtime", "10",
                                                 "udp://192.168.20.10:5060"]),
            ("svcrack 201@192.168.20.10", s.internet, ["svcrack", "-b", a4, "-P", "5064", "-u", "201",
                                                       "-r", "1000-1199", "--maximumtime", "10",
                                                       "udp://192.168.20.10:5060"]),
            ("svmap -6 fd00:20::10", s.internet, ["svmap", "-6", "-b", a6, "-P", "5060", v.HANDSET6]),
            ("svwar -6 fd00:20::10", s.internet, ["svwar", "-6", "-b", a6, "-P", "5063", "--force",
                                                  "-e", "100-199", "-m", "INVITE", "--maximumtime", "10",
                                                  HANDSET6_NAME]),
            ("svcrack -6 201@fd00:20::10", s.internet, ["svcrack", "-6", "-b", a6, "-P", "5064", "-u", "201",
                                                        "-r", "1000-1099", "--maximumtime", "10", HANDSET6_NAME]),
        ]
        results = {}
        for label, ns, cmd in runs:
            rc, out, secs = tool(s, ns, *cmd)
            rows = found(out)
            port = cmd[cmd.index("-P") + 1]
            results[label] = {"exit": rc, "seconds": secs, "found": rows, "port": port,
                              "said": [l.strip() for l in out.splitlines() if "found nothing" in l
                                       or "ERROR" in l or "Traceback" in l][:4]}
            c.that(rc == 0, "%s ran to its end (exit %d, %.1f s)" % (label, rc, secs))
            c.that(not rows and "found nothing" in out, "%s found nothing (%s)" % (label, rows))
            if rc != 0 or "Traceback" in out:
                print("--- %s output\n%s" % (label, out[-2000:]))

        # Control: the same svmap from inside the handset network finds the phones.
        rc, out, secs = tool(s, s.handset, "svmap", "-b", v.HANDSET2, "-P", "5070", v.HANDSET)
        rc6, out6, _ = tool(s, s.handset, "svmap", "-6", "-b", "fd00:20::11", "-P", "5070", v.HANDSET6)
        control = found(out) + found(out6)
        c.figure("control_svmap_inside", control)
        c.that(any(v.HANDSET in r[0] for r in found(out)) and any("baresip" in " ".join(r) for r in found(out)),
               "control: svmap inside the handset network finds the baresip phone at %s" % v.HANDSET)
        c.that(any(v.HANDSET6 in r[0] for r in found(out6)),
               "control: svmap -6 inside the handset network finds the phone at %s" % v.HANDSET6)

        v.time.sleep(0.5)
        at_handsets.stop()
        from_attacker.stop()
        sent = from_attacker.count(TO_HANDSETS)
        for label, r in results.items():
            ip = "ip6" if " -6 " in label else "ip"
            r["packets_sent"] = from_attacker.count("%s and src port %s and (%s)" % (ip, r["port"], TO_HANDSETS))
            c.that(r["packets_sent"] > 0, "%s sent %d packets from the attacker" % (label, r["packets_sent"]))
        arrived = at_handsets.lines(ATTACKER_BPF)
        pbx_seen = at_handsets.count("src host %s" % v.PBX)
        c.figure("tools", results)
        c.figure("attacker_packets_sent_to_handset_networks", sent)
        c.figure("attacker_packets_sent_ipv6", from_attacker.count("ip6 and (%s)" % TO_HANDSETS))
        c.figure("attacker_packets_at_handset_interface", len(arrived))
        c.figure("pbx_packets_at_handset_interface", pbx_seen)
        c.that(pbx_seen > 0, "the capture on the handset interface works: the PBX's OPTIONS arrived (%d packets)"
               % pbx_seen)
        c.that(not arrived, "no packet from the attacker reached the handset interface (%d did: %s)"
               % (len(arrived), arrived[:3]))
        heard = [l for p in phones for l in p.output().splitlines() if v.ATTACKER in l or "2001:db8:666" in l]
        c.figure("phone_lines_naming_the_attacker", heard)
        c.that(not heard, "the phones never heard of the attacker (%d lines)" % len(heard))

        st = d.status()
        drops = st["kernel"]["inbound_drop_packets"]
        c.figure("kernel_inbound_drop_packets", drops)
        c.figure("kernel_drop_samples", st["kernel"]["drop_samples"])
        c.that(drops >= sent, "the kernel counted the drops: %d >= %d packets sent" % (drops, sent))
        scanner = d.log_lines("VG_SCANNER_DETECTED")
        kdrop = d.log_lines("VG_KERNEL_DROP")
        c.figure("syslog_scanner", scanner)
        c.figure("syslog_kernel_drop", kdrop)
        for who in (a4, a6):
            c.that(any(re.search(r"\bsrc=%s\b" % re.escape(who), l) for l in kdrop),
                   "syslog: VG_KERNEL_DROP names the attacker %s" % who)
        c.that(any("src=%s " % a4 in l and "friendly-scanner" in l for l in scanner),
               "syslog: VG_SCANNER_DETECTED names %s and the User-Agent friendly-scanner" % a4)
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
