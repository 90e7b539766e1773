#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The alert programs of packaging/alerts run the way the daemon runs them:
# the event's JSON object on standard input, an environment of PATH and
# VOIPGUARD_EVENT only, under a POSIX shell (dash; OpenWrt has ash).
#   alert-mail     with a stand-in msmtp on PATH: recipient, headers, body,
#                  and msmtp's failure as the script's exit status
#   alert-webhook  with curl against a local HTTP receiver (python3): the
#                  JSON arrives as the body with its type, an HTTP 500 is a
#                  non-zero exit; without curl on PATH, uclient-fetch (a
#                  stand-in) gets the body as its POST data
#
#   alert_scripts_test.sh SRC
set -eu
SRC=${1:?usage: alert_scripts_test.sh SRC}
SH=$(command -v dash || command -v sh)
T=$(mktemp -d)
srv=
cleanup() {
    [ -n "$srv" ] && kill "$srv" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
EVENT='{"event":"VG_TOLL_FRAUD_BLOCKED","site":"acme-london","number":"+88213000001","rule":"deny_prefix:+882"}'
failures=0
check() {
    # check DESCRIPTION COMMAND...
    what=$1
    shift
    if "$@"; then
        echo "ok   $what"
    else
        echo "FAIL $what"
        failures=$((failures + 1))
    fi
}
run_alert() {
    # run_alert PATH SCRIPT ARG: the daemon's way (env -i, JSON on stdin)
    printf '%s\n' "$EVENT" | env -i PATH="$1" VOIPGUARD_EVENT=VG_TOLL_FRAUD_BLOCKED \
        "$SH" "$SRC/packaging/alerts/$2" "$3"
}

# --- alert-mail --------------------------------------------------------------
mkdir "$T/bin"
cat > "$T/bin/msmtp" <<EOF
#!/bin/sh
printf '%s\n' "\$@" > "$T/msmtp.args"
cat > "$T/msmtp.msg"
exit \$(cat "$T/msmtp.exit" 2>/dev/null || echo 0)
EOF
chmod 755 "$T/bin/msmtp"
status=0
run_alert "$T/bin:/usr/bin:/bin" alert-mail noc@provider.example || status=$?
check "alert-mail exits 0 when msmtp does" [ "$status" -eq 0 ]
check "msmtp gets the recipient after --" [ "$(cat "$T/msmtp.args" 2>/dev/null)" = "$(printf -- '--\nnoc@provider.example')" ]
check "the message is addressed to the recipient" grep -qx 'To: noc@provider.example' "$T/msmtp.msg"
check "the subject names the event and the router" \
    grep -qx "Subject: voipguard VG_TOLL_FRAUD_BLOCKED on $(uname -n)" "$T/msmtp.msg"
check "the body is the event's JSON object" grep -qxF "$EVENT" "$T/msmtp.msg"
check "the body says it is JSON" grep -qx 'Content-Type: application/json' "$T/msmtp.msg"
# msmtp's failure (75: temporary, e.g. the relay is down) is the script's.
echo 75 > "$T/msmtp.exit"
status=0
run_alert "$T/bin:/usr/bin:/bin" alert-mail noc@provider.example || status=$?
check "a failing msmtp makes alert-mail fail (exit $status)" [ "$status" -eq 75 ]
status=0
printf '%s\n' "$EVENT" | env -i PATH="$T/bin:/usr/bin:/bin" "$SH" "$SRC/packaging/alerts/alert-mail" \
    >/dev/null 2>&1 || status=$?
check "alert-mail without a recipient is a usage error" [ "$status" -ne 0 ]

# --- alert-webhook with curl --------------------------------------------------
if command -v curl >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
    python3 - "$T" <<'EOF' &
import http.server, os, sys
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(os.path.join(d, "post.body"), "wb") as f:
            f.write(body)
        with open(os.path.join(d, "post.type"), "w") as f:
            f.write(self.headers.get("Content-Type", ""))
        self.send_response(500 if self.path == "/fail" else 204)
        self.end_headers()
    def log_message(self, *args):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(os.path.join(d, "port.tmp"), "w") as f:
    f.write(str(s.server_address[1]))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
s.serve_forever()
EOF
    srv=$!
    i=0
    while [ ! -s "$T/port" ] && [ $i -lt 200 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    port=$(cat "$T/port")
    status=0
    run_alert "/usr/bin:/bin" alert-webhook "http://127.0.0.1:$port/hook" || status=$?
    check "alert-webhook (curl) exits 0 on a 2xx answer" [ "$status" -eq 0 ]
    check "the receiver got the event's JSON as the body" [ "$(cat "$T/post.body" 2>/dev/null)" = "$EVENT" ]
    check "sent as application/json" [ "$(cat "$T/post.type" 2>/dev/null)" = "application/json" ]
    status=0
    run_alert "/usr/bin:/bin" alert-webhook "http://127.0.0.1:$port/fail" 2>/dev/null || status=$?
    check "an HTTP 500 makes alert-webhook fail (exit $status)" [ "$status" -ne 0 ]
else
    echo "skip alert-webhook with curl: curl or python3 is not installed"
fi

# --- alert-webhook with uclient-fetch (OpenWrt: no curl) ----------------------
mkdir "$T/owrt"
ln -s "$(command -v cat)" "$T/owrt/cat"
cat > "$T/owrt/uclient-fetch" <<EOF
#!/bin/sh
printf '%s\n' "\$@" > "$T/uclient.args"
EOF
chmod 755 "$T/owrt/uclient-fetch"
status=0
run_alert "$T/owrt" alert-webhook "https://hooks.provider.example/vg" || status=$?
check "alert-webhook without curl uses uclient-fetch (exit $status)" [ "$status" -eq 0 ]
check "uclient-fetch posts the event's JSON to the URL" \
    [ "$(cat "$T/uclient.args" 2>/dev/null)" = "$(printf -- '-q\n-T\n15\n-O\n/dev/null\n--post-data=%s\nhttps://hooks.provider.example/vg' "$EVENT")" ]

if [ "$failures" -ne 0 ]; then
    echo "FAILED: $failures check(s)"
    exit 1
fi
echo "all checks passed"
