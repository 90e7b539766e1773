#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package's life on a scratch root, with dpkg itself: install,
# upgrade, downgrade, remove, purge (packaging/debian/README.md says what
# each does). The packages are built here from packaging/debian's maintainer
# scripts and the conffile list of packaging/build-deb, around a stand-in
# binary (no compile needed); dpkg runs with --root and
# --force-script-chrootless, so the scripts run on this machine with
# stand-ins for voipguard, deb-systemd-helper, deb-systemd-invoke and
# systemctl first on PATH, which record their calls.
#
#   debian_package_test.sh SRC
#
# Exit 77 (skipped) without dpkg-deb or dpkg.
set -eu

SRC=${1:?usage: debian_package_test.sh SRC}
for tool in dpkg dpkg-deb; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIPPED: $tool is not installed"
        exit 77
    fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$tmp/bin"
: > "$root/var/lib/dpkg/status"
: > "$root/var/lib/dpkg/available"
for cmd in voipguard deb-systemd-invoke systemctl; do
    printf '#!/bin/sh\necho "%s $*" >> "%s/calls"\n' "$cmd" "$tmp" > "$tmp/bin/$cmd"
    chmod +x "$tmp/bin/$cmd"
done
# deb-systemd-helper keeps its state as the real one does: update-state
# records the unit as installed by the package (until purge), enable marks
# it enabled; debian-installed and was-enabled answer from that.
cat > "$tmp/bin/deb-systemd-helper" <<EOF
#!/bin/sh
echo "deb-systemd-helper \$*" >> "$tmp/calls"
[ "\$1" = --quiet ] && shift
case "\$1" in
    update-state) touch "$tmp/unit-installed" ;;
    enable) touch "$tmp/unit-enabled" ;;
    purge) rm -f "$tmp/unit-installed" "$tmp/unit-enabled" ;;
    debian-installed) [ -e "$tmp/unit-installed" ] ;;
    was-enabled) [ -e "$tmp/unit-enabled" ] ;;
esac
EOF
chmod +x "$tmp/bin/deb-systemd-helper"

# The conffiles as build-deb writes them.
# shellcheck disable=SC2016 # $STAGE is build-deb's text, not expanded here
conffiles=$(sed -n 's|^echo \(/etc/[^ ]*\) > "\$STAGE/DEBIAN/conffiles"$|\1|p' "$SRC/packaging/build-deb")
if [ "$conffiles" != /etc/voipguard/policy.yaml ]; then
    echo "FAILED: packaging/build-deb's conffiles are '$conffiles'; this test knows /etc/voipguard/policy.yaml"
    exit 1
fi

build() {   # VERSION POLICY-TEXT -> $tmp/voipguard_VERSION.deb
    pkg=$tmp/pkg-$1
    mkdir -p "$pkg/DEBIAN" "$pkg/etc/voipguard" "$pkg/usr/sbin"
    printf 'Package: voipguard\nVersion: %s\nArchitecture: all\nMaintainer: test <test@example.net>\nDescription: test package\n' \
        "$1" > "$pkg/DEBIAN/control"
    echo "$conffiles" > "$pkg/DEBIAN/conffiles"
    printf '%s\n' "$2" > "$pkg/etc/voipguard/policy.yaml"
    printf '#!/bin/sh\necho "voipguard %s"\n' "$1" > "$pkg/usr/sbin/voipguard"
    chmod 0755 "$pkg/usr/sbin/voipguard"
    for script in postinst prerm postrm; do
        install -m 0755 "$SRC/packaging/debian/$script" "$pkg/DEBIAN/$script"
    done
    dpkg-deb --root-owner-group -b "$pkg" "$tmp/voipguard_$1.deb" >/dev/null
}
build 0.1.0-1 "site: placeholder-0.1"
build 0.2.0-1 "site: placeholder-0.2"

passed=0 failed=0
expect() {   # WHAT yes|no
    if [ "$2" = yes ]; then
        passed=$((passed + 1))
    else
        echo "FAILED: $1"
        echo "    maintainer script calls: $(tr '\n' ';' < "$tmp/calls")"
        echo "    dpkg said: $(tr '\n' ';' < "$tmp/out")"
        failed=$((failed + 1))
    fi
}
yes_if() { if "$@"; then echo yes; else echo no; fi; }
called() { grep -q -- "$1" "$tmp/calls"; }
policy() { cat "$root/etc/voipguard/policy.yaml" 2>/dev/null; }
status_of() { dpkg --root="$root" -s voipguard 2>/dev/null | sed -n 's/^Status: //p'; }

dpkg_run() {   # dpkg ARGS... on the scratch root; calls and output recorded
    : > "$tmp/calls"
    VOIPGUARD_BIN=$tmp/bin/voipguard PATH="$tmp/bin:$PATH" \
        dpkg --root="$root" --force-script-chrootless --force-not-root --log=/dev/null \
        --force-confdef --force-confold "$@" > "$tmp/out" 2>&1
}

# First install: the placeholder policy, nothing enabled or started, the hint.
dpkg_run -i "$tmp/voipguard_0.1.0-1.deb"
expect "install: dpkg succeeds" "$(yes_if [ "$(status_of)" = "install ok installed" ])"
expect "install: /etc/voipguard/policy.yaml is the package's placeholder" \
    "$(yes_if [ "$(policy)" = "site: placeholder-0.1" ])"
expect "install: the unit is neither enabled nor started" \
    "$(yes_if sh -c "! grep -Eq ' (enable|start|restart|try-restart)( |$)' '$tmp/calls'")"
expect "install: the postinst says how to enable the service" \
    "$(yes_if grep -q "systemctl enable --now voipguard" "$tmp/out")"

# Upgrade of an untouched placeholder: replaced by the new one.
dpkg_run -i "$tmp/voipguard_0.2.0-1.deb"
expect "upgrade (placeholder untouched): the new placeholder is installed" \
    "$(yes_if [ "$(policy)" = "site: placeholder-0.2" ])"
expect "upgrade: the prerm leaves the kernel rules (no voipguard uninstall)" "$(yes_if sh -c "! grep -q '^voipguard uninstall' '$tmp/calls'")"
expect "upgrade: no first-install hint" "$(yes_if sh -c "! grep -q 'systemctl enable --now' '$tmp/out'")"

# The admin's policy survives upgrades and downgrades; the package's
# version lands next to it as policy.yaml.dpkg-dist.
echo "site: acme-leeds" > "$root/etc/voipguard/policy.yaml"
echo "site: acme-leeds" > "$root/etc/voipguard/provider.yaml"
dpkg_run -i "$tmp/voipguard_0.1.0-1.deb"
expect "downgrade to 0.1.0-1: dpkg succeeds" "$(yes_if [ "$(status_of)" = "install ok installed" ])"
expect "downgrade: the binary is the old one" "$(yes_if grep -q 'voipguard 0.1.0-1' "$root/usr/sbin/voipguard")"
expect "downgrade: the edited policy is kept" "$(yes_if [ "$(policy)" = "site: acme-leeds" ])"
expect "downgrade: the package's policy is left as policy.yaml.dpkg-dist" \
    "$(yes_if [ "$(cat "$root/etc/voipguard/policy.yaml.dpkg-dist" 2>/dev/null)" = "site: placeholder-0.1" ])"
dpkg_run -i "$tmp/voipguard_0.2.0-1.deb"
expect "upgrade over an edited policy: the edited policy is kept" "$(yes_if [ "$(policy)" = "site: acme-leeds" ])"

# Remove: the rules go (voipguard uninstall), the policy stays, the unit is masked.
touch "$tmp/unit-enabled"   # the admin ran systemctl enable voipguard
dpkg_run -r voipguard
expect "remove: dpkg leaves the configuration (status config-files)" \
    "$(yes_if [ "$(status_of)" = "deinstall ok config-files" ])"
expect "remove: the prerm runs voipguard uninstall" "$(yes_if called "^voipguard uninstall --quiet")"
expect "remove: the binary is gone" "$(yes_if [ ! -e "$root/usr/sbin/voipguard" ])"
expect "remove: the edited policy stays" "$(yes_if [ "$(policy)" = "site: acme-leeds" ])"
expect "remove: the postrm masks the unit" "$(yes_if called "^deb-systemd-helper mask voipguard.service")"

# Reinstall after a remove: the kept policy is used.
dpkg_run -i "$tmp/voipguard_0.2.0-1.deb"
expect "reinstall after remove: the kept policy is used" "$(yes_if [ "$(policy)" = "site: acme-leeds" ])"
expect "reinstall after remove: the postinst unmasks the unit" \
    "$(yes_if called "^deb-systemd-helper unmask voipguard.service")"
expect "reinstall after remove: a unit the admin had enabled is enabled again" \
    "$(yes_if called "^deb-systemd-helper enable voipguard.service")"

# Purge: the package's conffile goes (and its .dpkg-dist); files the admin
# added stay.
dpkg_run -P voipguard
expect "purge: dpkg forgets the package" "$(yes_if [ -z "$(status_of)" ])"
expect "purge: /etc/voipguard/policy.yaml is deleted" "$(yes_if [ ! -e "$root/etc/voipguard/policy.yaml" ])"
expect "purge: policy.yaml.dpkg-dist is deleted" "$(yes_if [ ! -e "$root/etc/voipguard/policy.yaml.dpkg-dist" ])"
expect "purge: a file the admin added (provider.yaml) stays" "$(yes_if [ -f "$root/etc/voipguard/provider.yaml" ])"
expect "purge: the postrm forgets the unit's state" "$(yes_if called "^deb-systemd-helper purge voipguard.service")"

echo "debian package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
