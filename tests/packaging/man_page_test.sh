#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The man page (packaging/debian/voipguard.8): groff renders it without a
# warning, and every option that `voipguard --help` and `voipguard COMMAND
# --help` print is in the page twice: in that command's SYNOPSIS entry and
# in its OPTIONS subsection.
#
#   man_page_test.sh VOIPGUARD SRC      (VG_EMULATOR: e.g. qemu-user)
#
# Exit 77 (skipped) without groff.
set -eu

VG=${1:?usage: man_page_test.sh VOIPGUARD SRC}
SRC=${2:?usage: man_page_test.sh VOIPGUARD SRC}
PAGE=$SRC/packaging/debian/voipguard.8
if ! command -v groff >/dev/null 2>&1; then
    echo "SKIPPED: groff is not installed (apt-get install groff-base)"
    exit 77
fi
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

# Rendering: -ww enables every warning, -z discards the output.
warnings=$(LC_ALL=C.UTF-8 groff -man -ww -z "$PAGE" 2>&1 || echo "groff failed")
expect "groff -man -ww renders voipguard.8 without warnings" "$([ -z "$warnings" ] && echo yes || echo no)" "$warnings"

# The page as plain source text with \- read as -.
sed 's/\\-/-/g' "$PAGE" > "$tmp/page"

# SYNOPSIS entries (.SY ... .YS) whose first line after .SY names COMMAND.
synopsis_of() {
    awk -v cmd="$1" '
        /^\.SH SYNOPSIS/ { on = 1; next }
        /^\.SH / { on = 0 }
        !on { next }
        /^\.SY/ { block = ""; first = 1; next }
        /^\.YS/ { if (match_) printf "%s", block; match_ = 0; next }
        { block = block $0 "\n"
          if (first) { n = split($0, w, /[ |]+/); for (i = 1; i <= n; i++) if (w[i] == cmd) match_ = 1; first = 0 } }
    ' "$tmp/page"
}
# The OPTIONS subsection (.SS) whose title names COMMAND.
options_of() {
    awk -v cmd="$1" '
        /^\.SH OPTIONS/ { on = 1; next }
        /^\.SH / { on = 0 }
        !on { next }
        /^\.SS / { sub_ = 0; n = split(substr($0, 5), w, /[ ,]+/); for (i = 1; i <= n; i++) if (w[i] == cmd) sub_ = 1; next }
        sub_ { print }
    ' "$tmp/page"
}
mentions() {   # TEXT OPTION: OPTION as a whole word
    printf '%s\n' "$1" | grep -Eq -- "(^|[^a-z-])$2([^a-z-]|$)"
}

checked=0
for cmd in run check replay status calls handsets reload audit uninstall; do
    # shellcheck disable=SC2086 # VG_EMULATOR: command and options
    if ! help=$(${VG_EMULATOR:-} "$VG" "$cmd" --help 2>&1); then
        # A router build leaves out replay.
        if [ "$cmd" = replay ] && printf '%s\n' "$help" | grep -q "unknown command"; then continue; fi
        expect "voipguard $cmd --help exits 0" no "$help"
        continue
    fi
    synopsis=$(synopsis_of "$cmd")
    options=$(options_of "$cmd")
    expect "the man page has a SYNOPSIS entry for $cmd" "$([ -n "$synopsis" ] && echo yes || echo no)"
    expect "the man page has an OPTIONS subsection for $cmd" "$([ -n "$options" ] && echo yes || echo no)"
    for opt in $(printf '%s\n' "$help" | grep -oE -- '(^|[ [])--[a-z][a-z-]*' | sed 's/^[ []//' | sort -u); do
        [ "$opt" = --help ] && continue
        checked=$((checked + 1))
        expect "voipguard $cmd $opt is in the SYNOPSIS" "$(mentions "$synopsis" "$opt" && echo yes || echo no)" \
            "$synopsis"
        expect "voipguard $cmd $opt is in OPTIONS" "$(mentions "$options" "$opt" && echo yes || echo no)"
    done
done

# voipguard --help: its own options, under .SS general and in the SYNOPSIS.
# shellcheck disable=SC2086
top=$(${VG_EMULATOR:-} "$VG" --help | sed -n '/^options:/,/^$/p')
general=$(options_of general)
for opt in $(printf '%s\n' "$top" | grep -oE -- '(^|[ ,])-(-[a-z][a-z-]*|[a-zA-Z])' | sed 's/^[ ,]//' | sort -u); do
    checked=$((checked + 1))
    expect "voipguard $opt is in OPTIONS (general)" "$(mentions "$general" "$opt" && echo yes || echo no)"
    case "$opt" in
        --*) expect "voipguard $opt is in the SYNOPSIS" "$(grep -q -- "$opt" "$tmp/page" && echo yes || echo no)" ;;
    esac
done
expect "options were found in the --help texts ($checked)" "$([ "$checked" -ge 20 ] && echo yes || echo no)"

echo "man page: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
