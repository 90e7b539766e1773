#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 31: alerts. A running daemon runs alerts.command for a scanner
(VG_SCANNER_DETECTED) and a failed reload (VG_RELOAD_FAILED): the program
gets the event as one JSON object on standard input; a scan of 40 packets
gives one alert (burst 1), the rest is counted in VG_ALERT_DROPPED. After a
reload to a program that exits 3, the next scanner alert is logged as
VG_ALERT_FAILED."""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402


def alerts_policy(command):
    return v.demo_policy(append="alerts:\n  command: [%s]\n  events: [VG_SCANNER_DETECTED, VG_RELOAD_FAILED]\n"
                                "  rate: 1/h burst 1\n  timeout: 10s\n" % command)


def scan(s, sport):
    p = s.probe_bg(s.internet, "udp-send", "--src", v.ATTACKER, "--sport", str(sport), "--dst", v.HANDSET,
                   "--dport", "5060", "--count", "40", "--pps", "100", "--kind", "sip-options",
                   "--ua", "friendly-scanner")
    return s.result(p)["sent"]


def main():
    v.require_environment()
    c = v.Check("e2e_31_alerts")
    with v.Site() as s:
        c.attach(s)
        out = os.path.join(s.tmp, "alerts")
        os.mkdir(out)
        os.chmod(out, 0o777)
        ok = s.file("alert-ok", "#!/bin/sh\ncat > '%s/'\"$VOIPGUARD_EVENT.$$.json\"\n" % out)
        bad = s.file("alert-bad", "#!/bin/sh\ncat >/dev/null\nexit 3\n")
        for p in (ok, bad):
            os.chmod(p, 0o755)
        d = v.Daemon(s, s.file("policy.yaml", alerts_policy(ok)))
        d.start()

        sent = scan(s, 5070)
        got = v.wait_until(lambda: glob.glob(out + "/VG_SCANNER_DETECTED.*.json"), 20)
        c.that(bool(got), "the alert program ran for VG_SCANNER_DETECTED (%d scanner packets)" % sent)
        if got:
            with open(got[0]) as f:
                text = f.read()
            c.figure("alert_json", text.strip())
            try:
                obj = json.loads(text)
            except ValueError:
                obj = {}
            c.that(obj.get("event") == "VG_SCANNER_DETECTED" and obj.get("site") and obj.get("time"),
                   "stdin held one JSON object with event, site and time: %s" % text.strip()[:300])
        v.time.sleep(2)
        c.that(len(glob.glob(out + "/VG_SCANNER_DETECTED.*.json")) == 1, "burst 1: one alert for the whole scan")
        dropped = v.wait_until(lambda: d.log_lines("VG_ALERT_DROPPED", "rate_limited="), 10)
        c.that(bool(dropped), "the scanner events over the rate were logged as VG_ALERT_DROPPED")

        with open(d.policy, "w") as f:
            f.write(alerts_policy(ok) + "toll_fraud_typo: [\n")
        d.ctl("reload", check=False)
        got = v.wait_until(lambda: glob.glob(out + "/VG_RELOAD_FAILED.*.json"), 20)
        c.that(bool(got), "the alert program ran for VG_RELOAD_FAILED")

        with open(d.policy, "w") as f:
            f.write(alerts_policy(bad))
        r = d.ctl("reload", check=False)
        c.that(r.returncode == 0, "reload to the failing program: %s" % (r.stdout + r.stderr).strip())
        scan(s, 5071)
        failed = v.wait_until(lambda: d.log_lines("VG_ALERT_FAILED", "event=VG_SCANNER_DETECTED",
                                                  'result="exit 3"'), 20)
        c.that(bool(failed), "the program's exit 3 was logged as VG_ALERT_FAILED")
        c.figure("alert_failed_line", failed[0] if failed else None)
        st = d.status()
        c.that(bool(st), "the daemon still answers status")
        # The counters survive the reloads that replaced the program: two
        # programs ran for the first one (scanner, reload failed), one for
        # the failing one, and the scans' other events were rate-limited.
        al = v.wait_until(lambda: (lambda a: a if a.get("failed", 0) >= 1 else None)(
            (d.status() or {}).get("alerts", {})), 10) or {}
        c.figure("status_alerts", al)
        c.that(al.get("started", 0) >= 3 and al.get("failed", 0) >= 1 and al.get("rate_limited", 0) >= 1,
               "status counts the alerts across the reloads: %s" % al)
        d.stop()
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
