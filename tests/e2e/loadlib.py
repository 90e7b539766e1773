# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers of the load, fault and soak scenarios (test_20..test_30): the
flood sender (vg_e2e_flood, flood.cpp), the daemon's own process (CPU time
and resident memory from /proc) and counters of the kernel's queue."""
import json
import os
import subprocess
import time

import vgnet as v

CLK_TCK = os.sysconf("SC_CLK_TCK")


def flood_binary():
    """vg_e2e_flood: $VG_E2E_FLOOD, else next to the voipguard binary's build
    tree; skips when there is none (it is built with the e2e tests)."""
    path = os.environ.get("VG_E2E_FLOOD")
    if path and os.access(path, os.X_OK):
        return path
    daemon = v.voipguard_binary()
    cand = os.path.join(os.path.dirname(os.path.dirname(daemon)), "tests", "e2e", "vg_e2e_flood")
    if os.access(cand, os.X_OK):
        return cand
    v.skip("vg_e2e_flood not found (build the target vg_e2e_flood or set VG_E2E_FLOOD=path)")


def flood(site, ns, dst, rate, seconds, src=None, spoof=None, exclude=(), kind="udp", size=172, dst_count=1):
    """Starts vg_e2e_flood in namespace NS; result with flood_result().
    DST_COUNT > 1 spreads it over that many consecutive addresses from DST's."""
    cmd = [flood_binary(), "--dst", dst, "--rate", str(rate), "--seconds", str(seconds), "--kind", kind,
           "--size", str(size)]
    if dst_count > 1:
        cmd += ["--dst-count", str(dst_count)]
    if src:
        cmd += ["--src", src]
    if spoof:
        cmd += ["--spoof", ",".join(spoof)]
    if exclude:
        cmd += ["--exclude", ",".join(exclude)]
    return site.spawn(ns, *cmd)


def flood_result(p, timeout=60):
    out, _ = p.communicate(timeout=timeout)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError("vg_e2e_flood failed: " + out)


def daemon_pid(site):
    """The PID of the voipguard process in the router namespace."""
    for pid in v.sh("ip", "netns", "pids", site.router, check=False).stdout.split():
        try:
            with open("/proc/%s/comm" % pid) as f:
                if f.read().strip() == "voipguard":
                    return int(pid)
        except OSError:
            continue
    raise RuntimeError("no voipguard process in " + site.router)


def cpu_seconds(pid):
    """utime + stime of PID in seconds (/proc/PID/stat fields 14 and 15)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(CLK_TCK)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class CpuWindow:
    """CPU time the daemon used between start() and stop(), in % of one core."""

    def __init__(self, pid):
        self.pid = pid

    def start(self):
        self.t0, self.c0 = time.monotonic(), cpu_seconds(self.pid)
        return self

    def stop(self):
        self.seconds = time.monotonic() - self.t0
        self.cpu = cpu_seconds(self.pid) - self.c0
        self.percent = round(100.0 * self.cpu / self.seconds, 1) if self.seconds > 0 else 0.0
        return self


def nfqueue_stats(site, queue=0):
    """The line of /proc/net/netfilter/nfnetlink_queue for QUEUE (per network
    namespace, so read inside the router): waiting, queue_dropped (queue
    full), user_dropped (netlink socket buffer full), last_id."""
    r = site.run(site.router, "cat", "/proc/net/netfilter/nfnetlink_queue", check=False)
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 8 and int(f[0]) == queue:
            return {"waiting": int(f[2]), "queue_dropped": int(f[5]), "user_dropped": int(f[6]),
                    "last_id": int(f[7])}
    return None


def call(site, handset, number, hold_ms, label, port="5060", timeout=30, extra=()):
    """A call from HANDSET to the PBX (uac_invite.xml): the sipp process."""
    return site.sipp(site.handset, "uac_invite.xml", v.PBX + ":5060", "-i", handset, "-p", port, "-mi", handset,
                     "-s", number, "-d", str(hold_ms), "-m", "1", "-timeout", str(timeout), "-timeout_error",
                     *extra, label=label)


def pbx(site, label="pbx", timeout=120, extra=()):
    """The PBX answering every call (uas_answer.xml)."""
    return site.sipp(site.internet, "uas_answer.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA,
                     "-timeout", str(timeout), *extra, label=label)


def media_ratio(rp, rh):
    """(received, sent) both ways added up, and the ratio."""
    got = rh["received"] + rp["received"]
    sent = rp["sent"] + rh["sent"]
    return got, sent, (got / float(sent) if sent else 0.0)


# One handset placing 3 calls a second is the load of the soak, not fraud: the
# per-handset limits are raised and the destination profiles (whose built-in
# levels block a handset's ninth national call in a minute) are off.
SOAK_LIMITS = ('deny_prefixes: ["+881", "+882", "+883", "09"]',
               'deny_prefixes: ["+881", "+882", "+883", "09"]\n  limits:\n    per_handset:\n'
               '      calls_per_hour: 10000\n      concurrent_calls: 20\n  profiles: []')
# Ended dialogs are kept 32 s (a 401/407-challenged INVITE's retry must still
# find its dialog), so the tables are empty at most that long after the last call.
DIALOG_GRACE = 34


def run_soak(name, seconds, rate=3, hold_ms=500, sample_every=10):
    """Continuous call set-up and tear-down for SECONDS (sipp -r RATE calls per
    second, each held HOLD_MS): every call completes, the daemon's resident
    memory does not grow between the first minute (or sixth of the run) and
    the end (< 5 %), and calls, pinholes and dialogs go back to 0 afterwards."""
    v.require_environment()
    c = v.Check(name)
    calls = int(seconds * rate)
    with v.Site() as s:
        c.attach(s)
        d = v.Daemon(s, s.file("policy.yaml", v.demo_policy(replace=[SOAK_LIMITS],
                                                            append="logging:\n  aggregate_window: 10s\n")))
        d.start()
        pid = daemon_pid(s)
        c.figure("backend", d.status()["backend"])
        pbx = s.sipp(s.internet, "uas_answer.xml", "-i", v.PBX, "-p", "5060", "-mi", v.PBX_MEDIA,
                     "-timeout", str(seconds + 60), "-m", str(calls), label="pbx")
        v.time.sleep(0.5)
        uac = s.sipp(s.handset, "uac_invite.xml", v.PBX + ":5060", "-i", v.HANDSET, "-p", "5060", "-mi", v.HANDSET,
                     "-s", "02079460000", "-d", str(hold_ms), "-r", str(rate), "-m", str(calls),
                     "-timeout", str(seconds + 60), "-timeout_error", label="soak")
        t0 = v.time.monotonic()
        cpu = CpuWindow(pid).start()
        samples = []  # (seconds since start, VmRSS KiB, calls, pinholes, dialogs)
        while uac.poll() is None and v.time.monotonic() - t0 < seconds + 60:
            v.time.sleep(sample_every)
            st = d.status()
            samples.append((int(v.time.monotonic() - t0), rss_kib(pid), st["calls"], st["pinholes"], st["dialogs"]))
        rc = s.sipp_wait(uac, 60)
        cpu.stop()
        pbx.kill()
        empty = v.wait_until(lambda: d.status()["dialogs"] == 0, timeout=DIALOG_GRACE + 6, step=1)
        end = d.status()
        rss_end = rss_kib(pid)

        mark = min(60, seconds / 6.0)
        early = [x for x in samples if x[0] >= mark] or samples
        rss_mark = early[0][1] if early else rss_end
        rss_last = samples[-1][1] if samples else rss_end
        growth = (rss_last - rss_mark) / float(rss_mark) if rss_mark else 0.0
        invites = len(v.requests(uac.trace, "INVITE", "sent")) if os.path.getsize(uac.trace) < 200e6 else None
        c.figure("seconds", seconds)
        c.figure("calls_asked", calls)
        c.figure("sipp_rc", rc)
        c.figure("calls_started_syslog", len(d.log_lines("VG_CALL_STARTED")))
        c.figure("rss_kib_samples", [[t, r] for t, r, _, _, _ in samples])
        c.figure("rss_kib", {"at_%ds" % early[0][0] if early else "start": rss_mark, "last_sample": rss_last,
                             "after_tables_empty": rss_end})
        c.figure("rss_growth_percent", round(100 * growth, 2))
        c.figure("tables_during", [[t, ca, ph, dl] for t, _, ca, ph, dl in samples])
        c.figure("tables_end", {k: end[k] for k in ("calls", "pinholes", "dialogs", "handsets")})
        c.figure("pinholes_opened_closed", [end["pinholes_opened"], end["pinholes_closed"]])
        c.figure("daemon_cpu_percent", cpu.percent)
        c.figure("invites_sent", invites)
        c.figure("verdicts", end["verdicts"])
        c.figure("reasons", end["reasons"])

        c.that(rc == 0, "every one of the %d calls completed (sipp exit %d)" % (calls, rc))
        c.that(growth < 0.05, "no memory growth: VmRSS %d KiB at %ds, %d KiB at the end (%+.1f %%)"
               % (rss_mark, early[0][0] if early else 0, rss_last, 100 * growth))
        c.that(bool(empty) and end["calls"] == 0 and end["pinholes"] == 0 and end["dialogs"] == 0,
               "tables back to 0 after the calls: %d calls, %d pinholes, %d dialogs"
               % (end["calls"], end["pinholes"], end["dialogs"]))
        c.that(end["pinholes_opened"] == end["pinholes_closed"],
               "every pinhole opened was closed (%d / %d)" % (end["pinholes_opened"], end["pinholes_closed"]))
        c.that(end["verdicts"]["drop"] == 0, "nothing of the calls was dropped (%d drops)" % end["verdicts"]["drop"])
        c.that(d.proc.poll() is None and d.stop() == 0, "voipguard survived and stopped cleanly")
    c.finish()
