#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 10: `on_failure: closed` and `open`. For each: a call is up with
media on the kernel fast path; the daemon is killed with SIGKILL (its rules
stay in the kernel) and we measure what passes: new SIP from the PBX, a
toll-fraud call from a handset, new media without a pinhole, the attacker,
the running call's media. Then a restart: the rules are replaced, not
duplicated, and protection is back. Finally SIGTERM: with `open` it leaves
no rule, chain or set behind (iptables-save, ip6tables-save, ipset, nft);
with `closed` the rules stay as the barrier (scenario 19 tests its windows)
until `voipguard uninstall` removes them."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

PPS = 50


def probes(s, tag):
    """What passes now: PBX SIP to a handset, a call to +882, new media
    without a pinhole, the attacker. Runs ~3 s."""
    rx = s.probe_bg(s.handset, "udp-recv", "--bind", v.HANDSET2, "--port", "5060,41000", "--seconds", "3")
    v.time.sleep(0.4)
    fraud = s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", v.HANDSET2, "-p", "5061", "-mi", v.HANDSET2,
                   "-s", "0088213000001", "-d", "200", "-m", "1", "-timeout", "2.3", "-timeout_error",
                   label="fraud-" + tag)
    sends = {
        "pbx_sip": s.probe_bg(s.internet, "udp-send", "--src", v.PBX, "--sport", "5070", "--dst", v.HANDSET2,
                              "--dport", "5060", "--count", "10", "--pps", "10", "--kind", "sip-options",
                              "--ua", "demo-pbx"),
        "new_media": s.probe_bg(s.internet, "udp-send", "--src", v.PBX_MEDIA, "--sport", "15000", "--dst",
                                v.HANDSET2, "--dport", "41000", "--count", "10", "--pps", "10", "--kind", "rtp"),
        "attacker": s.probe_bg(s.internet, "udp-send", "--src", v.ATTACKER, "--sport", "5099", "--dst", v.HANDSET2,
                               "--dport", "5060", "--count", "10", "--pps", "10", "--kind", "sip-options",
                               "--ua", "friendly-scanner"),
    }
    sent = {k: s.result(p)["sent"] for k, p in sends.items()}
    got = s.result(rx, 10)
    rc = s.sipp_wait(fraud, 10)
    return {
        "pbx_sip": [got["sources"].get(v.PBX, 0), sent["pbx_sip"]],
        "new_media_without_pinhole": [got["sources"].get(v.PBX_MEDIA, 0), sent["new_media"]],
        "attacker": [got["sources"].get(v.ATTACKER, 0), sent["attacker"]],
        "call_to_+882_answered": rc == 0,
    }


def one_mode(mode, c):
    with v.Site() as s:
        c.attach(s)
        policy = v.demo_policy(replace=[("on_failure: closed", "on_failure: " + mode)],
                               append="logging:\n  aggregate_window: 2s\n")
        d = v.Daemon(s, s.file("policy.yaml", policy), label=mode)
        d.start()
        st = d.status()
        c.figure("backend", st["backend"])
        c.that(st["on_failure"] == mode, "%s: the daemon runs with on_failure %s" % (mode, st["on_failure"]))
        pbx = s.sipp(s.internet, "uas_answer.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA,
                     "-timeout", "40", label="pbx-" + mode)
        v.time.sleep(0.5)
        call = s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5060", "-mi", v.HANDSET,
                      "-s", "02079460000", "-d", "11000", "-m", "1", "-timeout", "30", "-timeout_error",
                      label="call-" + mode)
        c.that(bool(d.wait_log("VG_CALL_STARTED", timeout=8)), "%s: a call is up" % mode)
        at_pbx, at_handset = v.start_rtp(s, count=14 * PPS, pps=PPS, pbx_delay=0.2, handset_delay=0.6,
                                         arrivals=True)
        v.time.sleep(1.5)
        rules_running = v.kernel_rules(s)

        d.kill9()
        t_kill = v.time.time()
        outage = probes(s, mode + "-outage")
        t_restart = v.time.time()
        c.figure(mode + "_while_killed", outage)
        rules_dead = v.kernel_rules(s)
        c.that(rules_dead == rules_running, "%s: after SIGKILL the kernel rules are still in place" % mode)

        d.start()
        rules_restarted = v.kernel_rules(s)
        c.figure(mode + "_rule_lines", {k: len(x) for k, x in rules_restarted.items()})
        fwd_jumps = [l for l in rules_restarted["iptables-save"] if l.startswith("-A FORWARD")]
        same = [v.without_generation(rules_restarted[k]) == v.without_generation(rules_running[k])
                for k in ("iptables-save", "ip6tables-save", "nft")]
        c.that(all(same) and rules_restarted["ipset"] == rules_running["ipset"],
               "%s: the restart replaced the rules without duplicating them (%d lines before and after)"
               % (mode, v.rule_count(rules_restarted)))
        if rules_restarted["iptables-save"]:
            # One jump per table: mangle FORWARD -> voipguard-fwd, filter
            # FORWARD -> voipguard-rst (the TCP reset rule).
            c.that(v.without_generation(l.split()[-1] for l in fwd_jumps) == ["voipguard-fwd", "voipguard-rst"],
                   "%s: one FORWARD jump into each of voipguard's chains (%s)" % (mode, fwd_jumps))
        after = probes(s, mode + "-restarted")
        c.figure(mode + "_after_restart", after)

        rp, rh = s.result(at_pbx, 30), s.result(at_handset, 30)
        rc_call = s.sipp_wait(call, 30)
        pbx.kill()
        arrivals = rh["arrivals"]
        in_outage = [t for t in arrivals if t_kill + 0.2 < t < t_restart]
        c.figure(mode + "_running_call_media_during_outage", [len(in_outage), int((t_restart - t_kill - 0.2) * PPS)])
        c.figure(mode + "_running_call_completed", rc_call == 0)
        # Informational: the call began before the restart, its media's
        # fast-path mark was set by the killed process. After its BYE:
        byes = [t for t, line in v.sip_trace(call.trace, "sent") if line.startswith("BYE ")]
        if byes:
            c.figure(mode + "_old_call_media_more_than_1s_after_bye",
                     [len([t for t in arrivals if t > byes[0] + 1]), int((rp["last_sent"] - byes[0] - 1) * PPS)])

        # What passes while the daemon is dead depends on the mode.
        if mode == "closed":
            c.that(outage["pbx_sip"][0] == 0, "closed, killed: PBX SIP is dropped (%d of %d passed)"
                   % tuple(outage["pbx_sip"]))
            c.that(not outage["call_to_+882_answered"], "closed, killed: the call to +882 is not answered")
            c.that(outage["new_media_without_pinhole"][0] == 0, "closed, killed: new media is dropped")
        else:
            c.that(outage["pbx_sip"][0] == outage["pbx_sip"][1], "open, killed: PBX SIP passes (%d of %d)"
                   % tuple(outage["pbx_sip"]))
            c.that(outage["call_to_+882_answered"], "open, killed: voice traffic passes unchecked "
                   "(the call to +882 was answered)")
            c.that(outage["new_media_without_pinhole"][0] == outage["new_media_without_pinhole"][1],
                   "open, killed: media without a pinhole passes (%d of %d)" % tuple(outage["new_media_without_pinhole"]))
        c.that(outage["attacker"][0] == 0, "%s, killed: the attacker is still dropped by the kernel rules" % mode)
        c.that(len(in_outage) >= (t_restart - t_kill - 0.2) * PPS * 0.95,
               "%s, killed: the running call's media continues on the kernel fast path (%d packets)"
               % (mode, len(in_outage)))
        c.that(after["pbx_sip"][0] == after["pbx_sip"][1], "%s, restarted: PBX SIP passes again (%d of %d)"
               % ((mode,) + tuple(after["pbx_sip"])))
        c.that(not after["call_to_+882_answered"], "%s, restarted: the call to +882 is blocked again" % mode)
        c.that(after["new_media_without_pinhole"][0] == 0 and after["attacker"][0] == 0,
               "%s, restarted: media without a pinhole and the attacker are dropped" % mode)
        c.that(bool(d.log_lines("VG_TOLL_FRAUD_BLOCKED", "number=" + v.masked("+88213000001"))),
               "%s, restarted: syslog VG_TOLL_FRAUD_BLOCKED number=+88213000001" % mode)
        c.that(len(d.log_lines("VG_START")) == 2, "%s: syslog shows both starts (VG_START)" % mode)

        rc = d.stop()
        left = v.kernel_rules(s)
        c.figure(mode + "_left_after_sigterm", left)
        c.that(rc == 0, "%s: SIGTERM stopped voipguard (exit %d)" % (mode, rc))
        if mode == "closed":
            c.that(v.rule_count(left) > 0 and v.without_generation(left["iptables-save"] + left["nft"])
                   == v.without_generation(rules_running["iptables-save"] + rules_running["nft"]),
                   "closed: SIGTERM leaves the rules as the barrier (%d lines)" % v.rule_count(left))
            r = s.run(s.router, v.voipguard_binary(), "uninstall", "--socket", d.control, check=False)
            left = v.kernel_rules(s)
            c.that(r.returncode == 0 and v.rule_count(left) == 0,
                   "closed: `voipguard uninstall` removes every rule, chain and set (exit %d, %d lines left)"
                   % (r.returncode, v.rule_count(left)))
        else:
            c.that(v.rule_count(left) == 0, "%s: no voipguard rule, chain or set is left after SIGTERM" % mode)
        c.that(bool(d.log_lines("VG_SHUTDOWN")), "%s: syslog VG_SHUTDOWN" % mode)


def main():
    v.require_environment()
    c = v.Check("e2e_10_failure_modes")
    one_mode("closed", c)
    one_mode("open", c)
    c.finish()


if __name__ == "__main__":
    main()
