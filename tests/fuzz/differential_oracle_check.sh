#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Proves fuzz_differential_osip's oracle fires: with
# VOIPGUARD_DIFF_ORACLE_SELFTEST=1 the target pretends the engine accepted
# every packet, so each input of the folder (each dials a denied number as
# libosip2 reads it) must end in a reported violation.
#
#   differential_oracle_check.sh REPLAY_BINARY FOLDER
set -u
replay=$1
folder=$2
n=0
for f in "$folder"/*; do
    [ -f "$f" ] || continue
    case $f in *.md) continue ;; esac
    n=$((n + 1))
    # The replay aborts on the violation; the subshell keeps the shell's
    # "Aborted" note with the output.
    out=$( (VOIPGUARD_DIFF_ORACLE_SELFTEST=1 "$replay" "$f"; :) 2>&1 )
    case $out in
        *"differential violation"*) ;;
        *) echo "FAIL: no violation reported for $f with every packet accepted: it guards nothing" >&2
           exit 1 ;;
    esac
done
if [ "$n" -eq 0 ]; then
    echo "FAIL: no input in $folder" >&2
    exit 1
fi
echo "oracle reported a violation for each of the $n inputs"
