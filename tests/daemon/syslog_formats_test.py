#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""logging.format read by a real syslog daemon: rsyslog (Debian's rsyslogd,
started here with a configuration, work directory, socket and pid file of
its own in a temporary directory) runs the shipped router side
(packaging/syslog/rsyslog-voipguard.conf: the socket voipguard writes to, and
the forward to the collector) and the shipped central side
(rsyslog-voipguard-central.conf: mmpstrucdata for RFC 5424, mmjsonparse for
JSON) in one process, on loopback ports; the forward runs over TCP, then
over UDP. vg_log_emit sends lines through the daemon's own logging front end
and syslog sink, in each of the three formats, with hostile field values
(quotes, backslashes, ']', newline, NUL, invalid UTF-8, U+2028, a 2 KB value).
The test reads what the collector wrote and compares every field with what
was sent.

usage: syslog_formats_test.py VG_LOG_EMIT SOURCE_DIR   (exit 77: skipped)"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

UA = b'a"b\\c]d\ne\x00f\xff\xfe \xc3\xa9 \xe2\x80\xa8 \xe2\x80\xae ]]\x1b[2J'
LONG = (b'"\\]\n\x00\xff' + "é€".encode() + b"x" * 10) * 100
ERROR2 = b"peers.pbx: [x] \\ y"


def skip(reason):
    print("SKIP: " + reason)
    sys.exit(77)


def value_text(raw):
    """The value text of log_structured.h: valid UTF-8 from U+00A0 up as it
    is (but line separators and bidirectional controls), other bytes as
    \\xNN, a backslash doubled."""
    out, i = [], 0
    while i < len(raw):
        c = raw[i]
        if c < 0x80:
            out.append("\\x%02x" % c if c < 0x20 or c == 0x7f else "\\\\" if c == 0x5c else chr(c))
            i += 1
            continue
        for n in (2, 3, 4):
            try:
                ch = raw[i:i + n].decode("utf-8")
            except UnicodeDecodeError:
                continue
            cp = ord(ch) if len(ch) == 1 else 0
            if cp >= 0xa0 and not (cp in (0x061c, 0x200e, 0x200f, 0xfeff) or 0x2028 <= cp <= 0x202e
                                   or 0x2066 <= cp <= 0x2069):
                out.append(ch)
                i += n
                break
        else:
            out.append("\\x%02x" % c)
            i += 1
    return "".join(out)


def kv_value(raw):
    """log_format.h's append_value: what the rfc3164 line holds."""
    s = "".join("\\x%02x" % c if c < 0x20 or c >= 0x7f else "\\\\" if c == 0x5c else '\\"' if c == 0x22 else chr(c)
                for c in raw)
    return '"%s"' % s if not raw or any(c in raw for c in b' "=') else s


def free_port(kind):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Check:
    def __init__(self):
        self.failed = 0

    def that(self, ok, what, got=None):
        print(("ok    " if ok else "FAIL  ") + what + ("" if ok or got is None else "\n      got: %r" % (got,)))
        self.failed += 0 if ok else 1


def run_rsyslog(tmp, src, proto):
    tcp, udp = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
    router = open(os.path.join(src, "packaging/syslog/rsyslog-voipguard.conf")).read()
    router = router.replace("/run/voipguard-syslog.sock", os.path.join(tmp, "log.sock"))
    router = router.replace('target="collector.example.net" port="514" protocol="tcp"',
                            'target="127.0.0.1" port="%d" protocol="%s"' % (tcp if proto == "tcp" else udp, proto))
    central = open(os.path.join(src, "packaging/syslog/rsyslog-voipguard-central.conf")).read()
    central = central.replace("/var/log/voipguard/", tmp + "/")
    central = central.replace('input(type="imtcp" port="514"', 'input(type="imtcp" address="127.0.0.1" port="%d"' % tcp)
    central = central.replace('input(type="imudp" port="514"', 'input(type="imudp" address="127.0.0.1" port="%d"' % udp)
    for name, text in (("router.conf", router), ("central.conf", central)):
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)
    os.makedirs(os.path.join(tmp, "work"), exist_ok=True)
    with open(os.path.join(tmp, "rsyslog.conf"), "w") as f:
        f.write('global(workDirectory="%s" maxMessageSize="16k")\n' % os.path.join(tmp, "work"))
        # The test's rsyslog must not take the system's /dev/log.
        f.write('module(load="imuxsock" sysSock.use="off")\n')
        f.write('include(file="%s")\ninclude(file="%s")\n' % (os.path.join(tmp, "central.conf"),
                                                             os.path.join(tmp, "router.conf")))
    conf = os.path.join(tmp, "rsyslog.conf")
    check = subprocess.run([RSYSLOGD, "-N1", "-f", conf], capture_output=True, text=True)
    if check.returncode != 0:
        print(check.stdout + check.stderr)
        raise SystemExit("rsyslogd -N1 refused the shipped configuration")
    proc = subprocess.Popen([RSYSLOGD, "-n", "-f", conf, "-i", os.path.join(tmp, "rsyslogd.pid")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 30
    while not os.path.exists(os.path.join(tmp, "log.sock")):
        if proc.poll() is not None or time.time() > deadline:
            raise SystemExit("rsyslogd did not start: %s" % (proc.stdout.read() if proc.poll() is not None else "timeout"))
        time.sleep(0.1)
    return proc


def read_lines(path):
    # Split on LF only: str.splitlines() also splits on U+2028 and others.
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [l for l in f.read().split("\n") if l]


def events_after(path, count, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines = read_lines(path)
        if len(lines) >= count:
            return lines
        time.sleep(0.1)
    return read_lines(path)


def main():
    global RSYSLOGD
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    emit, src = sys.argv[1], sys.argv[2]
    RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    if not os.access(RSYSLOGD, os.X_OK):
        skip("rsyslogd not installed (Debian package rsyslog, in packaging/install-deps)")
    c = Check()
    host = socket.gethostname()
    for proto in ("tcp", "udp"):
        tmp = tempfile.mkdtemp(prefix="vg_syslog_")
        proc = run_rsyslog(tmp, src, proto)
        out = os.path.join(tmp, "events.json")
        seen = 0
        try:
            for fmt in ("rfc3164", "rfc5424", "json"):
                r = subprocess.run([emit, os.path.join(tmp, "log.sock"), fmt, UA.hex(), LONG.hex()],
                                   capture_output=True, text=True)
                c.that(r.returncode == 0, "%s/%s: the socket took the three lines" % (proto, fmt), r.stderr)
                events_after(out, seen + 3)
                time.sleep(0.3)
                lines = read_lines(out)
                c.that(len(lines) == seen + 3, "%s/%s: three lines arrived, no line split or forged" % (proto, fmt),
                       lines[seen:])
                got = [json.loads(l) for l in lines[seen:seen + 3]]
                seen = len(lines)
                if len(got) == 3:
                    check_format(c, proto, fmt, got, host)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            if c.failed == 0:
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                print("kept for inspection: " + tmp)
    print("%s: %d failed" % ("FAILED" if c.failed else "PASSED", c.failed))
    return 1 if c.failed else 0


def check_format(c, proto, fmt, got, host):
    fraud, long_line, reload_failed = got
    tag = "%s/%s: " % (proto, fmt)
    c.that([g["severity"] for g in got] == ["warning", "notice", "err"] and all(g["facility"] == "local3" for g in got),
           tag + "severities warning, notice, error and facility local3 arrive", [(g["severity"], g["facility"]) for g in got])
    if fmt == "rfc3164":
        c.that(all("fields" not in g for g in got), tag + "no fields parsed out of key=value text")
        msg = fraud["msg"].strip()
        c.that(msg.startswith("VG_TOLL_FRAUD_BLOCKED site=acme-london handset=192.168.20.10 dst=203.0.113.10")
               and (" ua=" + kv_value(UA)) in msg, tag + "key=value line with the hostile ua escaped", msg)
        c.that(long_line["msg"].strip().startswith("VG_TEST_LONG site=acme-london ua="), tag + "long line arrives (cut)")
        c.that(reload_failed["msg"].strip().endswith("(old policy kept)"), tag + "reload line keeps its text")
        return
    if fmt == "rfc5424":
        sd = [g.get("fields", {}).get("rfc5424-sd", {}).get("voipguard@32473", {}) for g in got]
        c.that([g["msgid"] for g in got] == ["VG_TOLL_FRAUD_BLOCKED", "VG_TEST_LONG", "VG_RELOAD_FAILED"],
               tag + "MSGID is the event ID", [g["msgid"] for g in got])
        c.that(all(g["router"] == host for g in got), tag + "HOSTNAME is the router's (%s)" % host,
               [g["router"] for g in got])
        c.that(fraud["msg"].strip() == "VG_TOLL_FRAUD_BLOCKED", tag + "MSG is the event ID", fraud["msg"])
        c.that(reload_failed["msg"].strip() == "VG_RELOAD_FAILED (old policy kept)", tag + "MSG keeps the line's text",
               reload_failed["msg"])
    else:
        sd = [g.get("fields", {}) for g in got]
        c.that([s.get("event") for s in sd] == ["VG_TOLL_FRAUD_BLOCKED", "VG_TEST_LONG", "VG_RELOAD_FAILED"],
               tag + "\"event\" is the event ID", [s.get("event") for s in sd])
        c.that(all(s.get("host") == host and s.get("ident") == "voipguard" for s in sd), tag + "host and ident")
        c.that([s.get("severity") for s in sd] == ["warning", "notice", "error"], tag + "\"severity\"")
        c.that(sd[2].get("msg") == "(old policy kept)", tag + "\"msg\" keeps the line's text", sd[2].get("msg"))
    f, lng, rel = sd
    expected = {"site": "acme-london", "handset": "192.168.20.10", "dst": "203.0.113.10", "dst_port": "5060",
                "proto": "udp", "method": "INVITE", "number": "+88213000001", "rule": "deny_prefix:+882",
                "ua": value_text(UA)}
    c.that(all(f.get(k) == v for k, v in expected.items()), tag + "every field of the event, hostile ua included",
           {k: f.get(k) for k in expected})
    c.that(lng.get("ua") == value_text(UA), tag + "ua of the long line", lng.get("ua"))
    detail = lng.get("detail", "")
    c.that(len(detail) > 1000 and value_text(LONG).startswith(detail) and lng.get("truncated") == "detail",
           tag + "2 KB value cut to fit 2048 bytes, whole characters, named in truncated (%d of %d characters)"
           % (len(detail), len(value_text(LONG))), (lng.get("truncated"), detail[-40:]))
    c.that(rel.get("error2") == value_text(ERROR2) and rel.get("errors") == "2", tag + "reload errors",
           (rel.get("errors"), rel.get("error2")))


if __name__ == "__main__":
    sys.exit(main())
