#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The live demo (tests/demo): a customer site in network namespaces, voipguard
on its router with config/examples/demo.yaml, real SIP software on both sides
(Kamailio with digest authentication and rtpengine as the Cloud PBX, baresip
as the handset and as a far-end phone: see realpeers.py), a registration and
a call with audio both ways, then attacks, and a short report of what passed,
what was blocked and why.

  demo.py          run it and tear everything down
  demo.py --keep   leave it running for exploration (prints how to look around)
  demo.py --stop   tear down a demo left running with --keep

Needs root; reads no standard input. VOIPGUARD names the binary."""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402
import realpeers as rp  # noqa: E402

NAMES = ("vg-handset", "vg-router", "vg-internet")
STATE_DIR = "/run/voipguard-demo" if os.path.isdir("/run") else "/tmp/voipguard-demo"
STATE = os.path.join(STATE_DIR, "state.json")
NUMBER = "02079460000"
FRAUD_NUMBER = "0088213000001"


def say(text=""):
    print(text, flush=True)


def heading(text):
    say()
    say("== " + text)


def rel(path):
    r = os.path.relpath(path, os.getcwd())
    return path if r.startswith("..") else r


# ---------------------------------------------------------------------------
# Stop a kept demo

def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def stop_kept(quiet=False):
    if not os.path.exists(STATE):
        leftovers = [n for n in NAMES if os.path.exists("/run/netns/" + n)]
        if not leftovers:
            if not quiet:
                say("no demo is running")
            return
        state = {"names": NAMES, "daemon_pid": None, "listener_pid": None}
    else:
        with open(STATE) as f:
            state = json.load(f)
    pid = state.get("daemon_pid")
    if pid and pid_alive(pid):
        os.kill(pid, signal.SIGTERM)  # logs VG_SHUTDOWN (closed: its rules stay as the barrier)
        for _ in range(100):
            if not pid_alive(pid):
                break
            time.sleep(0.1)
    lpid = state.get("listener_pid")
    if lpid and pid_alive(lpid):
        os.kill(lpid, signal.SIGTERM)
    site = v.Site(names=tuple(state["names"]), tmp=STATE_DIR)
    site.close()
    if not quiet:
        say("demo stopped: voipguard ended, namespaces %s deleted" % ", ".join(state["names"]))


# ---------------------------------------------------------------------------
# The run

TOPOLOGY = """\
  vg-handset (voice network)        vg-router (runs voipguard)        vg-internet
  handset 192.168.20.10, .11  ----  192.168.20.1 | 100.64.0.1  ----  Cloud PBX    203.0.113.10 (Kamailio)
          fd00:20::10                                                 PBX media    203.0.113.70 (rtpengine)
                                                                      far-end phone 198.51.100.20
                                                                      support      198.51.100.7
                                                                      attacker     192.0.2.66
                                                                      rogue SIP    192.0.2.200"""


class AttackerCounter:
    """Counts, with an iptables rule in the handset namespace (the demo's
    own), the UDP packets from the attacker that reach handset 201."""

    def __init__(self, site):
        self.site = site
        site.run(site.handset, "iptables", "-I", "INPUT", "-p", "udp", "-s", v.ATTACKER, "-d", v.HANDSET,
                 "-m", "comment", "--comment", "vg-demo-attacker")

    def read(self):
        out = self.site.run(self.site.handset, "iptables", "-nvxL", "INPUT", check=False).stdout
        for line in out.splitlines():
            if "vg-demo-attacker" in line:
                return int(line.split()[0])
        return -1


def handset_rtp_port(site, phone):
    """The UDP port the handset receives the call's RTP on (its lowest even
    port in its RTP range; RTCP is the next one)."""
    lo, hi = phone.rtp_ports
    ports = []
    for line in site.run(site.handset, "ss", "-Huan", check=False).stdout.splitlines():
        for field in line.split():
            host, _, port = field.rpartition(":")
            if host in (v.HANDSET, "0.0.0.0", "*") and port.isdigit():
                port = int(port)
                if lo <= port <= hi and port % 2 == 0:
                    ports.append(port)
    return min(ports) if ports else lo


def run(keep):
    binary = v.voipguard_binary()
    if os.path.exists(STATE) or any(os.path.exists("/run/netns/" + n) for n in NAMES):
        say("an earlier demo is still set up; stopping it first")
        stop_kept(quiet=True)
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    v.DETACH = keep
    site = v.Site(names=NAMES, tmp=STATE_DIR)
    ok = False
    try:
        ok = demo(site, binary, keep)
    except RuntimeError as e:  # a peer (Kamailio, rtpengine, baresip) did not start
        say("the demo could not set up its peers: %s" % e)
    finally:
        if not keep or not ok:
            if site.daemon:
                site.daemon.stop(check=False)
            site.close()
            say("namespaces %s deleted" % ", ".join(NAMES))
    return 0 if ok else 1


def demo(site, binary, keep):
    say("voipguard live demo: a customer site built from network namespaces on this machine")
    say(TOPOLOGY)
    site.build()
    heading("voipguard run --policy config/examples/demo.yaml (in vg-router)")
    d = v.Daemon(site, v.DEMO_POLICY, label="daemon", listen_seconds=7 * 86400)
    d.start()
    st = d.status()
    say("backend %s, mode %s, on_failure %s" % (st["backend"], st["mode"], st["on_failure"]))
    rules = v.kernel_rules(site)
    if st["backend"] == "iptables":
        say("kernel rules in vg-router: %d iptables + %d ip6tables lines (mangle chains voipguard-*), %d ipsets"
            % (len(rules["iptables-save"]), len(rules["ip6tables-save"]), len(rules["ipset"])))
    else:
        say("kernel rules in vg-router: nftables, %d lines naming voipguard" % len(rules["nft"]))

    # The Cloud PBX and the far-end phone on the internet side, the handset
    # on the voice network: real SIP software (Kamailio, rtpengine, baresip).
    rp.RtpEngine(site).start()
    pbx = rp.Pbx(site, expires=600).start()
    site.add_internet_address(rp.FAREND)
    far = rp.Phone(site, site.internet, rp.FAREND, "300", ctrl_port=4450).start()
    say("Cloud PBX: Kamailio %s (registrar, digest auth, realm %s), media anchored on rtpengine %s; "
        "far-end phone: baresip 300 @ %s" % (v.PBX, rp.REALM, v.PBX_MEDIA, rp.FAREND))

    heading("handset 201 (baresip, 192.168.20.10) registers with the Cloud PBX through voipguard")
    phone = rp.Phone(site, site.handset, v.HANDSET, "201", transport="udp", ctrl_port=4444).start()
    registered = bool(v.wait_until(lambda: pbx.registrations("201"), 40, 0.2))
    far_registered = bool(v.wait_until(lambda: pbx.registrations("300"), 40, 0.2))
    challenges = [e for e in pbx.events("REGISTER-CHALLENGE") if e["user"] == "201"]
    if not registered or not far_registered:
        say("the phones did not register (201: %s, 300: %s); the PBX said:\n%s"
            % (registered, far_registered, pbx.stderr()[-2000:]))
        return False
    say("REGISTER -> 401 digest challenge (%d) -> REGISTER with Authorization -> 200 OK: Kamailio registered 201 "
        "from %s over %s" % (len(challenges), *pbx.registrations("201")[0][1:]))
    say(d.ctl("handsets").stdout.rstrip())

    rx_scan = site.probe_bg(site.handset, "udp-recv", "--bind", v.HANDSET2, "--port", "5060,5061", "--seconds", "8")
    tcp = site.probe_bg(site.handset, "tcp-listen", "--bind", "0.0.0.0", "--port", "22", "--seconds", "8")
    rogue = site.sipp(site.internet, "uas_register.xml", "-i", v.ROGUE, "-p", "5060", "-m", "1", "-timeout", "40",
                      label="rogue")
    injected = AttackerCounter(site)

    heading("a call: handset 201 dials the far-end phone 300 through the PBX (digest-authenticated INVITE)")
    hc, fc = phone.counter(), far.counter()
    before = {"201": hc.read(), "300": fc.read()}
    phone.dial("300")
    answered = all(p.wait_event("CALL_ESTABLISHED", timeout=40) for p in (phone, far))
    if not answered or not d.wait_log("VG_CALL_STARTED", timeout=20):
        say("the call was not answered; voipguard said:\n" + d.stderr()[-2000:])
        return False
    say("answered; both phones send audio (baresip's sine tone, G.711, 50 packets/s) while the attack runs")
    rp.rtp_flows({"201": hc, "300": fc}, before, min_packets=50, timeout=40)  # audio both ways first
    rtp_port = handset_rtp_port(site, phone)

    # The attack, during the call.
    attack = {
        "scan": site.probe_bg(site.internet, "udp-send", "--src", v.ATTACKER, "--sport", "5070", "--dst", v.HANDSET2,
                              "--dport", "5060", "--count", "30", "--pps", "20", "--kind", "sip-options",
                              "--ua", "friendly-scanner"),
        "scan_invite": site.probe_bg(site.internet, "udp-send", "--src", v.ATTACKER, "--sport", "5071",
                                     "--dst", v.HANDSET2, "--dport", "5061", "--count", "20", "--pps", "20",
                                     "--kind", "sip-invite", "--ua", "sipvicious"),
        "inject": site.probe_bg(site.internet, "udp-send", "--src", v.ATTACKER, "--sport", "30000", "--dst",
                                v.HANDSET, "--dport", str(rtp_port), "--count", "100", "--pps", "50", "--kind", "rtp"),
    }
    conns = {
        "attacker": site.probe_bg(site.internet, "tcp-connect", "--src", v.ATTACKER, "--dst", v.HANDSET,
                                  "--port", "22"),
        "support": site.probe_bg(site.internet, "tcp-connect", "--src", v.SUPPORT, "--dst", v.HANDSET,
                                 "--port", "22"),
    }
    hijack = site.sipp(site.handset, "uac_register.xml", v.ROGUE + ":5060", "-i", v.HANDSET2, "-p", "5063",
                       "-m", "1", "-timeout", "4", "-timeout_error", label="hijacked")
    sent = {k: site.result(p, 30)["sent"] for k, p in attack.items()}
    connected = {k: site.result(p, 30)["connected"] for k, p in conns.items()}
    rc_hijack = site.sipp_wait(hijack, 20)
    status_during = d.ctl("status").stdout
    calls_during = d.ctl("calls").stdout
    rp.rtp_flows({"201": hc, "300": fc}, before, min_packets=250, timeout=40)  # 5 s of voice at least
    closed = {p.user: p.count("CALL_CLOSED") for p in (phone, far)}
    phone.command("hangup")
    ended = all(p.wait_event("CALL_CLOSED", since=closed[p.user], timeout=30) for p in (phone, far))
    rp.stopped(hc, "tx", window=0.5)
    rtp = {n: {k: c.read()[k] - before[n][k] for k in ("tx", "rx")} for n, c in (("201", hc), ("300", fc))}
    say("handset sent/received %d/%d RTP packets, far end sent/received %d/%d"
        % (rtp["201"]["tx"], rtp["201"]["rx"], rtp["300"]["tx"], rtp["300"]["rx"]))

    heading("voipguard status (during the call)")
    say(status_during.rstrip())
    heading("voipguard calls (during the call)")
    say(calls_during.rstrip())

    heading("toll fraud: the handset (as if hijacked) dials %s" % FRAUD_NUMBER)
    phone.dial(FRAUD_NUMBER)
    fraud_logged = bool(d.wait_log("VG_TOLL_FRAUD_BLOCKED", timeout=20))
    fraud_answered = bool(phone.wait_event("CALL_ESTABLISHED", count=2, timeout=3))
    phone.command("hangup")
    fraud_at_pbx = FRAUD_NUMBER in pbx.logged_invites()
    say("voipguard dropped the INVITE (VG_TOLL_FRAUD_BLOCKED: %s); the PBX %s; the call %s"
        % ("logged" if fraud_logged else "NOT logged", "got it" if fraud_at_pbx else "never saw it",
           "was answered" if fraud_answered else "went nowhere"))

    scan_got, tcp_got = site.result(rx_scan, 20), site.result(tcp, 20)
    rogue.kill()
    rogue.wait()
    time.sleep(0.3)
    after = d.status()


    media_judged = sum(n for r, n in after["reasons"].items() if r.startswith("media_"))
    media_total = rtp["201"]["tx"] + rtp["300"]["tx"]
    inject_got = injected.read()
    audio_ok = all(rtp[n][k] >= 100 for n in rtp for k in ("tx", "rx"))
    heading("what passed")
    say("  %-58s %s" % ("handset 201 REGISTER with digest auth (401, then 200)",
                        "registered" if registered and challenges else "NOT registered"))
    say("  %-58s %s" % ("call 201 -> 300 (INVITE with auth, ACK, BYE)", "completed" if answered and ended
                        else "FAILED (answered %s, ended %s)" % (answered, ended)))
    say("  %-58s %d sent, %d received" % ("voice at the handset 192.168.20.10", rtp["201"]["tx"], rtp["201"]["rx"]))
    say("  %-58s %d sent, %d received" % ("voice at the far end %s (via rtpengine)" % rp.FAREND,
                                          rtp["300"]["tx"], rtp["300"]["rx"]))
    say("  %-58s %d of %d; the rest took the kernel fast path"
        % ("media packets voipguard itself inspected", media_judged, media_total))
    say("  %-58s %s" % ("support 198.51.100.7 -> handset tcp/22 (listed port)",
                        "connected" if connected["support"] else "NOT connected"))
    heading("what was blocked, and why")
    rows = [
        ("SIP scan from 192.0.2.66 (friendly-scanner, sipvicious)", "%d of %d arrived"
         % (scan_got["received"], sent["scan"] + sent["scan_invite"]), "source on no allow-list: dropped in the kernel"),
        ("media injection 192.0.2.66 -> 192.168.20.10:%d (RTP)" % rtp_port, "%d of %d arrived"
         % (inject_got, sent["inject"]), "not the PBX's media: dropped in the kernel"),
        ("attacker -> handset tcp/22", "connected" if connected["attacker"] or tcp_got["sources"].get(v.ATTACKER)
         else "no connection", "only support may reach tcp/22"),
        ("toll fraud: handset 201 dials %s" % FRAUD_NUMBER, "reached the PBX" if fraud_at_pbx
         else "never reached the PBX", "deny prefix +882"),
        ("hijacked handset .11 REGISTERs with 192.0.2.200", "%d messages arrived" % len(v.sip_messages(rogue.trace)),
         "handsets may send SIP only to the PBX"),
    ]
    for what, result, why in rows:
        say("  %-58s %-22s %s" % (what, result, why))
    heading("kernel and daemon counters")
    say("  kernel: %d inbound packets dropped, %d sampled to the daemon (NFLOG)"
        % (after["kernel"]["inbound_drop_packets"], after["kernel"]["drop_samples"]))
    say("  daemon: %d packets judged, reasons %s" % (after["packets"], json.dumps(after["reasons"], sort_keys=True)))

    if not keep:
        # Stopped now, so the log below ends with the summaries of the
        # aggregated events and VG_SHUTDOWN.
        heading("tear-down")
        rc = d.stop(check=False)
        left = v.kernel_rules(site)
        say("voipguard stopped with SIGTERM (exit %s); voipguard rules, chains and sets left in vg-router: %d"
            " (on_failure: closed leaves them as the barrier; `voipguard uninstall` removes them)"
            % (rc, v.rule_count(left)))
    heading("syslog: what voipguard sent to /dev/log")
    time.sleep(0.2)
    for line in d.syslog():
        i = line.find(">")
        say("  " + (line[i + 1:] if line.startswith("<") and i > 0 else line))

    good = (registered and bool(challenges) and answered and ended and audio_ok and scan_got["received"] == 0
            and inject_got == 0 and not connected["attacker"] and connected["support"] and fraud_logged
            and not fraud_at_pbx and not fraud_answered and rc_hijack != 0 and not v.sip_messages(rogue.trace))
    heading("result")
    say("  the registration, the call and its voice passed; every attack was blocked" if good
        else "  SOMETHING DID NOT GO AS EXPECTED (see above)")
    if keep:
        keep_running(site, d)
    return good


def keep_running(site, d):
    # Kamailio, rtpengine and both baresip phones stay up, for exploration.
    with open(STATE, "w") as f:
        json.dump({"names": NAMES, "daemon_pid": d.proc.pid, "listener_pid": d.listener.pid,
                   "control": d.control, "syslog": d.syslog_file}, f)
    vg = rel(v.voipguard_binary())
    e2e = rel(v.HERE)
    dial = json.dumps({"command": "dial", "params": "sip:300@%s" % v.PBX, "token": "1"})
    hangup = json.dumps({"command": "hangup", "params": "", "token": "2"})
    heading("the demo keeps running")
    say("""  a shell in each namespace:
    ip netns exec vg-handset bash     # the handsets: 192.168.20.10, 192.168.20.11, fd00:20::10
    ip netns exec vg-router bash      # the router: iptables -t mangle -L -v -n; ipset list; conntrack -L
    ip netns exec vg-internet bash    # PBX, PBX media, far-end phone, support, attacker, rogue server
  voipguard:
    {vg} status --socket {ctl}
    {vg} calls --socket {ctl}
    {vg} handsets --socket {ctl}
    tail -f {syslog}
  a call: handset 201 (baresip, ctrl_tcp on 127.0.0.1:4444 in vg-handset) dials the far-end phone 300, then hangs up:
    printf '%s' '{dial_ns}' | ip netns exec vg-handset python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",4444)).sendall(sys.stdin.buffer.read())'
    printf '%s' '{hangup_ns}' | ip netns exec vg-handset python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",4444)).sendall(sys.stdin.buffer.read())'
  the phones' and the PBX's logs: {tmp}/phone-201/baresip.out, {tmp}/phone-300/baresip.out, {tmp}/pbx/kamailio.stderr
""".format(vg=vg, ctl=d.control, syslog=d.syslog_file, dial_ns="%d:%s," % (len(dial), dial),
           hangup_ns="%d:%s," % (len(hangup), hangup), tmp=site.tmp).rstrip("\n"))
    say("""  an attack:
    ip netns exec vg-internet python3 {e2e}/probe.py udp-send --src 192.0.2.66 --dst 192.168.20.10 --dport 5060 --kind sip-options --ua friendly-scanner --count 20
  stop it all:
    tests/demo --stop""".format(vg=vg, ctl=d.control, syslog=d.syslog_file, e2e=e2e))


def main():
    p = argparse.ArgumentParser(description="voipguard live demo")
    p.add_argument("--keep", action="store_true", help="leave the demo running for exploration")
    p.add_argument("--stop", action="store_true", help="tear down a demo left running with --keep")
    a = p.parse_args()
    if os.geteuid() != 0:
        say("the demo needs root (network namespaces, netfilter): run it with sudo")
        return 1
    if a.stop:
        stop_kept()
        return 0
    for tool, package in (("ip", "iproute2"), ("iptables", "iptables"), ("ipset", "ipset"), ("sipp", "sip-tester"),
                          ("unshare", "util-linux"), ("ss", "iproute2"), ("kamailio", "kamailio"),
                          ("rtpengine", "rtpengine-daemon"), ("baresip", "baresip-core")):
        if shutil.which(tool) is None and not (tool == "rtpengine" and rp.RtpEngine.binary()):
            say("%s is not installed: run packaging/install-deps first (it installs %s)" % (tool, package))
            return 1
    try:  # Kamailio's and baresip's modules
        rp.Pbx.require()
        rp.Phone.require()
    except SystemExit:  # the reason was printed (SKIP: ... is not installed)
        say("run packaging/install-deps first")
        return 1
    try:
        return run(a.keep)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
