#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Install, reinstall, remove and purge dimed.deb with the real dpkg, checking
# the result of each step. Run ONLY by debian.sh, as root inside a chroot on
# an overlay of / in private mount, PID and network namespaces: it writes to
# /etc, /usr and the dpkg database of whatever root it runs in, and refuses
# to run anywhere else (it checks for the marker debian.sh's chroot has: a
# tmpfs /run with no systemd in it, and a network namespace with only lo).
#
# /usr/bin/systemctl is replaced by a recorder that answers "disabled" unless
# the unit's wants/ link exists, and /run/systemd/system is created, so the
# maintainer scripts behave as under a running systemd; the log shows what
# they asked for. dimed itself is only ever run as "dimed -n" (config check).
#   lifecycle.sh DEB
set -euo pipefail

DEB=$1
LOG=/tmp/pkg/systemctl.log

fail() { printf 'pkg: lifecycle: FAIL: %s\n' "$*" >&2; exit 1; }
say() { printf 'pkg: lifecycle: %s\n' "$*"; }

[ "$(findmnt -n -o FSTYPE /run 2>/dev/null || true)" = tmpfs ] || fail "not in debian.sh's chroot"
[ ! -e /run/systemd/private ] || fail "not in debian.sh's chroot"
[ "$(awk 'NR > 2' /proc/net/dev | grep -cv ' lo:' || true)" = 0 ] ||
	fail "not in an empty network namespace"

mkdir -p /run/systemd/system
# A policy-rc.d (container images ship one that says 101, "never") would make
# deb-systemd-invoke exit before it looks at the unit: remove it so the test
# sees the decision dimed's scripts get on a real host.
rm -f /usr/sbin/policy-rc.d
rm -f /usr/bin/systemctl
cat >/usr/bin/systemctl <<'EOF'
#!/bin/sh
# Recorder standing in for systemctl (see lifecycle.sh).
echo "$*" >>/tmp/pkg/systemctl.log
for last; do :; done
case " $* " in
*" is-enabled "*)
	if ls /etc/systemd/system/*.wants/"$last" >/dev/null 2>&1; then echo enabled; exit 0; fi
	echo disabled; exit 1 ;;
*" is-active "*) exit 3 ;;
*" preset "* | *" enable "*)
	# What the real one does with dimed's [Install] WantedBy=multi-user.target.
	mkdir -p /etc/systemd/system/multi-user.target.wants
	ln -sf "/lib/systemd/system/$last" /etc/systemd/system/multi-user.target.wants/ ;;
esac
exit 0
EOF
chmod 755 /usr/bin/systemctl
: >"$LOG"

export DEBIAN_FRONTEND=noninteractive
status() { dpkg-query -W -f='${db:Status-Abbrev}' dimed 2>/dev/null | tr -d ' ' || true; }
no_daemon() { ! pgrep -x dimed >/dev/null || fail "a dimed process is running after $1"; }
not_started() {
	! grep -Eq '(^| )(start|restart|enable|preset|reload-or-restart)( |$).*dimed' "$LOG" ||
		fail "maintainer scripts asked systemd to enable or start dimed after $1: $(cat "$LOG")"
}

[ -z "$(status)" ] || [ "$(status)" = un ] || fail "dimed already known to dpkg in the chroot"
getent group dime >/dev/null && had_group=1 || had_group=0

# install
dpkg -i "$DEB" >/tmp/pkg/dpkg-install.log 2>&1 ||
	{ cat /tmp/pkg/dpkg-install.log >&2; fail "dpkg -i (are the Depends installed? scripts/deps)"; }
[ "$(status)" = ii ] || fail "status after install: $(status)"
for f in /usr/sbin/dimed /usr/sbin/dimectl; do [ -x "$f" ] || fail "$f missing"; done
[ -f /lib/systemd/system/dimed.service ] || fail "no dimed.service"
dpkg-query -W -f='${Conffiles}\n' dimed | grep -q '/etc/dime/dime.conf' || fail "conffile not registered"
dimed -n 2>&1 | grep -q 'configuration OK' || fail "dimed -n rejects the shipped /etc/dime/dime.conf"
dimectl --help | grep -q '^Usage: dimectl' || fail "dimectl --help"
g=$(getent group dime) || fail "no dime group"
u=$(getent passwd dime) || fail "no dime user"
gid=$(echo "$g" | cut -d: -f3)
[ "$(echo "$u" | cut -d: -f4)" = "$gid" ] || fail "dime user not in the dime group: $u"
[ "$(echo "$u" | cut -d: -f6)" = /nonexistent ] || fail "dime user has a home: $u"
[ "$(echo "$u" | cut -d: -f7)" = /usr/sbin/nologin ] || fail "dime user has a shell: $u"
[ "$(echo "$u" | cut -d: -f3)" -lt 1000 ] || fail "dime user is not a system user: $u"
ls /etc/systemd/system/*.wants/dimed.service >/dev/null 2>&1 && fail "dimed.service enabled on install"
grep -q daemon-reload "$LOG" || fail "postinst did not reload systemd (scripts not run as under systemd?)"
grep -q 'is-enabled.*dimed.service' "$LOG" || fail "deb-systemd-invoke did not consider starting dimed"
not_started install
no_daemon install
say "installed: $u; unit neither enabled nor started"

# bash completion, as an interactive shell would load it
out=$(bash -c '. /usr/share/bash-completion/bash_completion
	. /usr/share/bash-completion/completions/dimectl
	c() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
	      COMPREPLY=(); _dimectl; echo "${COMPREPLY[*]}"; }
	c dimectl ""; c dimectl dump ""; c dimectl show ""; c dimectl set-locator 192.0.2.1 ""
	c dimectl set-local-key -')
[ "$out" = "show stats dump monitor set-locator set-local-key reload version help
hids flows addrs keys stats
hids flows addrs keys
remote local
--remove" ] || fail "bash completion: $out"

# reinstall (postinst configure with a previous version: idempotent, no start)
echo '# local change' >>/etc/dime/dime.conf
dpkg -i "$DEB" >/tmp/pkg/dpkg-reinstall.log 2>&1 || { cat /tmp/pkg/dpkg-reinstall.log >&2; fail "reinstall"; }
[ "$(getent passwd dime)" = "$u" ] || fail "reinstall changed the dime user"
grep -q '^# local change' /etc/dime/dime.conf || fail "reinstall lost the local conffile change"
not_started reinstall
no_daemon reinstall
say "reinstalled; conffile change kept; user unchanged"

# remove: programs go, the conffile stays
dpkg -r dimed >/tmp/pkg/dpkg-remove.log 2>&1 || { cat /tmp/pkg/dpkg-remove.log >&2; fail "dpkg -r"; }
[ "$(status)" = rc ] || fail "status after remove: $(status)"
grep -q "stop dimed.service" "$LOG" || fail "prerm did not stop dimed on remove"
[ ! -e /usr/sbin/dimed ] && [ ! -e /lib/systemd/system/dimed.service ] || fail "files left after remove"
grep -q '^# local change' /etc/dime/dime.conf || fail "remove deleted the conffile"
say "removed; /etc/dime/dime.conf kept"

# purge: /etc/dime (with anything the admin added) and /run/dime go; the
# dime user and group stay (see debian/dimed.postrm)
echo key >/etc/dime/admin-added
mkdir -p /run/dime
dpkg -P dimed >/tmp/pkg/dpkg-purge.log 2>&1 || { cat /tmp/pkg/dpkg-purge.log >&2; fail "dpkg -P"; }
[ -z "$(status)" ] || [ "$(status)" = un ] || fail "status after purge: $(status)"
[ ! -e /etc/dime ] || fail "/etc/dime left after purge"
[ ! -e /run/dime ] || fail "/run/dime left after purge"
getent passwd dime >/dev/null && getent group dime >/dev/null || fail "purge removed the dime user or group"
no_daemon purge
say "purged; /etc/dime gone; dime user and group kept"
say "systemctl calls: $(tr '\n' ';' <"$LOG")"
[ "$had_group" = 0 ] || say "note: a dime group existed before the install"
