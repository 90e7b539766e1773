# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end test harness: a customer site built from network namespaces.

    handset ns  (voice network)        router ns (runs voipguard)         internet ns
    192.168.20.10, .11/24   --veth--   192.168.20.1 | 100.64.0.1  --veth--  100.64.0.2
    fd00:20::10, ::11/64               fd00:20::1   | 2001:db8:ffff::1      2001:db8:ffff::2
                                                                            + 203.0.113.10   PBX signalling
                                                                            + 203.0.113.70   PBX media
                                                                            + 198.51.100.7   support provider
                                                                            + 192.0.2.66     attacker
                                                                            + 192.0.2.200    rogue SIP server
                                                                            + 2001:db8:100::10 / ::70, 2001:db8:666::66

Everything a test starts is killed and every namespace deleted when the
Site is closed, also when the test fails (use it as a context manager).
Tests that cannot run (not root, no `ip netns`) exit with SKIP (77) and
say why, never with a silent pass.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
# Processes started in a session of their own survive the caller's terminal
# (tests/demo --keep leaves the demo running).
DETACH = False
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
PROBE = os.path.join(HERE, "probe.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

HANDSET = "192.168.20.10"
HANDSET2 = "192.168.20.11"
HANDSET6 = "fd00:20::10"
PBX = "203.0.113.10"
PBX_MEDIA = "203.0.113.70"
SUPPORT = "198.51.100.7"
ATTACKER = "192.0.2.66"
ROGUE = "192.0.2.200"
PBX6 = "2001:db8:100::10"
PBX_MEDIA6 = "2001:db8:100::70"
ATTACKER6 = "2001:db8:666::66"


def skip(reason):
    print("SKIP: " + reason)
    sys.exit(SKIP)


def require_environment():
    if os.geteuid() != 0:
        skip("end-to-end tests need root (network namespaces, netfilter)")
    for tool in ("ip", "iptables", "ipset", "sipp", "unshare"):
        if shutil.which(tool) is None:
            skip("%s is not installed (packaging/install-deps installs it)" % tool)
    probe = subprocess.run(["ip", "netns", "add", "vg-probe-%d" % os.getpid()], capture_output=True, text=True)
    if probe.returncode != 0:
        skip("cannot create network namespaces: " + probe.stderr.strip())
    subprocess.run(["ip", "netns", "del", "vg-probe-%d" % os.getpid()], capture_output=True)


def sh(*args, check=True, capture=True, timeout=30):
    r = subprocess.run(list(args), capture_output=capture, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s%s" % (r.returncode, " ".join(args), r.stdout, r.stderr))
    return r


class Site:
    """The three namespaces, their addresses and routes."""

    def __init__(self, tag=None, names=None, tmp=None):
        tag = tag or str(os.getpid())
        self.handset, self.router, self.internet = names or ("vgh" + tag, "vgr" + tag, "vgi" + tag)
        if tmp:
            os.makedirs(tmp, exist_ok=True)
            self.tmp = tmp
        else:
            self.tmp = tempfile.mkdtemp(prefix="vg-e2e-")
        self.procs = []
        self.daemon = None
        self.daemons = []
        self.check = None  # a Check whose failures make close() print what was recorded

    # -- set-up / tear-down ------------------------------------------------
    def __enter__(self):
        try:
            self.build()
        except Exception:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is not None or (self.check is not None and self.check.failures):
            self.diagnostics()
        self.close()
        return False

    def diagnostics(self):
        """After a failure: the daemon's stderr and every sipp run's messages
        and errors, so a CI log says what happened."""
        for d in self.daemons:
            lines = d.stderr().splitlines()
            print("--- %s (last %d lines)" % (d.stderr_file, min(40, len(lines))))
            print("\n".join(lines[-40:]))
        for name in sorted(os.listdir(self.tmp)):
            path = os.path.join(self.tmp, name)
            if name.endswith(".msg"):
                print("--- %s: sent %s" % (name, sip_trace(path, "sent")[:12]))
                print("--- %s: received %s" % (name, sip_trace(path, "received")[:12]))
            elif name.endswith(".err") and os.path.getsize(path) > 0:
                with open(path, errors="replace") as f:
                    print("--- %s\n%s" % (name, "".join(f.readlines()[-20:])))

    def ns(self, name, *cmd):
        return ["ip", "netns", "exec", name] + list(cmd)

    def run(self, name, *cmd, check=True, timeout=30):
        return sh(*self.ns(name, *cmd), check=check, timeout=timeout)

    def build(self):
        for n in (self.handset, self.router, self.internet):
            sh("ip", "netns", "add", n)
            self.run(n, "ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", "vgh0", "netns", self.handset, "type", "veth", "peer", "name", "lan0", "netns", self.router)
        sh("ip", "link", "add", "wan0", "netns", self.router, "type", "veth", "peer", "name", "vgi0", "netns", self.internet)
        for n in (self.handset, self.router, self.internet):
            self.run(n, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0")
            self.run(n, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0")
        h, r, i = self.handset, self.router, self.internet
        for a in (HANDSET + "/24", HANDSET2 + "/24"):
            self.run(h, "ip", "addr", "add", a, "dev", "vgh0")
        for a in (HANDSET6 + "/64", "fd00:20::11/64"):
            self.run(h, "ip", "-6", "addr", "add", a, "dev", "vgh0", "nodad")
        self.run(h, "ip", "link", "set", "vgh0", "up")
        self.run(h, "ip", "route", "add", "default", "via", "192.168.20.1")
        self.run(h, "ip", "-6", "route", "add", "default", "via", "fd00:20::1")

        self.run(r, "ip", "addr", "add", "192.168.20.1/24", "dev", "lan0")
        self.run(r, "ip", "-6", "addr", "add", "fd00:20::1/64", "dev", "lan0", "nodad")
        self.run(r, "ip", "addr", "add", "100.64.0.1/30", "dev", "wan0")
        self.run(r, "ip", "-6", "addr", "add", "2001:db8:ffff::1/64", "dev", "wan0", "nodad")
        for dev in ("lan0", "wan0"):
            self.run(r, "ip", "link", "set", dev, "up")
        self.run(r, "ip", "route", "add", "default", "via", "100.64.0.2")
        self.run(r, "ip", "-6", "route", "add", "default", "via", "2001:db8:ffff::2")
        self.run(r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.run(r, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")

        self.run(i, "ip", "addr", "add", "100.64.0.2/30", "dev", "vgi0")
        self.run(i, "ip", "-6", "addr", "add", "2001:db8:ffff::2/64", "dev", "vgi0", "nodad")
        for a in (PBX, PBX_MEDIA, SUPPORT, ATTACKER, ROGUE):
            self.run(i, "ip", "addr", "add", a + "/32", "dev", "lo")
        for a in (PBX6, PBX_MEDIA6, ATTACKER6):
            self.run(i, "ip", "-6", "addr", "add", a + "/128", "dev", "lo", "nodad")
        self.run(i, "ip", "link", "set", "vgi0", "up")
        self.run(i, "ip", "route", "add", "192.168.20.0/24", "via", "100.64.0.1")
        self.run(i, "ip", "-6", "route", "add", "fd00:20::/64", "via", "2001:db8:ffff::1")
        self.warm_up()

    def warm_up(self):
        """Resolves every next hop (ARP, IPv6 neighbour discovery) before a
        test starts: a first packet otherwise waits in the neighbour queue,
        which holds only three packets, and the delay (seconds when the
        machine is busy) would look like voipguard's."""
        for ns, dst in ((self.handset, "192.168.20.1"), (self.handset, "fd00:20::1"),
                        (self.internet, "100.64.0.1"), (self.internet, "2001:db8:ffff::1"),
                        (self.handset, PBX), (self.handset, PBX6)):
            self.run(ns, "ping", "-c", "1", "-W", "3", dst, check=False, timeout=10)
        # Keep the entries from going stale during a test.
        for ns in (self.handset, self.router, self.internet):
            self.run(ns, "sysctl", "-qw", "net.ipv4.neigh.default.base_reachable_time_ms=600000", check=False)
            self.run(ns, "sysctl", "-qw", "net.ipv6.neigh.default.base_reachable_time_ms=600000", check=False)

    def close(self):
        for d in self.daemons:
            d.stop(check=False)
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for n in (self.handset, self.router, self.internet):
            pids = sh("ip", "netns", "pids", n, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", n, check=False)
        if os.environ.get("VG_E2E_KEEP_FILES"):
            print("kept: " + self.tmp)  # policies, sipp traces, syslog, daemon stderr
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- processes ----------------------------------------------------------
    def spawn(self, name, *cmd, stdout=None):
        p = subprocess.Popen(self.ns(name, *cmd), stdout=stdout or subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, text=True, start_new_session=DETACH)
        self.procs.append(p)
        return p

    def probe(self, name, *args, timeout=30):
        r = self.run(name, PYTHON, PROBE, *args, check=False, timeout=timeout)
        try:
            return json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise RuntimeError("probe %s failed: %s %s" % (args, r.stdout, r.stderr))

    def probe_bg(self, name, *args):
        return self.spawn(name, PYTHON, PROBE, *args)

    @staticmethod
    def result(p, timeout=30):
        out, _ = p.communicate(timeout=timeout)
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise RuntimeError("probe failed: " + out)

    def file(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def add_internet_address(self, addr):
        """One more host on the internet side (a /32 or /128 on its loopback)."""
        if ":" in addr:
            self.run(self.internet, "ip", "-6", "addr", "add", addr + "/128", "dev", "lo", "nodad")
        else:
            self.run(self.internet, "ip", "addr", "add", addr + "/32", "dev", "lo")

    # -- sipp ---------------------------------------------------------------
    def sipp(self, name, scenario, *args, label=None):
        """sipp in namespace NAME with tests/e2e/sipp/SCENARIO. Its screen goes
        to a file (a pipe nobody reads would fill up) and every SIP message it
        sends or receives to LABEL.msg (see sip_messages())."""
        label = label or os.path.splitext(os.path.basename(scenario))[0]
        trace = os.path.join(self.tmp, label + ".msg")
        screen = open(os.path.join(self.tmp, label + ".screen"), "w")
        cmd = ["sipp", *args, "-sf", os.path.join(HERE, "sipp", scenario), "-nostdin",
               "-trace_msg", "-message_file", trace,
               "-trace_err", "-error_file", os.path.join(self.tmp, label + ".err")]
        p = subprocess.Popen(self.ns(name, *cmd), stdout=screen, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=DETACH)
        screen.close()
        p.trace = trace
        p.label = label
        self.procs.append(p)
        return p

    @staticmethod
    def sipp_wait(p, timeout=30):
        """Waits for a sipp run; its exit code (0: every call succeeded)."""
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return -9


def sip_trace(trace, direction="received"):
    """(time, start line) of the SIP messages a sipp run sent or received
    (direction "sent" / "received"), from its -trace_msg file, in order;
    time in seconds since the epoch."""
    try:
        with open(trace, errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    out = []
    want = "message " + direction
    for block in text.split("----------------------------------------------- ")[1:]:
        lines = block.splitlines()
        if not lines:
            continue
        try:
            day, clock = lines[0].split()[:2]
            whole, frac = clock.split(".")
            when = time.mktime(time.strptime(day + " " + whole, "%Y-%m-%d %H:%M:%S")) + float("0." + frac)
        except ValueError:
            when = None
        for i, line in enumerate(lines):
            if want in line:
                rest = [l for l in lines[i + 1:] if l.strip()]
                if rest:
                    out.append((when, rest[0].strip()))
                break
    return out


def sip_messages(trace, direction="received"):
    """The start lines of the SIP messages in a sipp trace (see sip_trace)."""
    return [line for _, line in sip_trace(trace, direction)]


def requests(trace, method, direction="received"):
    """The Request-URIs of METHOD requests in a sipp trace."""
    out = []
    for line in sip_messages(trace, direction):
        parts = line.split()
        if len(parts) == 3 and parts[0] == method and parts[2] == "SIP/2.0":
            out.append(parts[1])
    return out


DEMO_POLICY = os.path.join(SRC, "config", "examples", "demo.yaml")


def demo_policy(replace=(), append=""):
    """config/examples/demo.yaml with the (old, new) replacements applied and
    APPEND added at the end. A replacement whose text the demo policy no
    longer contains is an error, not a silent no-op."""
    with open(DEMO_POLICY) as f:
        text = f.read()
    for old, new in replace:
        if old not in text:
            raise RuntimeError("config/examples/demo.yaml no longer contains %r" % old)
        text = text.replace(old, new, 1)
    if append:
        text = text.rstrip("\n") + "\n" + append.strip("\n") + "\n"
    return text


def kernel_rules(site):
    """Everything of voipguard's in the router's kernel tables: iptables and
    ip6tables lines (counters left out), ipset names, nftables lines."""
    out = {}
    for tool in ("iptables-save", "ip6tables-save"):
        r = site.run(site.router, tool, check=False)
        out[tool] = [l for l in r.stdout.splitlines() if "voipguard" in l and not l.startswith("#")]
    r = site.run(site.router, "ipset", "list", "-n", check=False)
    out["ipset"] = sorted(l for l in r.stdout.split() if l.startswith("voipguard"))
    if shutil.which("nft"):
        r = site.run(site.router, "nft", "list", "ruleset", check=False)
        out["nft"] = [re.sub(r"counter packets \d+ bytes \d+", "counter", l.strip())
                      for l in r.stdout.splitlines() if "voipguard" in l]
    else:
        out["nft"] = []
    return out


def start_rtp(site, handset=HANDSET, media=PBX_MEDIA, count=100, pps=50, seconds=None, handset_delay=0.3,
              pbx_delay=0.3, handset_count=None, pbx_count=None, pbx_peer=None, arrivals=False):
    """RTP both ways between the handset (port 41000) and the PBX media
    server (port 14000), as the SDP of the sipp scenarios says: one rtp-peer
    on each side. Returns (at_pbx, at_handset) processes for Site.result()."""
    if seconds is None:
        seconds = max(handset_delay, pbx_delay) + count / float(pps) + 0.6
    extra = ["--arrivals"] if arrivals else []
    at_handset = site.probe_bg(site.handset, "rtp-peer", "--bind", handset, "--port", "41000", "--peer", media,
                               "--peer-port", "14000", "--count", str(handset_count if handset_count is not None else count),
                               "--pps", str(pps), "--delay", str(handset_delay), "--seconds", str(seconds), *extra)
    at_pbx = site.probe_bg(site.internet, "rtp-peer", "--bind", media, "--port", "14000", "--peer", pbx_peer or handset,
                           "--peer-port", "41000", "--count", str(pbx_count if pbx_count is not None else count),
                           "--pps", str(pps), "--delay", str(pbx_delay), "--seconds", str(seconds), *extra)
    return at_pbx, at_handset


def rule_count(rules):
    return sum(len(v) for v in rules.values())


def wait_until(fn, timeout=5.0, step=0.1):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def voipguard_binary():
    path = os.environ.get("VOIPGUARD")
    if path and os.access(path, os.X_OK):
        return path
    for cand in (os.path.join(SRC, "build", "daemon", "voipguard"),):
        if os.access(cand, os.X_OK):
            return cand
    skip("voipguard binary not found (set VOIPGUARD=path)")


class Daemon:
    """voipguard run in the router namespace, its syslog captured for real:
    the daemon runs in a private mount namespace where /dev/log is a socket
    the test listens on (tests/e2e/with-devlog)."""

    def __init__(self, site, policy_path, extra=("--log-stderr",), label="daemon", listen_seconds=3600):
        self.site = site
        self.listen_seconds = listen_seconds
        self.policy = policy_path
        self.extra = list(extra)
        # VG_E2E_BACKEND=nftables|iptables runs the suite on that backend.
        self.backend = os.environ.get("VG_E2E_BACKEND", "")
        if self.backend:
            self.extra += ["--backend", self.backend]
        self.control = os.path.join(site.tmp, label + "-control.sock")
        self.log_socket = os.path.join(site.tmp, label + "-devlog.sock")
        self.syslog_file = os.path.join(site.tmp, label + "-syslog.txt")
        self.stderr_file = os.path.join(site.tmp, label + ".stderr")
        self.proc = None
        self.listener = None
        site.daemon = self
        site.daemons.append(self)

    def start(self, wait=True):
        if self.listener is None:
            self.listener = subprocess.Popen([PYTHON, PROBE, "syslog-listen", "--path", self.log_socket,
                                              "--seconds", str(self.listen_seconds), "--out", self.syslog_file],
                                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL, start_new_session=DETACH)
            self.site.procs.append(self.listener)
            for _ in range(50):
                if os.path.exists(self.log_socket):
                    break
                time.sleep(0.05)
        cmd = [os.path.join(HERE, "with-devlog"), self.log_socket,
               "ip", "netns", "exec", self.site.router, voipguard_binary(), "run", "--policy", self.policy,
               "--control", self.control] + self.extra
        err = open(self.stderr_file, "a")
        self.proc = subprocess.Popen(cmd, stdout=err, stderr=err, stdin=subprocess.DEVNULL, start_new_session=DETACH)
        err.close()
        self.site.procs.append(self.proc)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=15):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                if self.backend and "no usable rule backend" in self.stderr():
                    skip("the %s backend is not usable on this kernel: %s" % (self.backend, self.stderr().strip()))
                raise RuntimeError("voipguard exited with %d:\n%s" % (self.proc.returncode, self.stderr()))
            r = self.ctl("status", check=False)
            if r.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("voipguard did not become ready:\n" + self.stderr())

    def ctl(self, *args, check=True):
        return sh(voipguard_binary(), *args, "--socket", self.control, check=check)

    def status(self):
        return json.loads(self.ctl("status", "--json").stdout)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, check=True, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            if check:
                raise RuntimeError("voipguard did not stop on SIGTERM")
        return self.proc.returncode

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stderr(self):
        try:
            with open(self.stderr_file) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def syslog(self):
        try:
            with open(self.syslog_file, errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def log_lines(self, *needles):
        """Syslog lines (the RFC 3164 header cut off) containing every needle."""
        out = []
        for l in self.syslog():
            if all(n in l for n in needles):
                i = l.find("]: ")
                out.append(l[i + 3:] if i >= 0 else l)
        return out

    def event_times(self, *needles):
        """Wall-clock times (seconds since the epoch, ms resolution) of the
        --log-stderr lines containing every needle."""
        out = []
        for l in self.stderr().splitlines():
            if all(n in l for n in needles):
                try:
                    stamp, ms = l[:23].split(".")
                    out.append(time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) + int(ms) / 1000.0)
                except ValueError:
                    continue
        return out

    def event_time(self, *needles):
        """The time of the first such line, or None."""
        t = self.event_times(*needles)
        return t[0] if t else None

    def wait_log(self, needle, timeout=5):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            lines = [l for l in self.syslog() if needle in l]
            if lines:
                return lines
            time.sleep(0.1)
        return []


class Check:
    """Collects assertions so one run reports every failed figure."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.figures = {}

    def attach(self, site):
        """SITE prints its diagnostics when it closes after a failed check."""
        site.check = self
        return site

    def figure(self, key, value):
        self.figures[key] = value

    def that(self, cond, what):
        if not cond:
            self.failures.append(what)
        print(("ok   " if cond else "FAIL ") + what)

    def finish(self):
        print("figures: " + json.dumps(self.figures, sort_keys=True))
        if self.failures:
            print("%s: %d check(s) failed" % (self.name, len(self.failures)))
            sys.exit(1)
        print("%s: passed" % self.name)
        sys.exit(0)
