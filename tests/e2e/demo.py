#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The live demo (tests/demo): a customer site in network namespaces, voipguard
on its router with config/examples/demo.yaml, a real call and an attack, and a
short report of what passed, what was blocked and why.

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
  handset 192.168.20.10, .11  ----  192.168.20.1 | 100.64.0.1  ----  Cloud PBX    203.0.113.10 (SIP)
          fd00:20::10                                                 PBX media    203.0.113.70
                                                                      support      198.51.100.7
                                                                      attacker     192.0.2.66
                                                                      rogue SIP    192.0.2.200"""


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

    # Peers on the internet side.
    pbx = site.sipp(site.internet, "uas_pbx.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA, "-m", "1",
                    "-timeout", "40", label="pbx")
    rogue = site.sipp(site.internet, "uas_register.xml", "-i", v.ROGUE, "-p", "5060", "-m", "1", "-timeout", "40",
                      label="rogue")
    rx_scan = site.probe_bg(site.handset, "udp-recv", "--bind", v.HANDSET2, "--port", "5060,5061", "--seconds", "6")
    tcp = site.probe_bg(site.handset, "tcp-listen", "--bind", "0.0.0.0", "--port", "22", "--seconds", "6")
    time.sleep(0.5)

    heading("a call: handset 201 (192.168.20.10) registers and calls %s" % NUMBER)
    call = site.sipp(site.handset, "uac_call.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5060",
                     "-mi", v.HANDSET, "-s", NUMBER, "-d", "7000", "-m", "1", "-timeout", "30", "-timeout_error",
                     label="call")
    if not d.wait_log("VG_CALL_STARTED", timeout=10):
        say("the call was not answered; voipguard said:\n" + d.stderr()[-2000:])
        return False
    say("answered; voice flows both ways (RTP, 50 packets/s) while the attack runs")
    before = d.status()
    at_pbx, at_handset = v.start_rtp(site, count=200, pps=50, handset_delay=0.2, pbx_delay=0.4)
    time.sleep(0.6)

    # The attack, during the call.
    attack = {
        "scan": site.probe_bg(site.internet, "udp-send", "--src", v.ATTACKER, "--sport", "5070", "--dst", v.HANDSET2,
                              "--dport", "5060", "--count", "30", "--pps", "20", "--kind", "sip-options",
                              "--ua", "friendly-scanner"),
        "scan_invite": site.probe_bg(site.internet, "udp-send", "--src", v.ATTACKER, "--sport", "5071",
                                     "--dst", v.HANDSET2, "--dport", "5061", "--count", "20", "--pps", "20",
                                     "--kind", "sip-invite", "--ua", "sipvicious"),
        "inject": site.probe_bg(site.internet, "udp-send", "--src", v.ATTACKER, "--sport", "30000", "--dst",
                                v.HANDSET, "--dport", "41000", "--count", "100", "--pps", "50", "--kind", "rtp"),
    }
    conns = {
        "attacker": site.probe_bg(site.internet, "tcp-connect", "--src", v.ATTACKER, "--dst", v.HANDSET,
                                  "--port", "22"),
        "support": site.probe_bg(site.internet, "tcp-connect", "--src", v.SUPPORT, "--dst", v.HANDSET,
                                 "--port", "22"),
    }
    fraud = site.sipp(site.handset, "uac_invite.xml", v.PBX + ":5060", "-i", v.HANDSET2, "-p", "5062",
                      "-mi", v.HANDSET2, "-s", FRAUD_NUMBER, "-d", "500", "-m", "1", "-timeout", "4",
                      "-timeout_error", label="fraud")
    hijack = site.sipp(site.handset, "uac_register.xml", v.ROGUE + ":5060", "-i", v.HANDSET2, "-p", "5063",
                       "-m", "1", "-timeout", "4", "-timeout_error", label="hijacked")
    time.sleep(1.0)
    status_during = d.ctl("status").stdout
    calls_during = d.ctl("calls").stdout

    sent = {k: site.result(p)["sent"] for k, p in attack.items()}
    connected = {k: site.result(p)["connected"] for k, p in conns.items()}
    rp, rh = site.result(at_pbx), site.result(at_handset)
    scan_got, tcp_got = site.result(rx_scan, 15), site.result(tcp, 15)
    rc_fraud, rc_hijack = site.sipp_wait(fraud, 15), site.sipp_wait(hijack, 15)
    rc_call, rc_pbx = site.sipp_wait(call, 30), site.sipp_wait(pbx, 30)
    rogue.kill()
    rogue.wait()
    time.sleep(0.3)
    after = d.status()

    heading("voipguard status (during the call)")
    say(status_during.rstrip())
    heading("voipguard calls (during the call)")
    say(calls_during.rstrip())

    media_to_handset = rh["sources"].get(v.PBX_MEDIA, 0)
    media_judged = sum(n for r, n in after["reasons"].items() if r.startswith("media_"))
    at_pbx_invites = [u for u in v.requests(pbx.trace, "INVITE")]
    heading("what passed")
    say("  %-58s %s" % ("call 201 -> %s (REGISTER, INVITE, ACK, BYE)" % NUMBER,
                        "completed" if rc_call == 0 and rc_pbx == 0 else "FAILED (sipp exit %d/%d)" % (rc_call, rc_pbx)))
    say("  %-58s %d of %d packets" % ("voice PBX media 203.0.113.70 -> handset", media_to_handset, rp["sent"]))
    say("  %-58s %d of %d packets" % ("voice handset -> PBX media", rp["received"], rh["sent"]))
    say("  %-58s %d of %d; the rest took the kernel fast path"
        % ("media packets voipguard itself inspected", media_judged, media_to_handset + rp["received"]))
    say("  %-58s %s" % ("support 198.51.100.7 -> handset tcp/22 (listed port)",
                        "connected" if connected["support"] else "NOT connected"))
    heading("what was blocked, and why")
    rows = [
        ("SIP scan from 192.0.2.66 (friendly-scanner, sipvicious)", "%d of %d arrived"
         % (scan_got["received"], sent["scan"] + sent["scan_invite"]), "source on no allow-list: dropped in the kernel"),
        ("media injection 192.0.2.66 -> 192.168.20.10:41000", "%d of %d arrived"
         % (rh["sources"].get(v.ATTACKER, 0), sent["inject"]), "not the PBX's media: dropped in the kernel"),
        ("attacker -> handset tcp/22", "connected" if connected["attacker"] or tcp_got["sources"].get(v.ATTACKER)
         else "no connection", "only support may reach tcp/22"),
        ("toll fraud: handset .11 calls %s" % FRAUD_NUMBER, "reached the PBX" if any(FRAUD_NUMBER in u for u in
                                                                                    at_pbx_invites)
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

    good = (rc_call == 0 and rc_pbx == 0 and media_to_handset >= rp["sent"] * 0.95 and scan_got["received"] == 0
            and rh["sources"].get(v.ATTACKER, 0) == 0 and not connected["attacker"] and connected["support"]
            and rc_fraud != 0 and rc_hijack != 0 and not v.sip_messages(rogue.trace))
    heading("result")
    say("  the call and its voice passed; every attack was blocked" if good
        else "  SOMETHING DID NOT GO AS EXPECTED (see above)")
    if keep:
        keep_running(site, d)
    return good


def keep_running(site, d):
    # A PBX that answers any number of calls, for exploration.
    pbx = site.sipp(site.internet, "uas_pbx.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA, label="pbx-kept")
    with open(STATE, "w") as f:
        json.dump({"names": NAMES, "daemon_pid": d.proc.pid, "listener_pid": d.listener.pid, "pbx_pid": pbx.pid,
                   "control": d.control, "syslog": d.syslog_file}, f)
    vg = rel(v.voipguard_binary())
    e2e = rel(v.HERE)
    heading("the demo keeps running")
    say("""  a shell in each namespace:
    ip netns exec vg-handset bash     # the handsets: 192.168.20.10, 192.168.20.11, fd00:20::10
    ip netns exec vg-router bash      # the router: iptables -t mangle -L -v -n; ipset list; conntrack -L
    ip netns exec vg-internet bash    # PBX, PBX media, support, attacker, rogue server
  voipguard:
    {vg} status --socket {ctl}
    {vg} calls --socket {ctl}
    {vg} handsets --socket {ctl}
    tail -f {syslog}
  a call (the PBX answers):
    ip netns exec vg-handset sipp 203.0.113.10:5060 -sf {e2e}/sipp/uac_call.xml -i 192.168.20.10 -mi 192.168.20.10 -s 02079460000 -d 20000 -m 1
  an attack:
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
    for tool in ("ip", "iptables", "ipset", "sipp", "unshare"):
        if shutil.which(tool) is None:
            say("%s is not installed: run packaging/install-deps first" % tool)
            return 1
    try:
        return run(a.keep)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
