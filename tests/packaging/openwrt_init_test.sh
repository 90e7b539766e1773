#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The OpenWrt package's init script and the files beside it, without a
# router: the script is sourced as /etc/rc.common sources it, with stand-ins
# for what rc.common and procd.sh provide (config_load/config_get read the
# UCI file given, procd_* record what would be sent to procd), and its
# start_service and reload_service are called.
#
#   openwrt_init_test.sh SRC
#
# Checks: the command line built from /etc/config/voipguard, the respawn,
# term_timeout and log parameters, the policy check before a start, a
# refused policy or a disabled service registering nothing, reload sending
# SIGHUP or re-registering the instance; the keep.d file covering the
# configuration the package installs.
# The stand-ins for rc.common and procd.sh are called by the sourced script.
# check 'CONDITION' strings are evaluated later (SC2016).
# shellcheck disable=SC2317,SC2016
set -eu

SRC=${1:?usage: openwrt_init_test.sh SRC}
PKG=$SRC/packaging/openwrt/voipguard
INIT=$PKG/files/voipguard.init
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

expect() {   # WHAT yes|no [DETAIL]
    if [ "$2" = yes ]; then
        passed=$((passed + 1))
    else
        echo "FAILED: $1"
        [ -z "${3:-}" ] || echo "$3" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
}
yes_if() { if "$@"; then echo yes; else echo no; fi; }
# check 'SHELL CONDITION': yes or no; the condition reads $out itself.
check() { if eval "$1"; then echo yes; else echo no; fi; }
has() { printf '%s\n' "$1" | grep -q -- "$2"; }
hasx() { printf '%s\n' "$1" | grep -qxF -- "$2"; }

# One run of an init script function in a subshell. $1: the UCI file,
# $2: the function (start_service, reload_service), the environment:
# CHECK_RC (exit of `voipguard check`), RUNNING (procd_running's answer),
# OFFLOAD (firewall.@defaults[0].flow_offloading), STATE_BEFORE (the
# state file a previous start left). Prints what procd was sent, the
# log and the exit code.
run_init() {
    (
        uci_file=$1 fn=$2
        # rc.common / functions.sh
        config_load() {
            # option NAME 'VALUE' lines of section main -> CONFIG_main_NAME
            eval "$(sed -n "s/^[[:space:]]*option[[:space:]]\{1,\}\([a-z_]*\)[[:space:]]\{1,\}'\(.*\)'.*/CONFIG_main_\1='\2'/p" \
                "$uci_file")"
        }
        config_get() {   # VAR SECTION OPTION DEFAULT
            eval "__v=\${CONFIG_$2_$3-}"
            # shellcheck disable=SC2154 # set by the eval above
            [ -n "$__v" ] || __v=${4:-}
            eval "$1=\$__v"
        }
        config_get_bool() {
            config_get "$@"
            eval "case \"\$$1\" in 1|on|true|yes|enabled) $1=1 ;; *) $1=0 ;; esac"
        }
        # procd.sh
        procd_open_instance() { echo "procd: open_instance $*"; }
        procd_set_param() { echo "procd: $*"; }
        procd_close_instance() { echo "procd: close_instance"; }
        procd_send_signal() { echo "procd: signal $*"; }
        procd_running() { [ "${RUNNING:-1}" = 1 ]; }
        procd_add_reload_trigger() { echo "procd: reload_trigger $*"; }
        start() { start_service; }
        logger() { echo "log: $*"; }
        uci() { [ "$*" = "-q get firewall.@defaults[0].flow_offloading" ] && [ -n "${OFFLOAD:-}" ] && echo "$OFFLOAD"; return 0; }

        # shellcheck source=/dev/null
        . "$INIT"
        PROG=$tmp/voipguard
        STATE=$tmp/state
        rm -f "$STATE"
        [ -z "${STATE_BEFORE:-}" ] || echo "$STATE_BEFORE" > "$STATE"
        printf '#!/bin/sh\necho "voipguard $*" >> %s/checks\n[ -z "${CHECK_OUT:-}" ] || echo "$CHECK_OUT"\nexit %s\n' \
            "$tmp" "${CHECK_RC:-0}" > "$PROG"
        chmod +x "$PROG"
        rc=0
        "$fn" 2>&1 || rc=$?
        echo "exit $rc"
        [ ! -f "$STATE" ] || echo "state: $(cat "$STATE")"
    )
}

uci_with() {   # NAME "option value"... -> $tmp/NAME: the shipped config, options replaced
    name=$1
    shift
    cp "$PKG/files/voipguard.config" "$tmp/$name"
    for kv in "$@"; do
        key=${kv%% *} value=${kv#* }
        sed -i "s|^\([[:space:]]*option[[:space:]]\{1,\}${key}[[:space:]]\{1,\}\)'.*'|\1'$value'|" "$tmp/$name"
        grep -q "option $key '$value'" "$tmp/$name" || {
            echo "FAILED: the shipped voipguard.config has no option $key"
            exit 1
        }
    done
}

# The shipped configuration: disabled, so nothing is registered.
out=$(run_init "$PKG/files/voipguard.config" start_service)
expect "shipped config (enabled 0): start registers no instance and succeeds" \
    "$(check 'has "$out" "^exit 0$" && ! has "$out" "open_instance"')" "$out"

# Enabled with the shipped values.
uci_with enabled "enabled 1"
: > "$tmp/checks"
out=$(run_init "$tmp/enabled" start_service)
expect "enabled: the policy is checked first (check --quiet --no-resolve)" \
    "$(yes_if grep -qx "voipguard check --quiet --no-resolve /etc/voipguard/policy.yaml" "$tmp/checks")" \
    "$(cat "$tmp/checks")"
expect "enabled: the command line is run --policy /etc/voipguard/policy.yaml --queue 0 --backend auto --state /var/run/voipguard/state" \
    "$(check 'hasx "$out" "procd: command $tmp/voipguard run --policy /etc/voipguard/policy.yaml --queue 0 --backend auto --state /var/run/voipguard/state"')" \
    "$out"
expect "enabled: procd respawns it forever, 5 s apart (respawn 3600 5 0)" \
    "$(check 'hasx "$out" "procd: respawn 3600 5 0"')" "$out"
expect "enabled: SIGKILL only 15 s after SIGTERM (term_timeout 15)" \
    "$(check 'hasx "$out" "procd: term_timeout 15"')" "$out"
expect "enabled: stdout and stderr go to the log" \
    "$(check 'hasx "$out" "procd: stdout 1" && hasx "$out" "procd: stderr 1"')" "$out"
expect "enabled: one instance, closed, exit 0" \
    "$(check '[ $(printf "%s\n" "$out" | grep -c open_instance) = 1 ] && has "$out" "^procd: close_instance$" && has "$out" "^exit 0$"')" \
    "$out"
expect "enabled: no offloading warning while offloading is off" \
    "$(check '! has "$out" offloading')" "$out"
state=$(echo "$out" | sed -n 's/^state: //p')

# UCI options reach the command line and procd.
uci_with custom "enabled 1" "policy /etc/voipguard/site b.yaml" "queue 7" "backend nftables" \
    "respawn_threshold 600" "respawn_timeout 30" "respawn_retry 3"
out=$(run_init "$tmp/custom" start_service)
expect "custom options: --policy (with a space), --queue 7 --backend nftables" \
    "$(check 'hasx "$out" "procd: command $tmp/voipguard run --policy /etc/voipguard/site b.yaml --queue 7 --backend nftables --state /var/run/voipguard/state"')" \
    "$out"
expect "custom options: respawn 600 30 3" "$(check 'hasx "$out" "procd: respawn 600 30 3"')" "$out"

# A configuration from before the respawn options (opkg keeps an edited
# /etc/config/voipguard over upgrades): the same defaults.
grep -v 'option respawn_' "$tmp/enabled" > "$tmp/old"
out=$(run_init "$tmp/old" start_service)
expect "a configuration without respawn options: respawn 3600 5 0" \
    "$(check 'hasx "$out" "procd: respawn 3600 5 0"')" "$out"

# A respawn value that is not a number: the default, with a warning.
uci_with bad "enabled 1" "respawn_retry forever"
out=$(run_init "$tmp/bad" start_service)
expect "respawn_retry 'forever': the default 0 is used and a warning logged" \
    "$(check 'hasx "$out" "procd: respawn 3600 5 0" && has "$out" "respawn_retry .forever. is not a number"')" \
    "$out"

# A refused policy: nothing registered, the errors in the log, exit 1.
out=$(CHECK_RC=2 CHECK_OUT="policy.yaml:3:1: mode: must be monitor or enforce" run_init "$tmp/enabled" start_service)
expect "refused policy: no instance, its errors logged, exit 1" \
    "$(check '! has "$out" open_instance && has "$out" "mode: must be monitor or enforce" && has "$out" "^exit 1$"')" \
    "$out"

# Flow offloading on: a warning at start.
out=$(OFFLOAD=1 run_init "$tmp/enabled" start_service)
expect "flow offloading on: a warning at start" "$(check 'has "$out" "flow offloading is on"')" "$out"

# Reload with unchanged options while running: SIGHUP only.
out=$(STATE_BEFORE=$state RUNNING=1 run_init "$tmp/enabled" reload_service)
expect "reload, options unchanged, running: SIGHUP, no new instance" \
    "$(check 'hasx "$out" "procd: signal voipguard * HUP" && ! has "$out" open_instance')" \
    "$out"
# ... but procd gave up on the instance: it is registered again (started).
out=$(STATE_BEFORE=$state RUNNING=0 run_init "$tmp/enabled" reload_service)
expect "reload, options unchanged, not running: the instance is registered again" \
    "$(check 'has "$out" open_instance && ! has "$out" "signal voipguard"')" "$out"
# Changed options: re-registered (procd restarts the daemon).
out=$(STATE_BEFORE=$state RUNNING=1 run_init "$tmp/custom" reload_service)
expect "reload, options changed: the instance is registered again" \
    "$(check 'has "$out" open_instance && ! has "$out" "signal voipguard"')" "$out"
# A refused policy on reload: nothing sent, exit 1.
out=$(STATE_BEFORE=$state RUNNING=1 CHECK_RC=2 run_init "$tmp/enabled" reload_service)
expect "reload, refused policy: no signal, no instance, exit 1" \
    "$(check '! has "$out" "procd:" && has "$out" "^exit 1$"')" "$out"
# Disabled: re-registered without an instance (procd stops the daemon).
out=$(STATE_BEFORE=$state RUNNING=1 run_init "$PKG/files/voipguard.config" reload_service)
expect "reload, disabled: no instance registered, no signal" \
    "$(check '! has "$out" "procd:" && has "$out" "^exit 0$"')" "$out"

# keep.d: sysupgrade keeps every configuration file the package installs
# under /etc (the conffiles), and the Makefile installs the list.
mk=$PKG/Makefile
keep=$PKG/files/voipguard.keep
expect "the Makefile installs files/voipguard.keep as /lib/upgrade/keep.d/voipguard" \
    "$(yes_if grep -q 'voipguard.keep $(1)/lib/upgrade/keep.d/voipguard$' "$mk")"
conffiles=$(sed -n '/^define Package\/voipguard\/conffiles$/,/^endef$/p' "$mk" | sed -e '1d' -e '$d')
expect "the Makefile lists conffiles" "$(yes_if [ -n "$conffiles" ])"
paths=$(sed -e '/^[[:space:]]*$/d' -e '/^#/d' "$keep")
for f in $conffiles /etc/voipguard/provider.yaml; do
    covered=no
    for p in $paths; do
        case "$p" in
            */) case "$f" in "$p"*) covered=yes ;; esac ;;
            *) [ "$f" = "$p" ] && covered=yes ;;
        esac
    done
    expect "keep.d covers $f" "$covered" "$paths"
done
for p in $paths; do
    expect "keep.d path $p is absolute" "$(yes_if [ "${p#/}" != "$p" ])"
done

echo "openwrt init: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
