#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 26: the wall clock jumps during a call, as on a router without a
real-time clock when its time is first synchronised, then steps back.

voipguard runs with a fake wall clock (Debian's faketime library, read from
a file the test rewrites; CLOCK_MONOTONIC is left alone, as a time sync
leaves it). The policy has business hours (Europe/London, Mon-Fri
08:00-18:00) outside which every international number is denied.

  T0  Tuesday 10:00: a call is up with RTP both ways; an international call
      is answered (business hours).
  T1  a year later, Saturday 10:00: the call, its pinholes and its kernel
      fast path survive; an international call is now denied
      (out_of_hours:+).
  T2  one hour back: still a Saturday. The call survives, and the OPTIONS
      rate limit (2/s burst 2), used up at T1, keeps refilling: seven
      OPTIONS 0.6 s apart all reach the handset (a bucket on the wall clock
      would stay empty for the hour the clock stepped back).
  T3  Monday 10:00: international calls are answered again.
The call ends with its BYE, its audio never interrupted."""
import calendar
import glob
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

T0 = calendar.timegm((2027, 1, 12, 10, 0, 0))   # Tuesday
T1 = calendar.timegm((2028, 1, 15, 10, 0, 0))   # Saturday, a year later
T2 = T1 - 3600                                  # Saturday 09:00
T3 = calendar.timegm((2028, 1, 17, 10, 0, 0))   # Monday
INTERNATIONAL = "0033140000000"                 # +33 1 40 00 00 00 (Paris)


def faketime_library():
    for path in glob.glob("/usr/lib/*/faketime/libfaketime.so.1") + glob.glob("/usr/lib/faketime/libfaketime.so.1"):
        return path
    v.skip("libfaketime not installed (Debian package faketime, from packaging/install-deps)")


class WallClock:
    """The daemon's wall clock: an offset from the real one, in a file
    libfaketime reads on every call."""

    def __init__(self, path):
        self.path = path

    def set(self, wall):
        with open(self.path + ".new", "w") as f:
            f.write("%+d\n" % int(wall - time.time()))
        os.replace(self.path + ".new", self.path)
        return time.time()


def call(s, handset, port, number, hold_ms, label, timeout):
    return s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", handset, "-p", port, "-mi", handset,
                  "-s", number, "-d", str(hold_ms), "-m", "1", "-timeout", str(timeout), "-timeout_error",
                  label=label)


def main():
    v.require_environment()
    lib = faketime_library()
    c = v.Check("e2e_26_clock_jump")
    with v.Site() as s:
        c.attach(s)
        policy = v.demo_policy(
            replace=[('deny_prefixes: ["+881", "+882", "+883", "09"]',
                      'deny_prefixes: ["+881", "+882", "+883", "09"]\n'
                      '  out_of_hours:\n    timezone: Europe/London\n'
                      '    business_hours: ["mon-fri 08:00-18:00"]\n    deny_prefixes: ["+"]')],
            append='sip:\n  rate_limits:\n    OPTIONS: 2/s burst 2\n')
        clock = WallClock(os.path.join(s.tmp, "faketime"))
        clock.set(T0)
        d = v.Daemon(s, s.file("policy.yaml", policy),
                     prefix=["env", "LD_PRELOAD=" + lib, "FAKETIME_TIMESTAMP_FILE=" + clock.path,
                             "FAKETIME_NO_CACHE=1", "FAKETIME_DONT_FAKE_MONOTONIC=1"])
        d.start()
        c.figure("backend", d.status()["backend"])
        pbx = s.sipp(s.internet, "uas_answer.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA,
                     "-timeout", "60", label="pbx")
        time.sleep(0.5)

        # T0: the call, with RTP both ways for 24 s.
        main_call = call(s, v.HANDSET, "5060", "02079460000", 27000, "call", 45)
        c.that(bool(d.wait_log("VG_CALL_STARTED", timeout=8)), "the call was answered at T0")
        at_pbx, at_handset = v.start_rtp(s, count=1200, pps=50, handset_delay=0.2, pbx_delay=0.4, arrivals=True)
        time.sleep(1)
        rc = s.sipp_wait(call(s, v.HANDSET2, "5062", INTERNATIONAL, 300, "intl-t0", 6), 15)
        c.figure("international_at_t0_rc", rc)
        c.that(rc == 0, "T0 (Tuesday 10:00): an international call is answered (sipp exit %d)" % rc)

        def the_call():
            calls = v.json.loads(d.ctl("calls", "--json").stdout)["calls"]
            return [x for x in calls if x["handset"] == v.HANDSET and x["state"] == "confirmed"]

        # T1: a year later, a Saturday.
        jumped_forward = clock.set(T1)
        time.sleep(1.5)   # the daemon's timers run (about once a second)
        c.that(len(the_call()) == 1, "T1 (+1 year, Saturday): the call is still up")
        st = d.status()
        c.figure("pinholes_after_forward_jump", st["pinholes"])
        c.that(st["pinholes"] >= 2, "T1: the call's pinholes are still open (%d)" % st["pinholes"])
        rc = s.sipp_wait(call(s, v.HANDSET2, "5064", INTERNATIONAL, 300, "intl-t1", 4), 15)
        c.figure("international_at_t1_rc", rc)
        denied = [l for l in d.log_lines("VG_TOLL_FRAUD") if "out_of_hours:+" in l]
        c.figure("toll_fraud_lines", denied[:2])
        c.that(rc != 0 and bool(denied),
               "T1: an international call is denied out of hours (sipp exit %d, VG_TOLL_FRAUD out_of_hours:+)" % rc)

        # The OPTIONS bucket of the PBX towards the second handset is used
        # up at T1 (three at once: burst 2).
        rx = s.socket(s.handset, socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind((v.HANDSET2, 5060))
        rx.settimeout(0.05)

        def options(count, pause):
            msgs = [v.sip_request("OPTIONS", "202", v.HANDSET2, v.PBX, 5070) for _ in range(count)]
            sent = v.send_udp(s, s.internet, v.PBX, v.HANDSET2, 5060, msgs, pause=pause, listen=0.3, sport=5070)
            got = 0
            end = time.monotonic() + 0.5
            while time.monotonic() < end:
                try:
                    got += rx.recv(65535).startswith(b"OPTIONS ")
                except socket.timeout:
                    pass
            return sent["sent"], got

        burst = options(3, 0.01)
        c.figure("options_burst_at_t1", {"sent": burst[0], "received": burst[1]})
        c.that(burst == (3, 2), "T1: a burst of 3 OPTIONS meets the limit (2/s burst 2): %d of 3 passed" % burst[1])

        # T2: one hour back.
        stepped_back = clock.set(T2)
        time.sleep(1.5)
        c.that(len(the_call()) == 1, "T2 (-1 hour): the call is still up")
        sent, got = options(7, 0.6)
        rx.close()
        c.figure("options_after_step_back", {"sent": sent, "received": got})
        c.that(sent == 7 and got == 7,
               "T2: the rate bucket keeps refilling after the step back: %d of 7 OPTIONS (2/s burst 2, "
               "0.6 s apart) reached the handset" % got)

        # T3: Monday, business hours again.
        clock.set(T3)
        time.sleep(1.5)
        rc = s.sipp_wait(call(s, v.HANDSET2, "5066", INTERNATIONAL, 300, "intl-t3", 6), 15)
        c.figure("international_at_t3_rc", rc)
        c.that(rc == 0, "T3 (Monday 10:00): an international call is answered again (sipp exit %d)" % rc)
        c.that(len(the_call()) == 1, "T3: the call is still up")

        rp, rh = s.result(at_pbx, 60), s.result(at_handset, 60)
        rc_call = s.sipp_wait(main_call, 40)
        arrivals = rh.pop("arrivals")
        rp.pop("arrivals")
        c.figure("rtp_pbx_to_handset", {"sent": rp["sent"], "received": rh["received"]})
        c.figure("rtp_handset_to_pbx", {"sent": rh["sent"], "received": rp["received"]})
        after_jump = sum(1 for t in arrivals if t > jumped_forward + 1)
        after_back = sum(1 for t in arrivals if t > stepped_back + 1)
        c.figure("rtp_received_after_forward_jump", after_jump)
        c.figure("rtp_received_after_step_back", after_back)
        c.that(rh["received"] >= rp["sent"] * 0.98 and rp["received"] >= rh["sent"] * 0.98,
               "the audio flowed through both jumps: %d of %d to the handset, %d of %d to the PBX"
               % (rh["received"], rp["sent"], rp["received"], rh["sent"]))
        c.that(after_back >= 200, "RTP kept arriving after the step back (%d packets)" % after_back)
        c.that(rc_call == 0, "the call ended with its BYE (sipp exit %d)" % rc_call)
        ended = d.log_lines("VG_CALL_ENDED")
        c.figure("call_ended_lines", ended)
        c.that(any("handset=%s" % v.HANDSET in l and "detail=bye" in l for l in ended)
               and not any("max_call_duration" in l or "timeout" in l for l in ended),
               "VG_CALL_ENDED for the call says bye; no call ended by a timeout")
        after = d.status()
        c.figure("reasons", after["reasons"])
        c.that(after["calls"] == 0, "no call left over (%d)" % after["calls"])
        c.that(d.stop() == 0, "voipguard stopped cleanly")
        s.sipp_wait(pbx, 5)
    c.finish()


if __name__ == "__main__":
    main()
