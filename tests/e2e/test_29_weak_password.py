#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 29: the passive password audit on real digest exchanges.
Kamailio (the PBX) challenges every REGISTER; sipp's [authentication]
(-au/-ap) answers as a handset does. Handset 201's password is its own
extension, 202's a strong one. Through the router running voipguard,
VG_WEAK_CREDENTIAL names 201's address, AOR and rule ("equals the
extension") and never the password; 202 raises nothing; `voipguard handsets
--json` shows the finding; both registrations succeed (the audit never
changes a verdict)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

STRONG = "Kq7vZ2pW9mXr4"
USERS = {"201": "201", "202": STRONG}


def main():
    v.require_environment()
    v.Kamailio.require()
    c = v.Check("e2e_29_weak_password")
    with v.Site() as s:
        c.attach(s)
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy()))
        d.start()
        k = v.Kamailio(s, users=USERS).start()
        rcs = {}
        for user, src, port in (("201", v.HANDSET, 5070), ("202", v.HANDSET2, 5071)):
            p = s.sipp(s.handset, "uac_register_auth.xml", "%s:5060" % v.PBX, "-i", src, "-p", str(port),
                       "-s", user, "-au", user, "-ap", USERS[user], "-m", "1", "-timeout", "15",
                       "-timeout_error", label="register-%s" % user)
            rcs[user] = s.sipp_wait(p, 20)
            c.that(rcs[user] == 0, "sipp registered %s from %s with digest auth (exit %d)" % (user, src, rcs[user]))
        c.figure("register_rc", rcs)
        registered = [(e["user"], e["src"]) for e in k.events("REGISTERED")]
        c.figure("kamailio_registered", registered)
        c.that(("201", v.HANDSET) in registered and ("202", v.HANDSET2) in registered,
               "Kamailio accepted both registrations through the router")

        weak = d.wait_log("VG_WEAK_CREDENTIAL", timeout=5)
        lines = d.log_lines("VG_WEAK_CREDENTIAL")
        c.figure("weak_credential_lines", lines)
        c.that(any("handset=%s " % v.HANDSET in l and 'rule="equals the extension"' in l
                   and 'detail="201@' in l for l in lines),
               "VG_WEAK_CREDENTIAL for 201 at %s: rule equals the extension (%s)" % (v.HANDSET, weak))
        c.that(not any("handset=%s " % v.HANDSET2 in l for l in lines),
               "no VG_WEAK_CREDENTIAL for 202 (strong password)")
        c.that(not any(STRONG in l for l in d.syslog()) and STRONG not in d.stderr(),
               "the strong password is nowhere in the log")
        hs = v.json.loads(d.ctl("handsets", "--json").stdout)["handsets"]
        flags = {h["address"]: h.get("weak_password", "") for h in hs}
        c.figure("handsets_weak_password", flags)
        c.that(flags.get(v.HANDSET) == "equals the extension", "handsets --json flags %s" % v.HANDSET)
        c.that(flags.get(v.HANDSET2, "") == "", "handsets --json does not flag %s" % v.HANDSET2)
        st = d.status()
        c.figure("password_audit", st.get("password_audit"))
        c.that(st.get("password_audit", {}).get("completed", 0) >= 2, "both checks completed")
        c.that(k.running(), "Kamailio ran through the scenario")
        k.stop()
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
