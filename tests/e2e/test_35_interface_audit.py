#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 35: the interface audit (`voipguard audit`) from the router
running voipguard with its kernel rules. Handset 192.168.20.10 runs a
telnet-like server on 23 (IAC negotiation, then a login prompt), an HTTP
server on 80 sending `Server: Yealink embed httpd`, an SSH-like banner on
5000 (the policy's handsets.audit_ports), nothing on 22 and 443 (closed),
and drops tcp/8080 silently (filtered); 192.168.20.11 runs nothing (all
closed); fd00:20::10 answers HTTP on 80 (IPv6). The audit reports exactly that, in text and JSON, logs
VG_HANDSET_OPEN_INTERFACE per open port, `handsets --json` shows the open
ports, and nothing was probed before the command (the servers counted no
connection).

With --handsets N (not part of ctest) it instead puts N handsets on the
LAN (every fifth one dropping all TCP, the others answering on 23 and 80)
and prints how long `voipguard audit` took: the figure for the README."""
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgnet as v  # noqa: E402

TELNET_HELLO = b"\xff\xfd\x18\xff\xfd\x20\xff\xfb\x01\xff\xfb\x03\r\nYealink login: "
HTTP_ANSWER = b"HTTP/1.0 200 OK\r\nServer: Yealink embed httpd\r\nContent-Length: 0\r\n\r\n"
SSH_HELLO = b"SSH-2.0-dropbear_2019.78\r\n"
POLICY_PORTS = "  audit_ports: [5000]\n"


class Listener:
    """A TCP server in the handset namespace: greets each client (or answers
    its first bytes, for HTTP), counts them, closes."""

    def __init__(self, site, addr, port, greeting=b"", answer=b""):
        self.sock = site.socket(site.handset, v.family_of(addr), socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.greeting, self.answer = greeting, answer
        self.clients = []
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            try:
                c, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.clients.append(peer[0])
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            c.settimeout(5)
            if self.greeting:
                c.sendall(self.greeting)
            if self.answer:
                c.recv(1024)
                c.sendall(self.answer)
            # Let the prober read and close first (a telnet server waits).
            c.recv(1024)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def register(s, addr, ua):
    pbx = v.PBX6 if ":" in addr else v.PBX
    req = v.sip_request("REGISTER", "201", pbx, addr, 5060, ua=ua)
    return v.send_udp(s, s.handset, addr, pbx, 5060, [req], listen=0.1, sport=5060)


def audit(d, *args, timeout=150):
    return v.sh(v.voipguard_binary(), "audit", *args, "--socket", d.control, check=False, timeout=timeout)


def exact_check(c, s, d):
    listeners = [Listener(s, v.HANDSET, 23, greeting=TELNET_HELLO),
                 Listener(s, v.HANDSET, 80, answer=HTTP_ANSWER),
                 Listener(s, v.HANDSET, 5000, greeting=SSH_HELLO),
                 Listener(s, v.HANDSET6, 80, answer=HTTP_ANSWER)]
    s.run(s.handset, "iptables", "-A", "INPUT", "-d", v.HANDSET, "-p", "tcp", "--dport", "8080", "-j", "DROP")

    c.that("vg-audit" not in v.daemon_thread_nice(d.control), "no audit thread before the first audit")
    empty = audit(d, "--json")
    c.that(empty.returncode == 0 and v.json.loads(empty.stdout)["audit"]["handsets"] == 0,
           "audit with an empty inventory probes nothing (exit %d: %s)" % (empty.returncode, empty.stdout.strip()))
    register(s, v.HANDSET, "Yealink SIP-T46S 66.86.0.15")
    register(s, v.HANDSET2, "Grandstream GXP2170 1.0.11.3")
    register(s, v.HANDSET6, "snom D785 10.1.159.12")
    c.that(v.wait_until(lambda: len(v.json.loads(d.ctl("handsets", "--json").stdout)["handsets"]) == 3, 5),
           "the three handsets are in the inventory")
    v.time.sleep(1.0)
    c.that(all(not l.clients for l in listeners), "nothing was probed before the command: the servers saw no client")

    nice = v.daemon_thread_nice(d.control)
    c.figure("thread_nice", nice)
    c.that(nice.get("vg-audit") == nice.get("vg-kernel") and nice.get("vg-audit", 0) >= nice.get("voipguard", 0) + 19 - 10,
           "the audit thread runs at the workers' low priority, far below the loop (%s)" % nice)
    r = audit(d, "--json")
    c.that(r.returncode == 0, "voipguard audit --json exits 0 (%d: %s)" % (r.returncode, r.stderr.strip()))
    out = v.json.loads(r.stdout)
    c.figure("audit_summary", out["audit"])
    got = {(x["address"], x["port"]): (x["state"], x["banner"]) for x in out["results"]}
    c.figure("audit_results", {"%s:%d" % k: list(val) for k, val in sorted(got.items())})
    want = {
        (v.HANDSET, 23): ("open", "telnet negotiation, Yealink login:"),
        (v.HANDSET, 22): ("closed", ""),
        (v.HANDSET, 80): ("open", "Yealink embed httpd"),
        (v.HANDSET, 8080): ("filtered", ""),
        (v.HANDSET, 443): ("closed", ""),
        (v.HANDSET, 5000): ("open", "SSH-2.0-dropbear_2019.78"),
    }
    for port in (23, 22, 80, 8080, 443, 5000):
        want[(v.HANDSET2, port)] = ("closed", "")
        want[(v.HANDSET6, port)] = ("open", "Yealink embed httpd") if port == 80 else ("closed", "")
    for key in sorted(want):
        c.that(got.get(key) == want[key], "%s port %d: %s (got %s)" % (key[0], key[1], want[key], got.get(key)))
    c.that(len(got) == len(want), "exactly the 18 probes reported (%d)" % len(got))
    c.that(out["audit"]["complete"] and out["audit"]["not_probed"] == 0, "the audit completed within its bound")
    uas = {x["address"]: x["user_agent"] for x in out["results"]}
    c.that(uas.get(v.HANDSET) == "Yealink SIP-T46S 66.86.0.15", "the report names the handset's User-Agent")
    c.that(sorted(set(listeners[0].clients)) == ["192.168.20.1"],
           "the probes came from the router's own LAN address (%s)" % listeners[0].clients)

    text = audit(d)
    c.figure("audit_text", text.stdout)
    c.that(text.returncode == 0 and "Yealink embed httpd" in text.stdout and "filtered" in text.stdout
           and "4 open, 13 closed, 1 filtered, 0 not probed" in text.stdout,
           "voipguard audit prints the table and its summary")

    v.wait_until(lambda: len(d.log_lines("VG_HANDSET_OPEN_INTERFACE")) >= 8, 5)
    lines = d.log_lines("VG_HANDSET_OPEN_INTERFACE")
    c.figure("open_interface_lines", lines)
    first_run = [l for l in lines if "handset=%s " % v.HANDSET in l][:3]
    c.that(any("dst_port=80 " in l and 'detail="Yealink embed httpd"' in l and "rule=http" in l for l in first_run),
           "VG_HANDSET_OPEN_INTERFACE for port 80 with the Server banner")
    c.that(any("dst_port=23 " in l and "rule=telnet" in l for l in first_run), "VG_HANDSET_OPEN_INTERFACE for 23")
    c.that(any("dst_port=5000 " in l and "rule=tcp" in l for l in first_run), "VG_HANDSET_OPEN_INTERFACE for 5000")
    c.that(any("handset=%s dst_port=80 " % v.HANDSET6 in l for l in lines), "VG_HANDSET_OPEN_INTERFACE for IPv6")
    c.that(len(lines) == 8 and not any("handset=%s " % v.HANDSET2 in l for l in lines),
           "one line per open port and audit (4 x 2 runs), none for the clean handset")

    hs = {h["address"]: h for h in v.json.loads(d.ctl("handsets", "--json").stdout)["handsets"]}
    c.figure("handsets_open_ports", {a: h.get("open_ports") for a, h in hs.items()})
    c.that(hs[v.HANDSET].get("open_ports") == [23, 80, 5000] and hs[v.HANDSET]["interfaces_audited"] > 0,
           "handsets --json stores the open ports of %s" % v.HANDSET)
    c.that(hs[v.HANDSET2].get("open_ports") == [] and hs[v.HANDSET2]["interfaces_audited"] > 0,
           "handsets --json: %s audited, nothing open" % v.HANDSET2)
    c.that(hs[v.HANDSET6].get("open_ports") == [80], "handsets --json: %s has 80 open" % v.HANDSET6)
    c.that("OPEN PORTS 23,80,5000" in d.ctl("handsets").stdout, "voipguard handsets shows OPEN PORTS")

    # Two clients at once: the second joins the audit running, so the
    # handsets are probed once and both get the same answer.
    before = len(listeners[1].clients)
    both = [v.subprocess.Popen([v.voipguard_binary(), "audit", "--json", "--socket", d.control],
                               stdout=v.subprocess.PIPE, stderr=v.subprocess.PIPE, text=True) for _ in range(2)]
    # Meanwhile `status` says an audit runs (the filtered ports keep it
    # going for 1.5 s at least).
    running = v.wait_until(lambda: (d.status().get("interface_audit") or {}).get("running"), 10, 0.05)
    answers = [p.communicate(timeout=150) for p in both]
    results = [v.json.loads(out)["results"] if p.returncode == 0 else None for p, (out, _) in zip(both, answers)]
    after = d.status().get("interface_audit")
    c.figure("status_interface_audit_after", after)
    c.that(bool(running) and after == {"running": False, "running_s": 0},
           "status shows the audit while it runs, and not after (%s)" % after)
    c.figure("joined_audit_http_clients", len(listeners[1].clients) - before)
    c.that(results[0] is not None and results[0] == results[1], "two audits at once get the same answer")
    c.that(len(listeners[1].clients) - before == 1, "two audits at once probe port 80 once (%d)"
           % (len(listeners[1].clients) - before))

    # SIGTERM during an audit: it is cancelled, the daemon stops cleanly and
    # the waiting client is told it got no answer.
    late = v.subprocess.Popen([v.voipguard_binary(), "audit", "--socket", d.control],
                              stdout=v.subprocess.PIPE, stderr=v.subprocess.PIPE, text=True)
    v.wait_until(lambda: len(listeners[1].clients) > before + 1 or late.poll() is not None, 10, 0.01)
    t0 = v.time.monotonic()
    c.that(d.stop() == 0, "voipguard stopped cleanly during an audit")
    c.figure("stop_during_audit_seconds", round(v.time.monotonic() - t0, 2))
    _, err = late.communicate(timeout=30)
    c.figure("late_client", [late.returncode, err.strip()])
    c.that(late.returncode == 1, "the client of the cancelled audit exits 1 (%s)" % err.strip())
    for l in listeners:
        l.close()


def scale_figure(c, s, d, n):
    """N handsets from 192.168.20.100 up: every fifth drops all TCP."""
    addrs = ["192.168.20.%d" % (100 + i) for i in range(n)]
    for a in addrs:
        s.run(s.handset, "ip", "addr", "add", a + "/24", "dev", "vgh0")
    for i, a in enumerate(addrs):
        if i % 5 == 0:
            s.run(s.handset, "iptables", "-A", "INPUT", "-d", a, "-p", "tcp", "-j", "DROP")
    listeners = [Listener(s, "0.0.0.0", 23, greeting=TELNET_HELLO), Listener(s, "0.0.0.0", 80, answer=HTTP_ANSWER)]
    for a in addrs:
        register(s, a, "Yealink SIP-T46S 66.86.0.15")
    v.wait_until(lambda: len(v.json.loads(d.ctl("handsets", "--json").stdout)["handsets"]) >= n, 10)
    t0 = v.time.monotonic()
    r = audit(d, "--json")
    took = v.time.monotonic() - t0
    out = v.json.loads(r.stdout)
    c.figure("scale_handsets", n)
    c.figure("scale_seconds", round(took, 2))
    c.figure("scale_summary", out["audit"])
    c.that(r.returncode == 0 and out["audit"]["handsets"] == n, "audited %d handsets in %.1f s" % (n, took))
    dropping = (n + 4) // 5
    # What the loop's longest step was (the audit's completion included).
    c.figure("scale_loop", d.status().get("loop"))
    # The same as an engineer types it, timed by the shell.
    timed = v.sh("bash", "-c", "time %s audit --socket %s > /dev/null" % (v.voipguard_binary(), d.control),
                 check=False, timeout=150)
    c.figure("scale_time_voipguard_audit", timed.stderr.strip().splitlines())
    c.that(timed.returncode == 0, "time voipguard audit: exit 0")
    c.that(out["audit"]["open"] == 2 * (n - dropping)
           and out["audit"]["filtered"] == len(out["audit"]["ports"]) * dropping,
           "open and filtered as set up: %s" % out["audit"])
    for l in listeners:
        l.close()


def main():
    n = int(sys.argv[sys.argv.index("--handsets") + 1]) if "--handsets" in sys.argv else 0
    v.require_environment()
    if not v.shutil.which("iptables"):
        v.skip("iptables is needed in the handset namespace to drop a port silently")
    c = v.Check("e2e_35_interface_audit")
    with v.Site() as s:
        c.attach(s)
        policy = v.demo_policy(replace=[('  networks: [192.168.20.0/24, "fd00:20::/64"]\n',
                                         '  networks: [192.168.20.0/24, "fd00:20::/64"]\n' + POLICY_PORTS),
                                        ("addresses: [203.0.113.10]", 'addresses: [203.0.113.10, "%s"]' % v.PBX6)])
        d = v.Daemon(s, s.file("policy.yaml", policy))
        d.start()
        c.figure("backend", d.status()["backend"])
        if n:
            scale_figure(c, s, d, n)
            c.that(d.stop() == 0, "voipguard stopped cleanly")
        else:
            exact_check(c, s, d)
    c.finish()


if __name__ == "__main__":
    main()
