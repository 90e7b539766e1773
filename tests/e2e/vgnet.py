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

Peers: sipp (Site.sipp), Kamailio as the PBX (Kamailio), baresip as a
handset phone (Baresip), sipsak registrations (sipsak_register), tcpdump
(Capture), and sockets made inside a namespace by the test itself
(netns_socket, send_udp, TcpSend) for messages written byte by byte.

Everything a test starts is killed and every namespace deleted when the
Site is closed, also when the test fails (use it as a context manager).
Tests that cannot run (not root, no `ip netns`) exit with SKIP (77) and
say why, never with a silent pass.
"""
import ctypes
import json
import os
import re
import shutil
import signal
import socket
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
    name = "vg-probe-%d" % os.getpid()
    probe = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if probe.returncode != 0:
        skip("cannot create network namespaces: " + probe.stderr.strip())
    try:
        if os.environ.get("VG_E2E_BACKEND") == "nftables":
            require_nft_queue(name)
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def require_nft_queue(netns):
    """The nftables run of a scenario skips at once, before its namespaces
    are built, on a kernel that refuses the nft queue statement: the same
    check the daemon's backend probe makes first (a scratch table created
    and deleted in one transaction), so it never skips a scenario the
    daemon could run. The daemon's own refusal (Daemon.wait_ready) still
    skips for its other reasons."""
    if shutil.which("nft") is None:
        skip("the nftables backend is not usable: nft is not installed")
    table = "table inet vg_probe"
    r = subprocess.run(["ip", "netns", "exec", netns, "nft", "-f", "-"], capture_output=True, text=True,
                       input="%s {}\ndelete %s\n%s {\n\tchain c {\n\t\tmeta l4proto udp queue num 0 bypass\n"
                             "\t}\n}\ndelete %s\n" % (table, table, table, table), timeout=30)
    if r.returncode != 0:
        first = (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[0]
        skip("the nftables backend is not usable on this kernel: it refuses the nft queue statement (" + first + ")")


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
        self.peers = []  # other servers (Kamailio): stopped and asked for diagnostics like the daemons
        self.etc_dirs = []  # /etc/netns/NAME made by hosts_file(), removed by close()
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
        for peer in self.peers:
            peer.diagnostics()
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
        for peer in self.peers:
            peer.stop(check=False)
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
        for path in self.etc_dirs:
            shutil.rmtree(path, ignore_errors=True)
            try:
                os.rmdir(os.path.dirname(path))  # /etc/netns, when nothing else is there
            except OSError:
                pass
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

    def socket(self, name, family, kind, proto=0):
        """A socket in namespace NAME, made by this process (see netns_socket)."""
        return netns_socket(name, family, kind, proto)

    def hosts_file(self, name, names):
        """Host names (NAMES: {name: address}) for programs run in namespace
        NAME: `ip netns exec` mounts /etc/netns/NAME/hosts over /etc/hosts.
        For tools that take a host name but not an IPv6 literal."""
        path = os.path.join("/etc/netns", name)
        if os.path.exists(path):
            raise RuntimeError("%s exists already" % path)
        os.makedirs(path)
        self.etc_dirs.append(path)
        with open(os.path.join(path, "hosts"), "w") as f:
            f.write("127.0.0.1 localhost\n::1 localhost\n")
            for host, addr in sorted(names.items()):
                f.write("%s %s\n" % (addr, host))

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


def masked(number, keep_start=4, keep_end=2):
    """A number as the daemon shows it with logging.mask_numbers on (the
    default): digits after the first keep_start and before the last keep_end
    are 'x' (daemon/log_format.h)."""
    digits = sum(ch.isdigit() for ch in number)
    if digits <= keep_start + keep_end:
        return number
    out, n = [], 0
    for ch in number:
        if ch.isdigit():
            out.append("x" if keep_start <= n < digits - keep_end else ch)
            n += 1
        else:
            out.append(ch)
    return "".join(out)


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


def without_generation(lines):
    """Rule lines, sorted, with the generation of voipguard's iptables
    chains left out: a start or reload over existing rules writes
    NAME-fwd-2, NAME-lan-2 ... where NAME-fwd, NAME-lan ... were, and the
    other way round (iptables-nft's chains show in the nft listing too).
    Any chain: the pattern names none of them, so a new one is covered."""
    return sorted(re.sub(r"\b(voipguard-[a-z]+)-2\b", r"\1", l) for l in lines)


def daemon_thread_nice(control_path):
    """{thread name: nice value} of the voipguard process serving CONTROL_PATH
    ({} when none does)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            if not argv[0].endswith(b"voipguard") or control_path.encode() not in argv:
                continue
            threads = {}
            for tid in os.listdir("/proc/%s/task" % pid):
                with open("/proc/%s/task/%s/stat" % (pid, tid)) as f:
                    stat = f.read()
                threads[stat[stat.index("(") + 1:stat.rindex(")")]] = int(stat[stat.rindex(")") + 2:].split()[16])
            return threads
        except OSError:
            continue
    return {}


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

    def __init__(self, site, policy_path, extra=("--log-stderr",), label="daemon", listen_seconds=3600, prefix=()):
        self.site = site
        # Run before the binary inside the router namespace (e.g. `env
        # LD_PRELOAD=...` to give the daemon a fake wall clock).
        self.prefix = list(prefix)
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
               "ip", "netns", "exec", self.site.router] + self.prefix + [
               voipguard_binary(), "run", "--policy", self.policy, "--control", self.control] + self.extra
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


# -- sockets inside a namespace ------------------------------------------------
_CLONE_NEWNET = 0x40000000
_libc = None


def _setns(fd, what):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns(%s): %s" % (what, os.strerror(e)))


def netns_socket(name, family, kind, proto=0):
    """A socket created in network namespace NAME by this process: the
    thread enters the namespace, makes the socket and comes back. The socket
    stays in NAME for its whole life (bind, connect, send), so a test sends
    from a handset without a helper process per message."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open("/run/netns/" + name, os.O_RDONLY)
        try:
            _setns(target, name)
            try:
                return socket.socket(family, kind, proto)
            finally:
                _setns(own, "the test's own namespace")
        finally:
            os.close(target)
    finally:
        os.close(own)


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def host_of(addr):
    return "[%s]" % addr if ":" in addr else addr


# -- SIP messages and senders ----------------------------------------------------
def sip_request(method, user, dst, src, sport, transport="UDP", ua="voipguard-e2e", tag=None, body=b"",
                extra_headers=(), to_user=None):
    """One SIP request as bytes: METHOD sip:USER@DST from SRC:SPORT, with a
    fresh Call-ID, branch and tag (or TAG), Content-Length set."""
    n = "%d-%d" % (os.getpid(), next(_sip_counter))
    src_h, dst_h = host_of(src), host_of(dst)
    lines = ["%s sip:%s@%s SIP/2.0" % (method, user, dst_h),
             "Via: SIP/2.0/%s %s:%d;branch=z9hG4bK-vg%s;rport" % (transport.upper(), src_h, sport, n),
             "Max-Forwards: 70",
             "From: <sip:201@%s>;tag=%s" % (dst_h, tag or "vg" + n),
             "To: <sip:%s@%s>" % (to_user or user, dst_h),
             "Call-ID: vg-%s@%s" % (n, src),
             "CSeq: 1 %s" % method,
             "Contact: <sip:201@%s:%d;transport=%s>" % (src_h, sport, transport.lower()),
             "User-Agent: %s" % ua]
    lines += list(extra_headers)
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _counter():
    i = 0
    while True:
        i += 1
        yield i


_sip_counter = _counter()


def sdp_offer(addr, port=41000):
    ip = "IP6" if ":" in addr else "IP4"
    return ("v=0\r\no=- 1 1 IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\n"
            "a=rtpmap:0 PCMU/8000\r\n" % (ip, addr, ip, addr, port)).encode()


def sip_invite(number, src, sport, dst=PBX, transport="UDP", ua="voipguard-e2e"):
    return sip_request("INVITE", number, dst, src, sport, transport, ua=ua, body=sdp_offer(src))


def start_lines(data):
    """The start lines of the SIP messages in DATA (bytes read from a socket)."""
    out = []
    for m in re.finditer(rb"(?:^|\r\n\r\n)(SIP/2\.0 [^\r\n]*)", data):
        out.append(m.group(1).decode(errors="replace"))
    return out


def send_udp(site, ns, src, dst, port, datagrams, pause=0.05, listen=0.5, sport=0):
    """Sends DATAGRAMS (bytes each) from SRC (any port, or SPORT) to DST:PORT
    in namespace NS, PAUSE seconds apart, then collects replies for LISTEN
    seconds. Returns {"sent", "replies": [start lines], "error"}."""
    s = site.socket(ns, family_of(dst), socket.SOCK_DGRAM)
    out = {"sent": 0, "replies": [], "error": None}
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, sport))
        for i, d in enumerate(datagrams):
            if i:
                time.sleep(pause)
            try:
                s.sendto(d, (dst, port))
                out["sent"] += 1
            except OSError as e:
                out["error"] = str(e)
        end = time.monotonic() + listen
        s.settimeout(0.05)
        while time.monotonic() < end:
            try:
                data = s.recv(65535)
            except socket.timeout:
                continue
            except OSError as e:  # ICMP unreachable surfaces here on a later call
                out["error"] = str(e)
                continue
            out["replies"] += start_lines(data) or [data[:40].decode(errors="replace")]
    finally:
        s.close()
    return out


class TcpSend:
    """One TCP connection from SRC to DST:PORT in namespace NS: every segment
    written with one send() (TCP_NODELAY, PAUSE seconds apart), replies
    collected. Connection resets and refused connections are results, not
    errors: voipguard cuts the streams it refuses."""

    def __init__(self, site, ns, src, dst, port, connect_timeout=3.0):
        self.sock = site.socket(ns, family_of(dst), socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.bind((src, 0))
        self.sock.settimeout(connect_timeout)
        self.sent = 0
        self.received = b""
        self.error = None
        self.connected = False
        try:
            self.sock.connect((dst, port))
            self.connected = True
        except OSError as e:
            self.error = "connect: %s" % e
        self.sock.settimeout(0)

    def send(self, segments, pause=0.1):
        for i, seg in enumerate(segments):
            if not self.connected or self.error:
                break
            if i:
                time.sleep(pause)
                self.read()
            try:
                self.sock.sendall(seg)
                self.sent += 1
            except BlockingIOError:
                self.sock.settimeout(2.0)
                try:
                    self.sock.sendall(seg)
                    self.sent += 1
                except OSError as e:
                    self.error = "send: %s" % e
                self.sock.settimeout(0)
            except OSError as e:
                self.error = "send: %s" % e
        return self

    def read(self):
        while self.connected:
            try:
                data = self.sock.recv(65535)
            except (BlockingIOError, socket.timeout):
                return
            except OSError as e:
                self.error = self.error or "recv: %s" % e
                return
            if not data:
                return
            self.received += data

    def close(self):
        self.read()
        try:
            self.sock.close()
        except OSError:
            pass
        return {"connected": self.connected, "sent": self.sent, "replies": start_lines(self.received),
                "error": self.error}


def send_tcp(site, ns, src, dst, port, segments, pause=0.1, hold=0.5):
    """One TCP connection: SEGMENTS sent (see TcpSend), replies read for
    HOLD seconds, closed. The result as TcpSend.close()."""
    t = TcpSend(site, ns, src, dst, port).send(segments, pause)
    end = time.monotonic() + hold
    while time.monotonic() < end:
        t.read()
        time.sleep(0.05)
    return t.close()


def listening(site, ns, proto, addr, port):
    """Whether something in namespace NS listens on ADDR:PORT (proto "udp" or "tcp")."""
    r = site.run(ns, "ss", "-Hln", "-u" if proto == "udp" else "-t", check=False)
    want = "%s:%d" % (host_of(addr), port)
    return any(want in line.split() for line in r.stdout.splitlines())


# -- Kamailio as the PBX -----------------------------------------------------------
KAMAILIO_USERS = {"201": "vg-pass-201", "202": "vg-pass-202"}
KAMAILIO_REALM = "vgpbx"

_KAMAILIO_CFG = r'''#!KAMAILIO
# The Cloud PBX of a voipguard end-to-end test (written by tests/e2e/vgnet.py).
# A registrar with digest authentication (passwords in a hash table, no
# database, contacts in memory) and a log line for every request it takes:
#   VGPBX <KIND> ruser=[<user>] src=[<source address>] proto=[<transport>] cid=[<Call-ID>]
#         uri=[<the URI(s) as sent>]      (all on one line)
# KIND: REQUEST (every request, user of the Request-URI), INVITE (Request-URI
# user, answered 480), REFER (the Refer-To user of any request that has one;
# a REFER is answered 202), REPLY (the user of
# a reply's Contact: a 3xx redirects there), REGISTERED / REGISTER-DENIED.
debug=2
log_stderror=yes
fork=yes
children=2
tcp_children=2
auto_aliases=no
dns=no
rev_dns=no
use_dns_cache=off
dns_try_ipv6=no
tcp_accept_no_cl=yes
tcp_connection_lifetime=60
server_header="Server: vgpbx"
user_agent_header="User-Agent: vgpbx"
@LISTEN@

loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "xlog.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "htable.so"
loadmodule "ctl.so"

modparam("usrloc", "db_mode", 0)
modparam("htable", "htable", "users=>size=4;")
modparam("ctl", "binrpc", "unix:@CTL@")

event_route[htable:mod-init] {
@USERS@
}

request_route {
    xlog("L_NOTICE", "VGPBX REQUEST method=[$rm] ruser=[$rU] @AT@ uri=[$ru]\n");
    if (is_present_hf("Refer-To")) {
        xlog("L_NOTICE", "VGPBX REFER ruser=[$(rt{uri.user})] @AT@ uri=[$(hdr(Refer-To)[*])]\n");
    }
    if (is_method("ACK")) {
        exit;
    }
    if (is_method("REGISTER")) {
        route(REGISTRAR);
        exit;
    }
    if (is_method("INVITE")) {
        xlog("L_NOTICE", "VGPBX INVITE ruser=[$rU] @AT@ uri=[$ru]\n");
        sl_send_reply("@INVITE_CODE@", "@INVITE_REASON@");
        exit;
    }
    if (is_method("REFER")) {
        sl_send_reply("202", "Accepted");
        exit;
    }
    if (is_method("OPTIONS|BYE|CANCEL|NOTIFY|INFO|UPDATE|MESSAGE")) {
        sl_send_reply("200", "OK");
        exit;
    }
    sl_send_reply("405", "Method Not Allowed");
}

route[REGISTRAR] {
    if (!is_present_hf("Authorization")) {
        xlog("L_NOTICE", "VGPBX REGISTER-CHALLENGE ruser=[$tU] src=[$si] proto=[$proto]\n");
        www_challenge("@REALM@", "0");
        exit;
    }
    if ($sht(users=>$au) == $null) {
        xlog("L_NOTICE", "VGPBX REGISTER-DENIED ruser=[$tU] src=[$si] proto=[$proto] why=[unknown user]\n");
        sl_send_reply("403", "Forbidden");
        exit;
    }
    pv_www_authenticate("@REALM@", "$sht(users=>$au)", "0");
    $var(rc) = $rc;
    if ($var(rc) == -4 || $var(rc) == -6) {
        www_challenge("@REALM@", "0");
        exit;
    }
    if ($var(rc) < 0) {
        xlog("L_NOTICE", "VGPBX REGISTER-DENIED ruser=[$tU] src=[$si] proto=[$proto] why=[auth $var(rc)]\n");
        sl_send_reply("403", "Forbidden");
        exit;
    }
    if ($au != $tU) {
        xlog("L_NOTICE", "VGPBX REGISTER-DENIED ruser=[$tU] src=[$si] proto=[$proto] why=[user $au]\n");
        sl_send_reply("403", "Forbidden");
        exit;
    }
    consume_credentials();
    if (!save("location")) {
        sl_reply_error();
        exit;
    }
    xlog("L_NOTICE", "VGPBX REGISTERED ruser=[$tU] src=[$si] proto=[$proto]\n");
}

reply_route {
    xlog("L_NOTICE", "VGPBX REPLY status=[$rs] ruser=[$(ct{tobody.user})] @AT@ uri=[$(hdr(Contact)[*])]\n");
    drop;
}
'''

_VGPBX_LINE = re.compile(r"VGPBX (\S+) (?:(?:method|status)=\[(.*?)\] )?ruser=\[(.*?)\] src=\[([^\]]*)\] "
                         r"proto=\[([^\]]*)\](?: cid=\[(.*?)\])?(?: uri=\[(.*)\])?")


class Kamailio:
    """Kamailio (Debian's `kamailio`) as the Cloud PBX in the internet
    namespace: listens on ADDRESSES:PORT over UDP and TCP, with a config
    written to the test's temp dir (never a system config), in the
    foreground, logging to stderr, with its own runtime dir, pid file and
    control socket, so several can run at once. USERS: {user: password}
    of the registrar."""

    def __init__(self, site, addresses=(PBX, PBX6), port=5060, users=None, label="kamailio",
                 invite_reply=("480", "Temporarily Unavailable"), extra_listen=()):
        self.site = site
        self.addresses = list(addresses)
        self.port = port
        # (proto, address, port) of every listening socket: ADDRESSES:PORT over
        # UDP and TCP, then EXTRA_LISTEN (other ports a test sends SIP to).
        self.listen = []
        for sock in [(p, a, port) for a in self.addresses for p in ("udp", "tcp")] + list(extra_listen):
            if sock not in self.listen:
                self.listen.append(sock)
        self.users = dict(KAMAILIO_USERS if users is None else users)
        self.label = label
        self.invite_reply = invite_reply
        self.dir = os.path.join(site.tmp, label)
        os.makedirs(os.path.join(self.dir, "run"), exist_ok=True)
        self.cfg = os.path.join(self.dir, "kamailio.cfg")
        self.pidfile = os.path.join(self.dir, "run", "kamailio.pid")
        self.ctl_socket = os.path.join(self.dir, "run", "ctl.sock")
        self.stderr_file = os.path.join(self.dir, "kamailio.stderr")
        self.proc = None
        site.peers.append(self)

    @staticmethod
    def binary():
        for cand in (shutil.which("kamailio"), "/usr/sbin/kamailio"):
            if cand and os.access(cand, os.X_OK):
                return cand
        return None

    @staticmethod
    def require():
        if Kamailio.binary() is None:
            skip("kamailio is not installed (packaging/install-deps installs it)")

    def config(self):
        for u, p in self.users.items():
            if not re.fullmatch(r"[A-Za-z0-9._-]+", u) or not re.fullmatch(r"[A-Za-z0-9._-]+", p):
                raise ValueError("Kamailio user/password must be plain tokens: %r" % ((u, p),))
        listen = "\n".join("listen=%s:%s:%d" % (proto, host_of(a), port) for proto, a, port in self.listen)
        users = "\n".join('    $sht(users=>%s) = "%s";' % (u, p) for u, p in sorted(self.users.items()))
        text = _KAMAILIO_CFG
        for key, value in (("@AT@", "src=[$si] proto=[$proto] cid=[$ci]"),
                           ("@LISTEN@", listen), ("@CTL@", self.ctl_socket), ("@USERS@", users),
                           ("@REALM@", KAMAILIO_REALM), ("@INVITE_CODE@", self.invite_reply[0]),
                           ("@INVITE_REASON@", self.invite_reply[1])):
            text = text.replace(key, value)
        return text

    def start(self, wait=True):
        with open(self.cfg, "w") as f:
            f.write(self.config())
        check = sh(self.binary(), "-c", "-f", self.cfg, check=False)
        if check.returncode != 0:
            raise RuntimeError("kamailio rejected its config %s:\n%s%s" % (self.cfg, check.stdout, check.stderr))
        cmd = [self.binary(), "-f", self.cfg, "-DD", "-E", "-m", "32", "-M", "8", "-P", self.pidfile,
               "-Y", os.path.join(self.dir, "run"), "-w", self.dir]
        err = open(self.stderr_file, "a")
        self.proc = subprocess.Popen(self.site.ns(self.site.internet, *cmd), stdout=err, stderr=err,
                                     stdin=subprocess.DEVNULL, start_new_session=DETACH)
        err.close()
        self.site.procs.append(self.proc)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=20):
        """Until every listening socket is open and an OPTIONS to each
        address (UDP, from the internet namespace) gets 200."""
        end = time.monotonic() + timeout
        missing = []
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("kamailio exited with %d:\n%s" % (self.proc.returncode, self.stderr()[-4000:]))
            missing = [sock for sock in self.listen if not listening(self.site, self.site.internet, *sock)]
            if not missing:
                break
            time.sleep(0.1)
        if missing:
            raise RuntimeError("kamailio does not listen on %s after %ds:\n%s" % (missing, timeout,
                                                                                 self.stderr()[-4000:]))
        for a in self.addresses:
            while True:
                src = "2001:db8:ffff::2" if ":" in a else "100.64.0.2"
                r = send_udp(self.site, self.site.internet, src, a, self.port,
                             [sip_request("OPTIONS", "ping", a, src, 5099)], listen=0.5)
                if any(l.startswith("SIP/2.0 200") for l in r["replies"]):
                    break
                if time.monotonic() >= end:
                    raise RuntimeError("kamailio does not answer OPTIONS on %s: %s\n%s"
                                       % (a, r, self.stderr()[-4000:]))
        return self

    def running(self):
        """Whether it is still up (it has not died during the scenario)."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, check=True, timeout=30):
        # 30 s: under the full suite's load on two cores one test saw it take
        # over 10 s (all its children had logged the signal). Two CI runs
        # saw Kamailio hang for good in its own shutdown: the main process
        # waiting for its children, children that had logged "signal 15
        # received" waiting on a futex. Kamailio 5.6 handles SIGTERM in a
        # child with code that is not async-signal-safe (sig_usr in
        # src/main.c logs from the handler), so a child interrupted at the
        # wrong moment can wait for a lock no one releases; which lock it
        # was is not known. That is the PBX simulator's race, not the
        # scenario's outcome: the scenarios check that Kamailio ran through
        # (running()), and here a hung one is killed and reported with where
        # each process waited.
        left = []
        pid = str(self.proc.pid) if self.proc else ""

        def look_and_kill_children():
            r = sh("ps", "-o", "pid,ppid,stat,wchan:32,args", "--pid", pid, "--ppid", pid, check=False).stdout
            left.append(r)
            for line in r.splitlines()[1:]:
                child = line.split()[0]
                if child.isdigit() and child != pid:
                    try:
                        os.kill(int(child), signal.SIGKILL)
                    except ProcessLookupError:
                        pass

        code, killed = stop_process(self.proc, timeout, before_kill=look_and_kill_children)
        if killed and check:
            print("note: kamailio did not stop within %d s of SIGTERM and was killed; its processes then:\n%s"
                  % (timeout, "".join(left)), flush=True)
        return code

    def stderr(self):
        return read_text(self.stderr_file)

    def diagnostics(self):
        print_tail(self.stderr_file, self.stderr(), 60)

    def events(self, kind=None):
        """Its VGPBX log lines as dicts {kind, method/status, user, src, proto}, in order."""
        out = []
        for line in self.stderr().splitlines():
            m = _VGPBX_LINE.search(line)
            if not m:
                continue
            e = {"kind": m.group(1), "detail": m.group(2), "user": m.group(3), "src": m.group(4),
                 "proto": m.group(5), "call_id": m.group(6), "uri": m.group(7)}
            if kind is None or e["kind"] == kind:
                out.append(e)
        return out

    def logged_invites(self):
        """Request-URI users of the INVITEs it took, in order, whatever the
        case of the method (every request has a REQUEST line)."""
        return [e["user"] for e in self.events("REQUEST") if e["detail"].upper() == "INVITE"]

    def logged_users(self):
        """Every number that reached it, as a set: Request-URI users of
        INVITEs, Refer-To users of REFERs, Contact users of 3xx replies (a
        redirect there)."""
        users = set(self.logged_invites())
        users.update(e["user"] for e in self.events() if e["kind"] == "REFER"
                     or (e["kind"] == "REPLY" and e["detail"].startswith("3")))
        users.discard("<null>")
        return users

    def targets(self):
        """Every destination that reached it, as (kind, user, URI text, Call-ID):
        INVITEs (whatever the case of the method: REQUEST lines), Refer-To
        headers, Contacts of 3xx replies. The URI text is as the message
        carried it, for numbers that Kamailio's user part does not show
        whole (a password in the user info, several Refer-To headers)."""
        out = []
        for e in self.events():
            if (e["kind"] == "REQUEST" and e["detail"].upper() == "INVITE") or e["kind"] == "REFER" \
                    or (e["kind"] == "REPLY" and e["detail"].startswith("3")):
                out.append((e["kind"] if e["kind"] != "REQUEST" else "INVITE", e["user"], e["uri"] or "",
                            e["call_id"] or ""))
        return out

    def wait_events(self, fn, timeout=5.0):
        return wait_until(lambda: fn(self.events()), timeout)

    def contacts(self, user):
        """The contacts the registrar holds for USER (kamcmd ul.lookup)."""
        kamcmd = shutil.which("kamcmd") or "/usr/sbin/kamcmd"
        # "s:" keeps kamcmd from sending a numeric user as an integer.
        r = sh(kamcmd, "-s", "unix:" + self.ctl_socket, "ul.lookup", "location", "s:" + user, check=False)
        return re.findall(r"Address:\s*(\S+)", r.stdout)


def sipsak_register(site, ns, user, password, src, sport, pbx=PBX, transport="udp", expires=600, timeout=20):
    """A REGISTER with digest authentication by sipsak (Debian's `sipsak`),
    the contact sip:USER@SRC:SPORT; returns (exit code, output). sipsak
    exits 0 only when the registrar answered the authenticated REGISTER 200."""
    cmd = ["sipsak", "-U", "-i", "-C", "sip:%s@%s:%d" % (user, host_of(src), sport), "-x", str(expires),
           "-s", "sip:%s@%s" % (user, host_of(pbx)), "-a", password, "-H", src, "--local-ip", src,
           "-l", str(sport), "--transport", transport, "-vv"]
    try:
        r = site.run(ns, *cmd, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -9, "sipsak did not finish in %ds" % timeout
    return r.returncode, r.stdout + r.stderr


# -- peer processes (Kamailio, baresip, rtpengine) ------------------------------------
def stop_process(proc, timeout, before_kill=None):
    """SIGTERM to PROC (a Popen or None), SIGKILL after TIMEOUT seconds
    (BEFORE_KILL, when given, is called first: a look at what is stuck);
    (its exit code, whether it had to be killed). One that has exited
    already keeps its code; None stands for 0."""
    if proc is None or proc.poll() is not None:
        return (proc.returncode if proc else 0), False
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
        return proc.returncode, False
    except subprocess.TimeoutExpired:
        if before_kill:
            before_kill()
        proc.kill()
        proc.wait()
        return proc.returncode, True


def read_text(path):
    """The text of PATH ("" when it does not exist)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def print_tail(path, text, lines):
    """What diagnostics print of a peer's log: its last LINES lines."""
    got = text.splitlines()
    print("--- %s (last %d lines)" % (path, min(lines, len(got))))
    print("\n".join(got[-lines:]))


class PeerProcess:
    """What the site's peer programs (baresip, rtpengine) share: one process
    (self.proc) whose output goes to self.out_file, stopped by SIGTERM (killed
    after STOP_TIMEOUT seconds), the last DIAGNOSTIC_LINES lines of that file
    printed after a failure (Site.diagnostics)."""
    STOP_TIMEOUT = 5
    DIAGNOSTIC_LINES = 30
    proc = None
    out_file = None

    def stop(self, check=True, timeout=None):
        return stop_process(self.proc, self.STOP_TIMEOUT if timeout is None else timeout)[0]

    def output(self):
        return read_text(self.out_file)

    def diagnostics(self):
        print_tail(self.out_file, self.output(), self.DIAGNOSTIC_LINES)


# -- baresip as a handset ------------------------------------------------------------
class Baresip(PeerProcess):
    """baresip (Debian's `baresip-core`), headless, as the SIP phone of a
    handset address: listens on ADDRESS:PORT (UDP and TCP), answers OPTIONS,
    rings on INVITE; no audio device (files). Config in the test's temp dir."""

    def __init__(self, site, address=HANDSET, port=5060, user="201", label=None):
        self.site = site
        self.address = address
        self.port = port
        self.user = user
        self.label = label or "baresip-" + address.replace(":", "_")
        self.dir = os.path.join(site.tmp, self.label)
        os.makedirs(self.dir, exist_ok=True)
        self.out_file = os.path.join(self.dir, "baresip.out")
        self.proc = None
        site.peers.append(self)

    @staticmethod
    def require():
        if shutil.which("baresip") is None:
            skip("baresip is not installed (packaging/install-deps installs baresip-core)")

    def start(self, wait=True):
        modules = "/usr/lib/baresip/modules"
        for cand in ("/usr/lib/baresip/modules", "/usr/local/lib/baresip/modules"):
            if os.path.isdir(cand):
                modules = cand
                break
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write("poll_method\tepoll\n"
                    "sip_listen\t%s:%d\n"
                    "sip_transports\tudp,tcp\n"
                    "audio_player\taufile,/dev/null\n"
                    "audio_source\tausine,440\n"
                    "audio_alert\taufile,/dev/null\n"
                    "module_path\t%s\n"
                    "module\tg711.so\nmodule\taufile.so\nmodule\tausine.so\n"
                    "module_app\taccount.so\nmodule_app\tmenu.so\n" % (host_of(self.address), self.port, modules))
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write("<sip:%s@%s>;regint=0\n" % (self.user, host_of(self.address)))
        out = open(self.out_file, "a")
        self.proc = subprocess.Popen(self.site.ns(self.site.handset, "baresip", "-f", self.dir), stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=DETACH)
        out.close()
        self.site.procs.append(self.proc)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("baresip exited with %d:\n%s" % (self.proc.returncode, self.output()[-3000:]))
            if all(listening(self.site, self.site.handset, p, self.address, self.port) for p in ("udp", "tcp")):
                return self
            time.sleep(0.1)
        raise RuntimeError("baresip does not listen on %s:%d:\n%s" % (self.address, self.port,
                                                                     self.output()[-3000:]))


# -- packet capture --------------------------------------------------------------------
class Capture:
    """tcpdump on an interface of a namespace, every packet to a pcap file in
    the temp dir; count() reads it back with a filter."""

    def __init__(self, site, ns, dev, label, bpf=""):
        self.site = site
        self.path = os.path.join(site.tmp, label + ".pcap")
        self.err = os.path.join(site.tmp, label + ".tcpdump")
        err = open(self.err, "w")
        cmd = ["tcpdump", "-i", dev, "-n", "-U", "-s", "256", "-w", self.path] + ([bpf] if bpf else [])
        self.proc = subprocess.Popen(site.ns(ns, *cmd), stdout=subprocess.DEVNULL, stderr=err,
                                     stdin=subprocess.DEVNULL)
        err.close()
        site.procs.append(self.proc)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            with open(self.err, errors="replace") as f:
                if "listening on" in f.read():
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("tcpdump did not start on %s/%s:\n%s" % (ns, dev, open(self.err).read()))

    @staticmethod
    def require():
        if shutil.which("tcpdump") is None:
            skip("tcpdump is not installed (packaging/install-deps installs it)")

    def stop(self):
        if self.proc.poll() is None:
            time.sleep(0.3)  # let the last packets be written
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self

    def lines(self, bpf=""):
        r = sh("tcpdump", "-r", self.path, "-n", "-q", *([bpf] if bpf else []), check=False)
        return [l for l in r.stdout.splitlines() if l.strip()]

    def count(self, bpf=""):
        return len(self.lines(bpf))


def number_reached(number, user, uri):
    """Whether NUMBER (a user part exactly as the bytes carried it) is the
    USER Kamailio logged or stands as a user part in the logged URI text."""
    if not number:
        return False
    if number == user:
        return True
    return re.search(r"(?:^|[:<,\s])" + re.escape(number) + r"(?=$|[@;?>,\s])", uri or "") is not None
