#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 37: the handset inventory (handsets.known) on real registrations.
The policy lists extension 201 at the first handset's address and extension
205, which never registers; stale_after is one minute. Kamailio (the PBX)
challenges every REGISTER, sipp answers as the handsets do. 201 registers
from its address (known: nothing to say); 209, which the list does not have,
registers from the second handset's address (VG_UNKNOWN_HANDSET), and so
does 201's account (VG_HANDSET_MISMATCH rule=address:...). After the minute
205 is VG_HANDSET_FORGOTTEN rule=never_seen. Every registration succeeds
(the inventory never changes a verdict), and `voipguard handsets --json`
shows each handset's inventory state and each listed entry's status."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

USERS = {"201": "Kq7vZ2pW9mXr4", "209": "Tz4nW8qL2vXs7"}
NETWORKS = '  networks: [192.168.20.0/24, "fd00:20::/64"]\n'


def main():
    v.require_environment()
    v.Kamailio.require()
    c = v.Check("e2e_37_inventory")
    known = (NETWORKS + "  stale_after: 1m\n  known:\n"
             "    - aor: \"201\"\n      address: %s\n    - aor: \"205\"\n" % v.HANDSET)
    with v.Site() as s:
        c.attach(s)
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy(replace=[(NETWORKS, known)])))
        d.start()
        k = v.Kamailio(s, users=USERS).start()
        rcs = {}
        for user, src, port in (("201", v.HANDSET, 5070), ("209", v.HANDSET2, 5071), ("201", v.HANDSET2, 5072)):
            p = s.sipp(s.handset, "uac_register_auth.xml", "%s:5060" % v.PBX, "-i", src, "-p", str(port),
                       "-s", user, "-au", user, "-ap", USERS[user], "-m", "1", "-timeout", "15",
                       "-timeout_error", label="register-%s-%s" % (user, src))
            rc = s.sipp_wait(p, 20)
            rcs["%s@%s" % (user, src)] = rc
            c.that(rc == 0, "sipp registered %s from %s (exit %d)" % (user, src, rc))
        c.figure("register_rc", rcs)

        d.wait_log("VG_HANDSET_MISMATCH", timeout=5)
        unknown = d.log_lines("VG_UNKNOWN_HANDSET")
        mismatch = d.log_lines("VG_HANDSET_MISMATCH")
        c.figure("unknown_handset_lines", unknown)
        c.figure("handset_mismatch_lines", mismatch)
        c.that(len(unknown) == 1 and "handset=%s " % v.HANDSET2 in unknown[0] and "detail=209@" in unknown[0],
               "one VG_UNKNOWN_HANDSET: 209 from %s" % v.HANDSET2)
        c.that(len(mismatch) == 1 and "handset=%s " % v.HANDSET2 in mismatch[0]
               and "rule=address:%s " % v.HANDSET in mismatch[0] and "detail=201@" in mismatch[0],
               "one VG_HANDSET_MISMATCH: 201's account from %s, expected at %s" % (v.HANDSET2, v.HANDSET))

        forgotten = d.wait_log("VG_HANDSET_FORGOTTEN", timeout=100)
        lines = d.log_lines("VG_HANDSET_FORGOTTEN")
        c.figure("handset_forgotten_lines", lines)
        c.that(any("rule=never_seen" in l and "detail=205" in l for l in lines),
               "VG_HANDSET_FORGOTTEN for 205, never seen (%s)" % forgotten)

        js = v.json.loads(d.ctl("handsets", "--json").stdout)
        inventory = {h["address"]: h.get("inventory") for h in js["handsets"]}
        status = {e["aor"]: e["status"] for e in js.get("known", [])}
        c.figure("handsets_inventory", inventory)
        c.figure("known_status", status)
        c.that(inventory.get(v.HANDSET) == "known", "handsets --json: %s known" % v.HANDSET)
        c.that(inventory.get(v.HANDSET2) == "mismatch", "handsets --json: %s registers 201 not as listed" % v.HANDSET2)
        c.that(status.get("205") == "never_seen", "handsets --json: 205 never seen")
        text = d.ctl("handsets").stdout
        c.figure("handsets_text", text.splitlines())
        c.that("205  NEVER SEEN" in text, "handsets lists 205 as never seen")
        c.that(k.running(), "Kamailio ran through the scenario")
        k.stop()
        c.that(d.stop() == 0, "voipguard stopped cleanly")
    c.finish()


if __name__ == "__main__":
    main()
