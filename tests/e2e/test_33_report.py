#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 33: the site report. An attacker scans the handsets with a
scanner User-Agent and a handset dials a denied prefix (toll fraud, blocked);
`voipguard report --json` shows both (the scanning source on top, the call
blocked by reason, the kernel's drops) and the text form puts them under
"Needs attention". A bad --since is a usage error (exit 2). The report's
counters survive a restart through --state. The OpenWrt rpcd plugin, run as
rpcd runs it under dash and busybox ash, answers from this daemon."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBES = 30


def report(d, *args):
    r = d.ctl("report", "--json", *args)
    return json.loads(r.stdout)


def main():
    v.require_environment()
    c = v.Check("e2e_33_report")
    with v.Site() as s:
        c.attach(s)
        policy = s.file("policy.yaml", v.demo_policy())
        state = s.file("state", "")
        os.unlink(state)
        extra = ("--log-stderr", "--state", state, "--state-interval", "5")
        d = v.Daemon(s, policy, extra=extra, label="daemon-1")
        d.start()
        c.figure("backend", d.status()["backend"])

        # The scan: SIP OPTIONS with a scanner User-Agent, dropped in the kernel
        # (sampled to the daemon, which names the scanner).
        scan = s.probe_bg(s.internet, "udp-send", "--src", v.ATTACKER, "--sport", "5070", "--dst", v.HANDSET,
                          "--dport", "5060", "--count", str(PROBES), "--pps", "20", "--kind", "sip-options",
                          "--ua", "friendly-scanner")
        sent = s.result(scan)["sent"]
        c.figure("scan_probes_sent", sent)

        # The toll fraud: an INVITE to +882 (dialled 00882...), never answered.
        fraud = s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5061", "-mi",
                       v.HANDSET, "-s", "0088213000001", "-d", "500", "-m", "1", "-timeout", "4",
                       "-timeout_error", label="toll-fraud")
        rc = s.sipp_wait(fraud, 20)
        c.figure("toll_fraud_call_rc", rc)
        c.that(rc != 0, "the call to 0088213000001 was not answered")
        v.wait_until(lambda: d.log_lines("VG_SCANNER_DETECTED", "src=" + v.ATTACKER), 8)

        rep = report(d, "--since", "1h")
        c.figure("report_json", rep)
        c.that(rep["since_s"] == 3600, "report --since 1h covers 3600 s (%s)" % rep["since_s"])
        top = rep["scanning"]["top"]
        c.that(rep["scanning"]["detections"] >= 1 and top and top[0]["source"] == v.ATTACKER,
               "the report names the scanning source %s on top (%s)" % (v.ATTACKER, top))
        c.that(rep["calls"]["toll_fraud"] == 1 and rep["calls"]["blocked"] == 1,
               "the report counts one blocked toll-fraud call (%s)" % rep["calls"])
        c.that(rep["calls"]["blocked_requests"] >= 1,
               "and its INVITEs, retransmissions included (%d)" % rep["calls"]["blocked_requests"])
        reasons = [r["reason"] for r in rep["calls"]["blocked_by_reason"]]
        c.that("deny_prefix:+882" in reasons, "blocked by reason: deny_prefix:+882 (%s)"
               % reasons)
        c.that(rep["kernel"]["counters_read"] and rep["kernel"]["inbound_drop_packets"] >= sent,
               "the kernel's inbound drops of the scan are counted (%d >= %d)"
               % (rep["kernel"]["inbound_drop_packets"], sent))
        kinds = [a["kind"] for a in rep["attention"]]
        c.that("blocked_calls" in kinds and "scanning" in kinds, "needs attention: blocked_calls, scanning (%s)"
               % kinds)
        c.that(rep["uptime_s"] >= 0 and rep["site"], "uptime and site are there")

        text = d.ctl("report").stdout
        c.figure("report_text", text)
        c.that(text.find("Needs attention:") >= 0 and text.find("Needs attention:") < text.find("\ncalls "),
               "the text report starts with what needs attention")
        c.that(v.ATTACKER in text and "deny_prefix:+882" in text,
               "the text report names the scanner and the blocked call")

        bad = d.ctl("report", "--since", "2w", check=False)
        c.figure("bad_since", [bad.returncode, bad.stderr.strip()])
        c.that(bad.returncode == 2 and "--since" in bad.stderr, "report --since 2w is a usage error (exit 2)")

        # The rpcd plugin against this daemon, under dash and busybox ash.
        plugin = subprocess.run([sys.executable, os.path.join(SRC, "tests/packaging/openwrt_rpcd_test.py"), SRC,
                                 v.voipguard_binary(), d.control], capture_output=True, text=True, timeout=300)
        c.figure("rpcd_plugin", (plugin.stdout + plugin.stderr).strip().splitlines()[-12:])
        c.that(plugin.returncode in (0, 77), "the rpcd plugin answers the daemon's JSON (exit %d)"
               % plugin.returncode)

        # A restart with the state file keeps the report's counters.
        c.that(d.stop() == 0, "the first daemon stopped cleanly")
        d2 = v.Daemon(s, policy, extra=extra, label="daemon-2")
        d2.start()
        restored = d2.log_lines("VG_STATE_RESTORED")
        c.figure("restored", restored)
        c.that(any("history_hours=" in l and "history_hours=0 " not in l for l in restored),
               "the second daemon restored the report's hours")
        after = report(d2, "--since", "1h")
        c.figure("report_after_restart", {"calls": after["calls"], "scanning": after["scanning"]})
        c.that(after["calls"]["toll_fraud"] == 1 and after["scanning"]["top"]
               and after["scanning"]["top"][0]["source"] == v.ATTACKER,
               "after the restart the report still shows the toll fraud and the scanner")
        c.that(d2.stop() == 0, "the second daemon stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
