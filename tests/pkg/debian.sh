#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The Debian package of dimed, built and exercised without touching this
# machine's package database, users, services or network:
#
#   1. build: the source tree (tracked and untracked-but-not-ignored files) is
#      copied to a temp dir and built with "dpkg-buildpackage -us -uc -b" inside
#      a fresh, empty network namespace (unshare -n), so neither the build nor
#      its unit tests can reach the host's interfaces or firewall;
#   2. lint: lintian on the binary .changes and on a source package made from
#      the same copy; any E: tag fails the test (W:/I:/P: are printed);
#   3. contents: dpkg-deb -c / -I must list the programs, the conffile, the
#      unit, the man pages, the bash completion and the maintainer scripts;
#   4. life cycle: in private mount, PID and network namespaces, an overlay
#      of / on a tmpfs is the root of a chroot in which the real dpkg installs
#      the package (twice: install, then same-version reinstall), removes it
#      and purges it. A fake systemctl, which says "disabled" unless the unit
#      is enabled, records what the maintainer scripts ask of systemd. All
#      writes land in the tmpfs and vanish with the namespaces.
#
# What this proves: the package builds from a clean copy with its unit suites
# passing, is lintian-clean of errors, ships the expected files with
# /etc/dime/dime.conf as a conffile, its binaries run and accept the shipped
# config (dimed -n), postinst creates the dime group and user idempotently,
# the unit is neither enabled nor started on install, remove keeps the
# conffile, purge removes /etc/dime and keeps the user and group. It does not
# prove the service runs under a real systemd (the netns tests cover dimed).
#
# Needs root (namespaces, overlay mount, chroot); missing tools are installed
# with apt-get. Exit 77 (skip) when not root or when they cannot be.
#   tests/pkg/debian.sh            run everything
#   KEEP=1 tests/pkg/debian.sh     keep the temp dir (path printed)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=0.1.0
DEBVER=0.1.0-1
ARCH=$(dpkg --print-architecture)
SKIP=77
T0=$SECONDS

say() { printf 'pkg: %s\n' "$*"; }
fail() { printf 'pkg: FAIL: %s\n' "$*" >&2; exit 1; }
skip() { printf 'pkg: SKIP: %s\n' "$*"; exit $SKIP; }

[ "$(id -u)" = 0 ] || skip "needs root (namespaces, overlay mount, chroot)"
command -v apt-get >/dev/null && command -v dpkg >/dev/null || skip "not a Debian system"
probe=$(mktemp -d /tmp/dimed-pkg-probe.XXXXXX)
unshare --mount --net --pid --fork --propagation private \
	sh -c 'mount -t tmpfs tmpfs "$1"' probe "$probe" 2>/dev/null || ns_ok=no
rmdir "$probe"
[ "${ns_ok:-yes}" = yes ] || skip "cannot create mount, PID and network namespaces here"

# Packaging tools first, then the build dependencies (scripts/deps lists them).
TOOLS=(debhelper dpkg-dev lintian bash-completion procps
	cmake pkg-config libnetfilter-queue-dev libnfnetlink-dev libmnl-dev libev-dev
	libssl-dev check adduser iptables ipset)
missing=()
for p in "${TOOLS[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
		>/dev/null 2>&1 || skip "apt-get cannot install: ${missing[*]}"
fi

TMP=$(mktemp -d /tmp/dimed-pkg.XXXXXX)
cleanup() {
	if [ -n "${KEEP:-}" ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
TREE=$TMP/dimed-$VERSION

# --- 1. build ------------------------------------------------------------
mkdir "$TREE"
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$SRC" ls-files -co --exclude-standard -z |
		(cd "$SRC" && tar -c --null -T - 2>/dev/null) | tar -x -C "$TREE"
else
	tar -C "$SRC" --exclude='./build*' --exclude='./obj-*' --exclude=./.git -c . | tar -x -C "$TREE"
fi
[ -f "$TREE/debian/control" ] || fail "no debian/ in the copied tree"

# A source package too, made while the copy is still clean, so that lintian
# also checks debian/ itself (control, copyright, rules, overrides).
tar -C "$TMP" --exclude="dimed-$VERSION/debian" -czf "$TMP/dimed_$VERSION.orig.tar.gz" "dimed-$VERSION"
(cd "$TREE" && dpkg-source -b .) >"$TMP/source.log" 2>&1 ||
	{ tail -20 "$TMP/source.log" >&2; KEEP=1; fail "dpkg-source -b failed"; }

say "building in $TREE (log: build.log)"
t=$SECONDS
(cd "$TREE" && DEB_BUILD_OPTIONS="parallel=$(nproc)" unshare --net dpkg-buildpackage -us -uc -b) >"$TMP/build.log" 2>&1 ||
	{ tail -40 "$TMP/build.log" >&2; KEEP=1; fail "dpkg-buildpackage failed"; }
units=$(grep -o '[0-9]* tests failed out of [0-9]*' "$TMP/build.log" || true)
case "$units" in
"0 tests failed out of "*) ;;
*) KEEP=1; fail "unit suites did not pass in the package build ($units)" ;;
esac
grep -Eq 'Test +#[0-9]+: netns_' "$TMP/build.log" && { KEEP=1; fail "a netns test ran in the build"; }
say "built in $((SECONDS - t)) s; unit suites: ${units}"
DEB=$TMP/dimed_${DEBVER}_$ARCH.deb
[ -f "$DEB" ] || fail "no $DEB"

# --- 2. lint -------------------------------------------------------------
say "lintian"
lintian --pedantic -I --fail-on error "$TMP/dimed_${DEBVER}_$ARCH.changes" \
	"$TMP/dimed_$DEBVER.dsc" >"$TMP/lintian.log" 2>&1 || lrc=$?
grep -v 'running with root privileges' "$TMP/lintian.log" | sed 's/^/  /' || true
[ "${lrc:-0}" -eq 0 ] || fail "lintian reports errors (exit ${lrc})"
grep -q '^E:' "$TMP/lintian.log" && fail "lintian reports errors"

# --- 3. contents ---------------------------------------------------------
dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's,^\./,/,' >"$TMP/files"
for f in /usr/sbin/dimed /usr/sbin/dimectl /etc/dime/dime.conf \
	/usr/share/man/man8/dimed.8.gz /usr/share/man/man8/dimectl.8.gz \
	/usr/share/man/man5/dime.conf.5.gz \
	/usr/share/bash-completion/completions/dimectl \
	/usr/share/doc/dimed/copyright; do
	grep -qx "$f" "$TMP/files" || fail "$f not in the package"
done
# bookworm's debhelper puts units in /lib, later ones in /usr/lib.
grep -Eqx '(/usr)?/lib/systemd/system/dimed.service' "$TMP/files" || fail "dimed.service not in the package"
dpkg-deb --info "$DEB" conffiles | grep -qx /etc/dime/dime.conf || fail "dime.conf is not a conffile"
dpkg-deb --info "$DEB" postinst >"$TMP/postinst"
grep -q 'adduser .*--system' "$TMP/postinst" || fail "postinst does not create the dime user"
grep -q "deb-systemd-helper --quiet was-enabled 'dimed.service'" "$TMP/postinst" ||
	fail "postinst enables dimed.service (dh_installsystemd without --no-enable?)"
dpkg-deb --info "$DEB" prerm | grep -q "deb-systemd-invoke stop 'dimed.service'" ||
	fail "prerm does not stop dimed on remove"
say "contents: $(wc -l <"$TMP/files") entries, conffile and maintainer scripts as expected"

# --- 4. life cycle in a throwaway root ----------------------------------
say "install / reinstall / remove / purge in an overlay chroot"
cp "$DEB" "$TMP/dimed.deb"
cp "$SRC/tests/pkg/lifecycle.sh" "$TMP/lifecycle.sh"
host_before=$(dpkg-query -W -f='${db:Status-Status}' dimed 2>/dev/null || true)
unshare --mount --pid --net --fork --propagation private \
	bash -euo pipefail -c '
		W=$1
		mkdir -p "$W/ovl"
		mount -t tmpfs tmpfs "$W/ovl"
		mkdir "$W/ovl/upper" "$W/ovl/work" "$W/ovl/root"
		mount -t overlay overlay \
			-o "lowerdir=/,upperdir=$W/ovl/upper,workdir=$W/ovl/work" "$W/ovl/root"
		R=$W/ovl/root
		mount -t proc proc "$R/proc"
		mount --bind /dev "$R/dev"
		mount -t tmpfs tmpfs "$R/run"
		mount -t tmpfs tmpfs "$R/tmp"
		mkdir -p "$R/tmp/pkg"
		cp "$W/dimed.deb" "$W/lifecycle.sh" "$R/tmp/pkg/"
		chroot "$R" bash /tmp/pkg/lifecycle.sh /tmp/pkg/dimed.deb
	' lifecycle "$TMP" || fail "life cycle in the overlay chroot"
host_after=$(dpkg-query -W -f='${db:Status-Status}' dimed 2>/dev/null || true)
[ "$host_before" = "$host_after" ] || fail "the host's dpkg state of dimed changed ($host_before -> $host_after)"

say "PASS in $((SECONDS - T0)) s"
