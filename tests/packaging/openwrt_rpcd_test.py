#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The OpenWrt rpcd plugin (packaging/openwrt/voipguard/files/voipguard.rpcd)
run the way rpcd runs it: `PLUGIN list`, and `PLUGIN call METHOD` with the
arguments as JSON on standard input, under dash and busybox ash (POSIX sh,
as on the router). Every answer must be one JSON object of the right shape,
errors included.

  openwrt_rpcd_test.py SRC VOIPGUARD [SOCKET]

Without SOCKET the daemon is a stand-in on PATH that answers fixed JSON and
records its command line (the shapes and the arguments passed), and the
real VOIPGUARD binary is used where it answers by itself: no daemon on the
socket, a bad --since. With SOCKET (the e2e scenario 33) every method asks
the real daemon listening there.

Exit 77 (skipped) when neither dash nor busybox is installed."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SRC, VOIPGUARD = sys.argv[1], sys.argv[2]
SOCKET = sys.argv[3] if len(sys.argv) > 3 else None
PLUGIN = os.path.join(SRC, "packaging/openwrt/voipguard/files/voipguard.rpcd")
ACL = os.path.join(SRC, "packaging/openwrt/voipguard/files/voipguard.acl.json")

passed = failed = 0


def expect(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAILED: " + what)
        if detail:
            print("    " + str(detail).replace("\n", "\n    "))


def shells():
    out = []
    if shutil.which("dash"):
        out.append(("dash", [shutil.which("dash")]))
    if shutil.which("busybox"):
        out.append(("busybox ash", [shutil.which("busybox"), "ash"]))
    return out


def run(shell, args, stdin="", env=None):
    r = subprocess.run(shell + [PLUGIN] + args, input=stdin, capture_output=True, text=True, timeout=120,
                       env=env)
    try:
        obj = json.loads(r.stdout)
    except ValueError:
        obj = None
    return r, obj


def is_object(obj):
    return isinstance(obj, dict)


FAKE = r"""#!/bin/sh
# A stand-in for voipguard: fixed JSON per command, the command line recorded.
printf '%s\n' "$*" >> "$VG_FAKE_LOG"
case "$1" in
status) printf '{"version":"9.9.9","site":"acme","uptime_s":5,"calls":0}\n' ;;
calls) printf '{"calls":[]}\n' ;;
handsets) printf '{"handsets":[{"address":"192.168.20.10","aor":"201@pbx"}]}\n' ;;
report) printf '{"site":"acme","since_s":3600,"attention":[],"calls":{"blocked":0}}\n' ;;
reload) printf '{"error":"reload failed, the running policy stays","ok":false,"message":"policy.yaml:3:1: \\"x\\""}\n'; exit 1 ;;
esac
"""


def main():
    sh_list = shells()
    if not sh_list:
        print("SKIPPED: neither dash nor busybox is installed (apt-get install dash busybox)")
        return 77
    with open(ACL) as f:
        acl = json.load(f)["voipguard"]
    expect("ACL: read is status, calls, handsets, report",
           sorted(acl["read"]["ubus"]["voipguard"]) == ["calls", "handsets", "report", "status"], acl)
    expect("ACL: write is reload", acl["write"]["ubus"]["voipguard"] == ["reload"], acl)

    tmp = tempfile.mkdtemp(prefix="vg-rpcd-")
    try:
        for name, shell in sh_list:
            env = dict(os.environ)
            env.pop("VOIPGUARD_SOCKET", None)
            if SOCKET:
                env["VOIPGUARD"] = VOIPGUARD
                env["VOIPGUARD_SOCKET"] = SOCKET
                real(name, shell, env)
            else:
                fake = os.path.join(tmp, "voipguard")
                with open(fake, "w") as f:
                    f.write(FAKE)
                os.chmod(fake, 0o755)
                log = os.path.join(tmp, "log-" + name.replace(" ", "-"))
                env["VG_FAKE_LOG"] = log
                env["VOIPGUARD"] = fake
                stand_in(name, shell, env, log)
                # No daemon on the socket, and a bad --since: the real binary.
                env_real = dict(env, VOIPGUARD=VOIPGUARD, VOIPGUARD_SOCKET=os.path.join(tmp, "no-daemon.sock"))
                for method in ("status", "report"):
                    r, obj = run(shell, ["call", method], "{}", env_real)
                    expect("%s: call %s without a daemon prints an error object" % (name, method),
                           is_object(obj) and "is voipguard running?" in obj.get("error", ""), r.stdout + r.stderr)
                r, obj = run(shell, ["call", "report"], '{"since":"8d"}', env_real)
                expect("%s: report since 8d is refused by voipguard, as an error object" % name,
                       is_object(obj) and "outside 1m to 7d" in obj.get("error", ""), r.stdout + r.stderr)
                r, obj = run(shell, ["call", "status"], "{}", dict(env, VOIPGUARD=os.path.join(tmp, "missing")))
                expect("%s: a missing voipguard binary gives an error object" % name,
                       is_object(obj) and obj.get("error"), r.stdout + r.stderr)
            common(name, shell, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def common(name, shell, env):
    """What does not depend on the daemon: list, unknown methods, bad input."""
    r, obj = run(shell, ["list"], "", env)
    expect("%s: list prints the method signatures" % name,
           obj == {"status": {}, "calls": {}, "handsets": {}, "report": {"since": "24h"}, "reload": {}},
           r.stdout + r.stderr)
    r, obj = run(shell, ["call", "frobnicate"], "{}", env)
    expect("%s: an unknown method is an error object" % name,
           is_object(obj) and "unknown method" in obj.get("error", ""), r.stdout)
    for bad in ("not json", "[1,2]", "", '{"since":', '{"since":"1x"}', '{"since":true}'):
        method = "report" if "since" in bad else "status"
        r, obj = run(shell, ["call", method], bad, env)
        expect("%s: call %s with %r is an error object" % (name, method, bad),
               is_object(obj) and obj.get("error"), r.stdout + r.stderr)
    r, obj = run(shell, ["call", "frob\"ni\\cate"], "{}", env)
    expect("%s: a method name with quotes is escaped in the error" % name,
           is_object(obj) and 'frob"ni\\cate' in obj.get("error", ""), r.stdout)
    r, obj = run(shell, [], "", env)
    expect("%s: no arguments is an error object" % name, is_object(obj) and r.returncode != 0, r.stdout)


def stand_in(name, shell, env, log):
    """Shapes and arguments, with the stand-in daemon."""
    r, obj = run(shell, ["call", "status"], "{}", env)
    expect("%s: call status prints the status object" % name,
           is_object(obj) and obj.get("site") == "acme", r.stdout + r.stderr)
    r, obj = run(shell, ["call", "calls"], "{}", env)
    expect("%s: call calls prints {\"calls\": [...]}" % name,
           is_object(obj) and obj.get("calls") == [], r.stdout + r.stderr)
    r, obj = run(shell, ["call", "handsets"], '{ "ubus_rpc_session": "0123abcd" }', env)
    expect("%s: call handsets ignores ubus_rpc_session" % name,
           is_object(obj) and obj["handsets"][0]["address"] == "192.168.20.10", r.stdout + r.stderr)
    r, obj = run(shell, ["call", "report"], '{ "since": "1h", "ubus_rpc_session": "0123abcd" }', env)
    expect("%s: call report prints the report object" % name,
           is_object(obj) and obj.get("since_s") == 3600, r.stdout + r.stderr)
    r, obj = run(shell, ["call", "report"], '{"since":3600}', env)
    expect("%s: call report with a number of seconds" % name, is_object(obj), r.stdout + r.stderr)
    r, obj = run(shell, ["call", "report"], "{}", env)
    expect("%s: call report without since" % name, is_object(obj), r.stdout + r.stderr)
    r, obj = run(shell, ["call", "reload"], "{}", env)
    expect("%s: a refused reload is voipguard's error object, passed on" % name,
           is_object(obj) and obj.get("ok") is False and obj.get("message") == 'policy.yaml:3:1: "x"',
           r.stdout + r.stderr)
    with open(log) as f:
        lines = f.read().splitlines()
    expect("%s: the plugin ran voipguard COMMAND --json, --since as given" % name,
           lines == ["status --json", "calls --json", "handsets --json", "report --since 1h --json",
                     "report --since 3600 --json", "report --json", "reload --json"], lines)


def real(name, shell, env):
    """Against the running daemon (e2e scenario 33)."""
    r, obj = run(shell, ["call", "status"], "{}", env)
    expect("%s: status from the daemon" % name, is_object(obj) and "uptime_s" in obj and "version" in obj,
           r.stdout + r.stderr)
    r, obj = run(shell, ["call", "calls"], "{}", env)
    expect("%s: calls from the daemon" % name, is_object(obj) and isinstance(obj.get("calls"), list),
           r.stdout + r.stderr)
    r, obj = run(shell, ["call", "handsets"], "{}", env)
    expect("%s: handsets from the daemon" % name, is_object(obj) and isinstance(obj.get("handsets"), list),
           r.stdout + r.stderr)
    r, obj = run(shell, ["call", "report"], '{"since":"1h"}', env)
    expect("%s: report from the daemon" % name,
           is_object(obj) and obj.get("since_s") == 3600 and "attention" in obj and "scanning" in obj,
           r.stdout + r.stderr)
    r, obj = run(shell, ["call", "report"], '{"since":"30d"}', env)
    expect("%s: report since 30d is an error object" % name, is_object(obj) and obj.get("error"),
           r.stdout + r.stderr)
    r, obj = run(shell, ["call", "reload"], "{}", env)
    expect("%s: reload through the daemon" % name, is_object(obj) and obj.get("ok") is True, r.stdout + r.stderr)


if __name__ == "__main__":
    sys.exit(main())
