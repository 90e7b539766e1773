#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 28: Prometheus metrics of a running daemon. With metrics.file
set, the daemon writes the file (atomically, off the packet loop) while a
handset registers and an attacker knocks; `voipguard metrics` answers the
same families over the control socket. promtool (Debian package prometheus)
checks both; the figures match what happened (a registered handset, the
attacker's packets dropped in the kernel) and `status`. A reload that moves
the file removes the old one; at a clean stop the file is removed."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402


def promtool_check(text):
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def samples(text):
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = int(value)
    return out


def main():
    v.require_environment()
    if shutil.which("promtool") is None:
        print("SKIP: promtool not installed (Debian package prometheus, in packaging/install-deps)")
        sys.exit(77)
    c = v.Check("e2e_28_metrics")
    with v.Site() as s:
        c.attach(s)
        prom = os.path.join(s.tmp, "voipguard.prom")
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy(
            append="metrics:\n  file: %s\n  interval: 5s\n" % prom)))
        d.start()

        first = v.wait_until(lambda: os.path.exists(prom), 15)
        c.that(bool(first), "the daemon wrote %s within 15 s of its start" % prom)
        # The line follows the write: the worker writes the file, then the
        # loop logs (and syslog delivers) it, so the file can be there first.
        c.that(bool(v.wait_until(lambda: d.log_lines("VG_METRICS_OK", "file=" + prom), 10)),
               "syslog: VG_METRICS_OK file=%s" % prom)

        pbx = s.sipp(s.internet, "uas_register.xml", "-i", v.PBX, "-p", "5060", "-m", "1", "-timeout", "20",
                     label="pbx")
        v.time.sleep(0.5)
        reg = s.sipp(s.handset, "uac_register.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5061", "-m", "1",
                     "-timeout", "10", "-timeout_error", label="register")
        scan = s.probe_bg(s.internet, "udp-send", "--src", v.ATTACKER, "--sport", "5070", "--dst", v.HANDSET,
                          "--dport", "5060", "--count", "20", "--pps", "50", "--kind", "sip-options",
                          "--ua", "friendly-scanner")
        sent = s.result(scan)["sent"]
        rc_reg = s.sipp_wait(reg, 15)
        s.sipp_wait(pbx, 5)
        c.that(rc_reg == 0, "the handset registered with the PBX (sipp exit %d)" % rc_reg)

        # The next write after the traffic: the file's figures catch up
        # within two intervals.
        def file_shows_traffic():
            try:
                with open(prom) as f:
                    got = samples(f.read())
            except FileNotFoundError:
                return None
            ok = got.get('voipguard_handsets{state="registered"}', 0) >= 1 and \
                got.get('voipguard_kernel_dropped_packets_total{rule="inbound"}', 0) >= sent
            return got if ok else None
        from_file = v.wait_until(file_shows_traffic, 20)
        with open(prom) as f:
            file_text = f.read()
        c.figure("metrics_file_lines", len(file_text.splitlines()))
        rc, out = promtool_check(file_text)
        c.that(rc == 0, "promtool check metrics accepts the file%s" % ("" if rc == 0 else ": " + out))
        c.that(bool(from_file), "the file shows the registered handset and the %d dropped attacker packets" % sent)
        c.that(not os.path.exists(prom + ".tmp"), "no temporary file is left beside it")
        mode = os.stat(prom).st_mode & 0o777
        c.that(mode == 0o644, "the file is readable by the exporter's user (mode %o)" % mode)

        answer = d.ctl("metrics")
        c.that(answer.returncode == 0, "`voipguard metrics` answered")
        s.file("metrics-answer.prom", answer.stdout)   # kept with VG_E2E_KEEP_FILES
        rc, out = promtool_check(answer.stdout)
        c.that(rc == 0, "promtool check metrics accepts the control socket's answer%s" % ("" if rc == 0 else ": " + out))
        live = samples(answer.stdout)
        c.that(set(live) == set(samples(file_text)), "the file and the answer have the same series (%d)" % len(live))
        st = d.status()
        c.figure("status_kernel", st["kernel"])
        c.that(live.get('voipguard_kernel_dropped_packets_total{rule="inbound"}') == st["kernel"]["inbound_drop_packets"]
               or live.get('voipguard_kernel_dropped_packets_total{rule="inbound"}', 0) >= sent,
               "the answer's kernel drops agree with status (%s)" %
               live.get('voipguard_kernel_dropped_packets_total{rule="inbound"}'))
        c.that(live.get("voipguard_packets_total", -1) <= st["packets"] and live.get("voipguard_packets_total", 0) >= 2,
               "the answer's judged packets (%s) are those of status (%d) so far" %
               (live.get("voipguard_packets_total"), st["packets"]))
        c.that(live.get('voipguard_build_info{version="%s"}' % st["version"]) == 1,
               "voipguard_build_info carries the version status reports (%s)" % st["version"])

        js = d.ctl("metrics", "--json", check=False)
        c.that(js.returncode == 2, "`voipguard metrics --json` is a usage error (exit %d)" % js.returncode)

        moved = os.path.join(s.tmp, "moved.prom")
        s.file("policy.yaml", v.demo_policy(append="metrics:\n  file: %s\n  interval: 5s\n" % moved))
        r = d.ctl("reload", check=False)
        done = v.wait_until(lambda: os.path.exists(moved) and not os.path.exists(prom), 15)
        c.that(r.returncode == 0 and bool(done),
               "a reload that moves metrics.file writes the new file and removes the old one")

        rc = d.stop()
        c.that(rc == 0, "the daemon stopped cleanly")
        c.that(not os.path.exists(moved), "the file is removed at a clean stop")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
