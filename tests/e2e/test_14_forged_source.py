#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 14: the kernel side of the zero-bypass work.

- Forged sources: from the internet, UDP and TCP with a handset network's
  source address (IPv4 and IPv6) to a handset's SIP and media ports. The
  router's loose reverse-path filter lets them in, and "both ends inside"
  used to pass them; now the handset networks are bound to their voice
  interface (from the routes here) and nothing arrives (VG_FORGED_SOURCE).
- Foreign sources: the handset namespace sends SIP to the PBX from an
  address outside the handset networks: dropped (VG_FOREIGN_SOURCE). A
  normal call still works.
- DSCP in the conntrack mark: a router table keeps the DSCP of incoming
  packets in the top six bits of the conntrack mark (the layout of tc's
  ctinfo). An attacker's UDP with DSCP EF to a handset port must not take the
  fast path (with the old one-bit mark 0x20000000 all of it arrived).
- Mark conflict: a router rule that writes voipguard's verified value makes
  `voipguard run` refuse to start (VG_MARK_CONFLICT, exit 1).
- TCP reset: TCP segments carrying the reset mark (set here by a rule of the
  test, as the daemon's verdict does for a cut SIP stream) are answered with
  a reset by voipguard's own rule: the handset's connection gets ECONNRESET.
"""
import errno
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

FORGED4 = "192.168.20.50"       # a handset network address, on the internet side
FORGED6 = "fd00:20::50"
FOREIGN4 = "10.77.0.5"          # outside the handset networks, on the handset side
FOREIGN6 = "fd77::5"
RESET_PORT = 5999
INTERNET_HOST = "100.64.0.2"    # the internet namespace's own address: neither PBX nor support


def sent_count(p):
    return p["sent"]


def forged(c, s, d):
    """Forged handset sources from the internet: nothing reaches the handsets."""
    v.sh("ip", "netns", "exec", s.router, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=2")
    v.sh("ip", "netns", "exec", s.router, "sysctl", "-qw", "net.ipv4.conf.wan0.rp_filter=2")
    s.run(s.internet, "ip", "addr", "add", FORGED4 + "/32", "dev", "lo")
    s.run(s.internet, "ip", "-6", "addr", "add", FORGED6 + "/128", "dev", "lo", "nodad")
    udp_ports = "5060,41000,41001"
    rx4 = s.probe_bg(s.handset, "udp-recv", "--bind", v.HANDSET, "--port", udp_ports, "--seconds", "4")
    rx6 = s.probe_bg(s.handset, "udp-recv", "--bind", v.HANDSET6, "--port", udp_ports, "--seconds", "4")
    tcp4 = s.probe_bg(s.handset, "tcp-listen", "--bind", v.HANDSET, "--port", "5060", "--seconds", "4")
    tcp6 = s.probe_bg(s.handset, "tcp-listen", "--bind", v.HANDSET6, "--port", "5060", "--seconds", "4")
    time.sleep(0.5)
    sent = 0
    for src, dst in ((FORGED4, v.HANDSET), (FORGED6, v.HANDSET6)):
        for port, kind in (("5060", "sip-invite"), ("41000", "rtp"), ("41001", "rtp")):
            sent += sent_count(s.probe(s.internet, "udp-send", "--src", src, "--sport", "5060", "--dst", dst,
                                       "--dport", port, "--count", "10", "--pps", "100", "--kind", kind))
    syn4 = s.probe(s.internet, "tcp-connect", "--src", FORGED4, "--dst", v.HANDSET, "--port", "5060", "--timeout", "1")
    syn6 = s.probe(s.internet, "tcp-connect", "--src", FORGED6, "--dst", v.HANDSET6, "--port", "5060", "--timeout", "1")
    r4, r6, t4, t6 = s.result(rx4), s.result(rx6), s.result(tcp4), s.result(tcp6)
    c.figure("forged_udp_sent", sent)
    c.figure("forged_udp_received", {"v4": r4["received"], "v6": r6["received"]})
    c.that(sent == 60, "60 forged UDP packets sent (%d)" % sent)
    c.that(r4["received"] == 0 and r6["received"] == 0,
           "no forged UDP reached a handset (IPv4 %d, IPv6 %d of 30 each)" % (r4["received"], r6["received"]))
    c.that(not syn4["connected"] and not syn6["connected"] and t4["accepted"] == 0 and t6["accepted"] == 0,
           "no forged TCP connection reached a handset (IPv4 %s, IPv6 %s)" % (syn4["connected"], syn6["connected"]))
    c.that(bool(d.wait_log("VG_FORGED_SOURCE", timeout=5)), "syslog: VG_FORGED_SOURCE")
    lines = d.log_lines("VG_FORGED_SOURCE")
    c.figure("forged_syslog", lines[:4])
    c.that(any("src=" + FORGED4 in l and "detail=wan0" in l for l in lines)
           and any("src=" + FORGED6 in l for l in lines),
           "VG_FORGED_SOURCE names the forged IPv4 and IPv6 sources and the input interface")
    st = d.status()
    c.figure("kernel_forged_source_drop_packets", st["kernel"]["forged_source_drop_packets"])
    c.that(st["kernel"]["forged_source_drop_packets"] >= 62,
           "status counts the forged drops (%d)" % st["kernel"]["forged_source_drop_packets"])
    c.that(st["voice_interfaces"] == ["lan0"], "the handset networks are bound to lan0 (from the routes): %s"
           % st["voice_interfaces"])


def foreign(c, s, d):
    """A handset sending with a source outside the handset networks."""
    s.run(s.handset, "ip", "addr", "add", FOREIGN4 + "/32", "dev", "vgh0")
    s.run(s.handset, "ip", "-6", "addr", "add", FOREIGN6 + "/128", "dev", "vgh0", "nodad")
    rx4 = s.probe_bg(s.internet, "udp-recv", "--bind", v.PBX, "--port", "5060,5080", "--seconds", "3")
    rx6 = s.probe_bg(s.internet, "udp-recv", "--bind", v.PBX6, "--port", "5060", "--seconds", "3")
    time.sleep(0.5)
    s.probe(s.handset, "udp-send", "--src", FOREIGN4, "--sport", "5060", "--dst", v.PBX, "--dport", "5060",
            "--count", "5", "--pps", "50", "--kind", "sip-register")
    s.probe(s.handset, "udp-send", "--src", FOREIGN4, "--sport", "5060", "--dst", v.PBX, "--dport", "5080",
            "--count", "5", "--pps", "50", "--kind", "sip-register")
    s.probe(s.handset, "udp-send", "--src", FOREIGN6, "--sport", "5060", "--dst", v.PBX6, "--dport", "5060",
            "--count", "5", "--pps", "50", "--kind", "sip-register")
    r4, r6 = s.result(rx4), s.result(rx6)
    c.figure("foreign_received_by_pbx", {"v4": r4["received"], "v6": r6["received"]})
    c.that(r4["received"] == 0 and r6["received"] == 0,
           "SIP from a foreign source did not reach the PBX (IPv4 %d of 10, IPv6 %d of 5)"
           % (r4["received"], r6["received"]))
    c.that(bool(d.wait_log("VG_FOREIGN_SOURCE", timeout=5)), "syslog: VG_FOREIGN_SOURCE")
    lines = d.log_lines("VG_FOREIGN_SOURCE")
    c.figure("foreign_syslog", lines[:3])
    c.that(any("src=" + FOREIGN4 in l and "detail=lan0" in l for l in lines)
           and any("src=" + FOREIGN6 in l for l in lines),
           "VG_FOREIGN_SOURCE names the foreign IPv4 and IPv6 sources and lan0")
    st = d.status()
    c.that(st["kernel"]["foreign_source_drop_packets"] >= 15,
           "status counts the foreign drops (%d)" % st["kernel"]["foreign_source_drop_packets"])


def call_still_works(c, s, d):
    pbx = s.sipp(s.internet, "uas_pbx.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA, "-m", "1",
                 "-timeout", "20", label="pbx")
    time.sleep(0.5)
    uac = s.sipp(s.handset, "uac_call.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5060", "-mi", v.HANDSET,
                 "-s", "02079460000", "-d", "1000", "-m", "1", "-timeout", "20", "-timeout_error", label="handset")
    rc_uac, rc_pbx = s.sipp_wait(uac, 25), s.sipp_wait(pbx, 25)
    c.that(rc_uac == 0 and rc_pbx == 0, "a normal call still works (sipp exit %d / %d)" % (rc_uac, rc_pbx))


def dscp_attack(c, s, d):
    """30 UDP packets with DSCP EF from the attacker to a handset port, with a
    router table that keeps the DSCP in the conntrack mark."""
    rx = s.probe_bg(s.handset, "udp-recv", "--bind", v.HANDSET, "--port", "40000", "--seconds", "3")
    time.sleep(0.5)
    sock = v.netns_socket(s.internet, socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0xb8)   # DSCP EF
    sock.bind((v.ATTACKER, 40000))
    for i in range(30):
        sock.sendto(b"dscp-ef %d" % i, (v.HANDSET, 40000))
        time.sleep(0.01)
    sock.close()
    r = s.result(rx)
    c.figure("dscp_ef_attack_arrived", "%d/30" % r["received"])
    c.that(r["received"] == 0, "DSCP EF attack: %d of 30 reached the handset" % r["received"])
    # The attacker's conntrack entries never get confirmed (their packets
    # are dropped), so the rule's counter shows that it marked them.
    listed = s.run(s.router, "nft", "list", "chain", "inet", "testmark", "pre").stdout
    m = re.search(r"counter packets (\d+)", listed)
    marked = int(m.group(1)) if m else 0
    c.figure("dscp_rule_marked_packets", marked)
    c.that(marked >= 30, "the router's rule put EF (0xb8000000) in the conntrack mark of %d packets" % marked)


def reset_rule(c, s, d):
    """Segments with the reset mark are answered with a TCP reset. The test
    sets the mark itself, after the queue verdict and before voipguard's
    reject rule (a verdict that verifies the flow would replace the mark),
    on a connection to an ordinary internet host."""
    backend = d.status()["backend"]
    if backend == "nftables":
        s.run(s.router, "nft", "add", "chain", "inet", "testmark", "fwd",
              "{ type filter hook forward priority filter - 10; policy accept; }")
        rule = ["nft", "add", "rule", "inet", "testmark", "fwd", "tcp", "dport", str(RESET_PORT),
                "tcp", "flags", "&", "psh", "==", "psh", "meta", "mark", "set", "0x00a50000"]
    else:
        # Filter table, FORWARD rule 1: before voipguard's reset chain.
        rule = ["iptables", "-t", "filter", "-I", "FORWARD", "1", "-p", "tcp", "--dport", str(RESET_PORT),
                "--tcp-flags", "PSH", "PSH", "-j", "MARK", "--set-xmark", "0xa50000/0xff0000"]
    # Added after the start: the start check would (rightly) refuse a rule
    # that writes voipguard's reset value.
    s.run(s.router, *rule)
    listener = v.netns_socket(s.internet, socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((INTERNET_HOST, RESET_PORT))
    listener.listen(4)
    cli = v.netns_socket(s.handset, socket.AF_INET, socket.SOCK_STREAM)
    cli.settimeout(5)
    cli.bind((v.HANDSET, 0))
    outcome = "no error"
    try:
        cli.connect((INTERNET_HOST, RESET_PORT))
        srv, _ = listener.accept()
        cli.sendall(b"hello\r\n")
        cli.recv(100)
    except ConnectionResetError:
        outcome = "ECONNRESET"
    except OSError as e:
        outcome = errno.errorcode.get(e.errno, str(e)) if e.errno else str(e)
    finally:
        cli.close()
        listener.close()
    c.figure("reset_outcome", outcome)
    c.that(outcome == "ECONNRESET", "a segment with the reset mark got the sender a TCP reset (%s)" % outcome)


def mark_conflict(c, s):
    """A router rule writing voipguard's verified value: voipguard refuses to start."""
    s.run(s.router, "iptables", "-t", "mangle", "-A", "PREROUTING", "-j", "CONNMARK", "--set-xmark", "0x5a0000/0xff0000")
    d = v.Daemon(s, s.file("policy.yaml", v.demo_policy()), label="conflict")
    d.start(wait=False)
    try:
        rc = d.proc.wait(timeout=15)
    except Exception:
        rc = None
    c.figure("mark_conflict_exit", rc)
    c.that(rc == 1, "voipguard refused to start with the conflicting rule (exit %s)" % rc)
    c.that("choose another --mark VALUE/MASK" in d.stderr(), "the message says to choose another --mark")
    lines = d.log_lines("VG_MARK_CONFLICT")
    c.figure("mark_conflict_syslog", lines[:1])
    c.that(any("--set-xmark 0x5a0000/0xff0000" in l for l in lines), "syslog: VG_MARK_CONFLICT names the rule")
    s.run(s.router, "iptables", "-t", "mangle", "-D", "PREROUTING", "-j", "CONNMARK", "--set-xmark",
          "0x5a0000/0xff0000")


def main():
    v.require_environment()
    c = v.Check("e2e_14_forged_source")
    with v.Site() as s:
        c.attach(s)

        # The router's QoS table: DSCP -> top six bits of the conntrack mark.
        s.run(s.router, "nft", "add", "table", "inet", "testmark")
        s.run(s.router, "nft", "add", "chain", "inet", "testmark", "pre",
              "{ type filter hook prerouting priority mangle - 10; policy accept; }")
        s.run(s.router, "nft", "add", "rule", "inet", "testmark", "pre", "ip", "dscp", "ef", "counter",
              "ct", "mark", "set", "ip", "dscp", "map", "{ cs1 : 0x20000000, af41 : 0x88000000, ef : 0xb8000000 }")

        # reset_rule's TCP connection goes out to the internet host's RESET_PORT:
        # the egress allow-list lists it.
        policy = v.demo_policy(replace=[("egress:\n  allow:\n",
                                         "egress:\n  allow:\n    - name: reset-test\n"
                                         "      addresses: [100.64.0.2]\n"
                                         "      ports: [\"tcp/%d\"]\n" % RESET_PORT)])
        d = v.Daemon(s, s.file("policy.yaml", policy))
        d.start()
        c.figure("backend", d.status()["backend"])
        overlap = d.log_lines("VG_MARK_OVERLAP")
        c.figure("mark_overlap_syslog", overlap[:1])
        c.that(any("ip dscp map" in l for l in overlap),
               "the DSCP table is reported as an overlap (it can clear our mark, not forge it)")

        forged(c, s, d)
        foreign(c, s, d)
        dscp_attack(c, s, d)
        call_still_works(c, s, d)
        reset_rule(c, s, d)
        c.that(d.stop() == 0, "voipguard stopped cleanly")
        mark_conflict(c, s)
    c.finish()


if __name__ == "__main__":
    main()
