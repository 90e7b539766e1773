#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 27: the packet loop does not wait for slow work.

The policy names its PBX by a host name. The router's resolver asks first a
DNS server that never answers (a socket on the internet side that reads and
counts queries), then dnsmasq, which knows the name; with `timeout:4
attempts:1` every lookup waits four seconds for the silent one. A reload
therefore takes more than four seconds. While it waits:

- SIP OPTIONS the PBX sends to a handset arrive, each before the reload is
  answered (the old daemon resolved names on its packet loop: they waited
  in the queue until the reload was done);
- `status` (kernel counters, read by forked tools) is answered before the
  reload is;
- the reload then succeeds, and the silent server saw the daemon's queries.

The packet loop runs at nice -10 (the default of --nice) and the workers
that do the slow work 19 above it, at 9: on a busy router the loop is
served first. The VG_PRIVILEGES line says so.

Only the order of events is checked, never a duration: the figures printed
say how long each took."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

SILENT_DNS = "198.51.100.53"
DNSMASQ = "198.51.100.54"
PBX_NAME = "pbx.site27.test"
WAIT = 4   # seconds a lookup waits for the silent server

SILENT_SERVER = r"""
import signal, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
n = 0
def done(*_):
    print(n, flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
print("ready", flush=True)
while True:
    s.recv(4096)
    n += 1
"""


def control(path, line, timeout=60):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(line.encode() + b"\n")
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out.decode(errors="replace")
            out += b
    finally:
        s.close()


def main():
    v.require_environment()
    if not os.access("/usr/sbin/dnsmasq", os.X_OK):
        v.skip("dnsmasq not installed (Debian package dnsmasq-base, from packaging/install-deps)")
    check = v.Check("scenario 27 (slow work off the packet loop)")
    with check.attach(v.Site()) as s:
        for addr in (SILENT_DNS, DNSMASQ):
            s.add_internet_address(addr)
        silent = s.spawn(s.internet, v.PYTHON, "-c", SILENT_SERVER, SILENT_DNS)
        if silent.stdout.readline().strip() != "ready":
            raise RuntimeError("the silent DNS server did not start")
        s.spawn(s.internet, "/usr/sbin/dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
                "--bind-interfaces", "--listen-address=" + DNSMASQ, "--address=/" + PBX_NAME + "/" + v.PBX,
                "--user=root", "--pid-file=" + os.path.join(s.tmp, "dnsmasq.pid"), "--log-facility=-")
        etc = os.path.join("/etc/netns", s.router)
        os.makedirs(etc)
        s.etc_dirs.append(etc)
        with open(os.path.join(etc, "resolv.conf"), "w") as f:
            f.write("nameserver %s\nnameserver %s\noptions timeout:%d attempts:1\n" % (SILENT_DNS, DNSMASQ, WAIT))
        policy = s.file("policy.yaml", v.demo_policy(
            replace=(("addresses: [203.0.113.10]", "addresses: [%s]" % PBX_NAME),)))
        d = v.Daemon(s, policy).start()
        d.wait_ready(timeout=30)

        handset = s.socket(s.handset, socket.AF_INET, socket.SOCK_DGRAM)
        handset.bind((v.HANDSET2, 5060))
        pbx = s.socket(s.internet, socket.AF_INET, socket.SOCK_DGRAM)
        pbx.bind((v.PBX, 5060))
        arrivals = []

        def receive():
            handset.settimeout(0.2)
            while not stop.is_set():
                try:
                    data = handset.recv(65536)
                except socket.timeout:
                    continue
                arrivals.append((time.monotonic(), data))

        stop = threading.Event()
        rx = threading.Thread(target=receive)
        rx.start()

        def options():
            return v.sip_request("OPTIONS", "202", v.HANDSET2, v.PBX, 5060)

        pbx.sendto(options(), (v.HANDSET2, 5060))
        v.wait_until(lambda: len(arrivals) >= 1, timeout=10)
        check.that(len(arrivals) == 1, "an OPTIONS from the PBX reaches the handset before the test (%d)"
                   % len(arrivals))

        reload = {}

        def do_reload():
            reload["start"] = time.monotonic()
            reload["answer"] = control(d.control, "reload", 90)
            reload["end"] = time.monotonic()

        rt = threading.Thread(target=do_reload)
        rt.start()
        time.sleep(0.5)
        sent = []
        status_done = None
        for i in range(8):
            pbx.sendto(options(), (v.HANDSET2, 5060))
            sent.append(time.monotonic())
            if i == 4:
                t = time.monotonic()
                st = control(d.control, "status", 60)
                status_done = time.monotonic()
                check.that(st.startswith("voipguard"), "status is answered during the reload")
                check.figure("status_seconds", round(status_done - t, 3))
            time.sleep(0.25)
        rt.join(timeout=120)
        time.sleep(0.5)
        stop.set()
        rx.join()
        silent.send_signal(15)
        queries = int(silent.communicate(timeout=10)[0].strip().splitlines()[-1])

        check.that("end" in reload and reload["answer"].startswith("ok"),
                   "the reload succeeds: %r" % reload.get("answer", "")[:200])
        during = arrivals[1:]
        check.figure("reload_seconds", round(reload.get("end", 0) - reload.get("start", 0), 2))
        check.figure("options_sent_during_reload", len(sent))
        check.figure("options_received", len(during))
        check.figure("dns_queries_unanswered", queries)
        check.that(reload.get("end", 0) - reload.get("start", 0) >= WAIT,
                   "the reload waited for the silent DNS server (%.1f s)" % (reload.get("end", 0) - reload.get("start", 0)))
        check.that(sent and sent[-1] < reload.get("end", 0),
                   "every OPTIONS was sent while the reload was in progress")
        check.that(len(during) == len(sent), "every OPTIONS sent during the reload reached the handset (%d of %d)"
                   % (len(during), len(sent)))
        late = [a for a, _ in during if a >= reload.get("end", 0)]
        check.that(not late, "each arrived before the reload was answered (%d arrived after)" % len(late))
        if during:
            check.figure("options_max_delay_seconds",
                         round(max(a - t for (a, _), t in zip(during, sent)), 4))
        check.that(status_done is not None and status_done < reload.get("end", 0),
                   "status was answered before the reload was")
        check.that(queries >= 1, "the daemon asked the silent DNS server (%d queries)" % queries)
        check.that(d.proc.poll() is None, "the daemon is still running")
        threads = v.daemon_thread_nice(d.control)
        check.figure("thread_nice", threads)
        check.that(threads.get("voipguard") == -10, "the packet loop runs at nice -10: %r" % threads)
        # The loop is real-time (--realtime 5) with SCHED_RESET_ON_FORK: its
        # threads start at nice 0 on the fair scheduler and add 19.
        check.that(threads.get("vg-dns") == 19 and threads.get("vg-kernel") == 19,
                   "the workers run at nice 19: %r" % threads)
        check.that(d.log_lines("VG_PRIVILEGES", "nice=-10"), "VG_PRIVILEGES says nice=-10")
    check.finish()


if __name__ == "__main__":
    main()
