#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 19: `on_failure: closed` holds while voipguard does not run
(README "While voipguard is not running"). In every window below, voice
traffic for a handset (SIP from the PBX, RTP from the PBX's media address)
is sent and counted: with `closed` it is dropped whenever no daemon runs,
with `open` it passes, and it passes again (SIP) once a daemon runs.

Windows: running; stopped (SIGTERM leaves the barrier); restarted (the
barrier is replaced, not duplicated); upgrade (stop, then a start of a new
binary: a copy); failed start with a PBX host name that does not resolve,
over the barrier and over a clean kernel (the barrier is built from what the
policy says); the same with `open` (everything removed); reload from `open`
to `closed`, then a stop; `voipguard uninstall` (refused while a daemon
runs; afterwards nothing of voipguard's is left)."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

UNRESOLVABLE = "pbx.voipguard-test.invalid"
LOG = "logging:\n  aggregate_window: 2s\n"


def window(s, tag):
    """What reaches the second handset in ~2.5 s: SIP (OPTIONS) from the
    PBX and RTP from the PBX's media address to a port without a call."""
    rx = s.probe_bg(s.handset, "udp-recv", "--bind", v.HANDSET2, "--port", "5060,41000", "--seconds", "2.5")
    v.time.sleep(0.4)
    sip = s.probe_bg(s.internet, "udp-send", "--src", v.PBX, "--sport", "5070", "--dst", v.HANDSET2, "--dport", "5060",
                     "--count", "8", "--pps", "10", "--kind", "sip-options", "--ua", "demo-pbx")
    rtp = s.probe_bg(s.internet, "udp-send", "--src", v.PBX_MEDIA, "--sport", "15000", "--dst", v.HANDSET2,
                     "--dport", "41000", "--count", "8", "--pps", "10", "--kind", "rtp")
    sent_sip, sent_rtp = s.result(sip)["sent"], s.result(rtp)["sent"]
    got = s.result(rx, 10)["sources"]
    return {"sip": [got.get(v.PBX, 0), sent_sip], "rtp": [got.get(v.PBX_MEDIA, 0), sent_rtp], "tag": tag}


def normalized(rules):
    """kernel_rules() with the generation of the iptables chains (a
    reload writes NAME-fwd-2 ... where NAME-fwd ... was) left out."""
    return {k: v.without_generation(lines) for k, lines in rules.items()}


def resolver_file(s):
    """/etc/netns/ROUTER/resolv.conf: a name server on the router's own
    loopback, where nothing answers: a host name fails at once (no waiting
    for a server that does not exist)."""
    path = os.path.join("/etc/netns", s.router)
    os.makedirs(path, exist_ok=True)
    s.etc_dirs.append(path)
    with open(os.path.join(path, "resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")


def failed_start(s, policy, label):
    """`voipguard run` with POLICY in the router (it must not start):
    (exit code, its output)."""
    args = [v.voipguard_binary(), "run", "--policy", policy, "--control", os.path.join(s.tmp, label + ".sock"),
            "--log-stderr"]
    backend = os.environ.get("VG_E2E_BACKEND", "")
    if backend:
        args += ["--backend", backend]
    r = s.run(s.router, *args, check=False, timeout=60)
    out = (r.stdout + r.stderr).strip()
    if backend and "no usable rule backend" in out:
        v.skip("the %s backend is not usable on this kernel: %s" % (backend, out))
    return r.returncode, out


def expect(c, w, sip_passes, rtp_passes, what):
    c.figure(w["tag"], {"sip": w["sip"], "rtp": w["rtp"]})
    for key, passes in (("sip", sip_passes), ("rtp", rtp_passes)):
        got, sent = w[key]
        if passes is None:
            continue
        ok = got == sent and sent > 0 if passes else got == 0 and sent > 0
        c.that(ok, "%s: %s from the PBX %s (%d of %d arrived)"
               % (what, "SIP" if key == "sip" else "RTP", "passes" if passes else "is dropped", got, sent))


def main():
    v.require_environment()
    c = v.Check("e2e_19_failure_closed")
    with v.Site() as s:
        c.attach(s)
        resolver_file(s)
        closed = s.file("closed.yaml", v.demo_policy(append=LOG))
        open_ = s.file("open.yaml", v.demo_policy(replace=[("on_failure: closed", "on_failure: open")], append=LOG))
        unresolved = [("addresses: [203.0.113.10]", "addresses: [%s]" % UNRESOLVABLE)]
        closed_dns = s.file("closed-dns.yaml", v.demo_policy(replace=unresolved, append=LOG))
        open_dns = s.file("open-dns.yaml", v.demo_policy(replace=unresolved + [("on_failure: closed",
                                                                                "on_failure: open")], append=LOG))
        d = v.Daemon(s, closed, label="closed")

        # Running: SIP from the PBX passes (RTP without a call: the engine drops it).
        d.start()
        running = v.kernel_rules(s)
        c.figure("rule_lines_running", v.rule_count(running))
        expect(c, window(s, "running"), True, False, "closed, running")

        # Stopped: the barrier stays.
        rc = d.stop()
        barrier = v.kernel_rules(s)
        c.that(rc == 0, "closed: SIGTERM stops voipguard (exit %d)" % rc)
        c.that(normalized(barrier) == normalized(running),
               "closed, stopped: the barrier is voipguard's rules as they ran (%d lines)" % v.rule_count(barrier))
        c.that(bool(d.log_lines("VG_BARRIER", "action=installed")) and bool(d.log_lines("VG_SHUTDOWN", "barrier")),
               "closed, stopped: syslog VG_BARRIER action=installed and VG_SHUTDOWN naming the barrier")
        expect(c, window(s, "stopped"), False, False, "closed, stopped")

        # Restarted: the barrier is replaced by the full rules, not duplicated.
        d.start()
        restarted = v.kernel_rules(s)
        c.that(normalized(restarted) == normalized(running),
               "closed, restarted: the rules replace the barrier without duplicates (%d lines)"
               % v.rule_count(restarted))
        expect(c, window(s, "restarted"), True, False, "closed, restarted")

        # Upgrade: the old binary stops, a new one (a copy) starts.
        d.stop()
        new_binary = os.path.join(s.tmp, "voipguard-new")
        shutil.copy2(v.voipguard_binary(), new_binary)
        expect(c, window(s, "upgrade-between"), False, False, "closed, upgrade, between the binaries")
        old_env = os.environ["VOIPGUARD"] if "VOIPGUARD" in os.environ else None
        os.environ["VOIPGUARD"] = new_binary
        try:
            d.start()
            upgraded = d.status()
            expect(c, window(s, "upgraded"), True, False, "closed, upgraded")
            c.that(upgraded["on_failure"] == "closed", "closed, upgraded: the new binary runs the policy")
            d.stop()
        finally:
            if old_env is None:
                del os.environ["VOIPGUARD"]
            else:
                os.environ["VOIPGUARD"] = old_env

        # Failed start over the barrier: the host name does not resolve.
        rc, out = failed_start(s, closed_dns, "dns-over-barrier")
        c.figure("failed_start_over_barrier", out[-300:])
        c.that(rc == 1 and UNRESOLVABLE in out and "barrier" in out,
               "closed, failed start (DNS): exit 1, the message names the host and the barrier (%d)" % rc)
        c.that(v.rule_count(v.kernel_rules(s)) > 0, "closed, failed start (DNS): the barrier is in place")
        c.that(any("VG_START_FAILED" in l and "host names do not resolve yet" in l and UNRESOLVABLE in l
                   and "barrier" in l for l in out.splitlines()),
               "closed, failed start (DNS): the log says VG_START_FAILED with the host and the barrier")
        expect(c, window(s, "failed-start-barrier"), False, False, "closed, failed start over the barrier")

        # uninstall: refused while a daemon runs, then everything goes.
        d.start()
        r = v.sh(v.voipguard_binary(), "uninstall", "--socket", d.control, check=False)
        c.that(r.returncode == 1 and "stop it first" in r.stderr and v.rule_count(v.kernel_rules(s)) > 0,
               "uninstall while voipguard runs: refused (exit %d), the rules stay" % r.returncode)
        d.stop()
        r = s.run(s.router, v.voipguard_binary(), "uninstall", "--socket", d.control, check=False)
        left = v.kernel_rules(s)
        c.figure("left_after_uninstall", left)
        c.that(r.returncode == 0 and v.rule_count(left) == 0,
               "uninstall: exit %d, no voipguard rule, chain, table or set left (%d lines)"
               % (r.returncode, v.rule_count(left)))
        expect(c, window(s, "uninstalled"), True, True, "uninstalled")

        # Failed start over a clean kernel: the barrier is built from what
        # the policy says (handset networks, support; no PBX address).
        rc, out = failed_start(s, closed_dns, "dns-clean")
        built = v.kernel_rules(s)
        c.figure("failed_start_clean", {"exit": rc, "rule_lines": v.rule_count(built)})
        c.that(rc == 1 and v.rule_count(built) > 0,
               "closed, failed start (DNS) on a clean kernel: exit %d, a barrier of %d lines installed"
               % (rc, v.rule_count(built)))
        expect(c, window(s, "failed-start-clean"), False, False, "closed, failed start on a clean kernel")

        # The same policy with on_failure open: the failed start removes the barrier.
        rc, out = failed_start(s, open_dns, "dns-open")
        c.that(rc == 1 and v.rule_count(v.kernel_rules(s)) == 0,
               "open, failed start (DNS): exit %d, every rule removed" % rc)
        c.that(any("VG_START_FAILED" in l and UNRESOLVABLE in l for l in out.splitlines()),
               "open, failed start (DNS): the log says VG_START_FAILED")
        expect(c, window(s, "failed-start-open"), True, True, "open, failed start")

        # open: running, then stopped: nothing stays, voice passes.
        o = v.Daemon(s, open_, label="open")
        o.start()
        expect(c, window(s, "open-running"), True, False, "open, running")
        o.stop()
        c.that(v.rule_count(v.kernel_rules(s)) == 0, "open, stopped: no rule left")
        expect(c, window(s, "open-stopped"), True, True, "open, stopped")

        # Reload from open to closed, then a stop: the barrier stays.
        switch = s.file("switch.yaml", v.demo_policy(replace=[("on_failure: closed", "on_failure: open")],
                                                     append=LOG))
        sw = v.Daemon(s, switch, label="switch")
        sw.start()
        with open(switch, "w") as f:
            f.write(v.demo_policy(append=LOG))
        r = sw.ctl("reload", check=False)
        st = sw.status()
        c.that(r.returncode == 0 and st["on_failure"] == "closed",
               "reload from open to closed: accepted (exit %d), on_failure %s" % (r.returncode, st["on_failure"]))
        expect(c, window(s, "reloaded-closed"), True, False, "reloaded to closed, running")
        sw.stop()
        c.that(v.rule_count(v.kernel_rules(s)) > 0, "reloaded to closed, stopped: the barrier stays")
        expect(c, window(s, "reloaded-closed-stopped"), False, False, "reloaded to closed, stopped")
        s.run(s.router, v.voipguard_binary(), "uninstall", "--quiet", check=False)
        c.that(v.rule_count(v.kernel_rules(s)) == 0, "uninstall --quiet: nothing left")
    c.finish()


if __name__ == "__main__":
    main()
