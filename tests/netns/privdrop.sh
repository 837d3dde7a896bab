#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# dimed drops root after start-up and still does its whole job, including
# the clean-up at exit. Topology in lib.sh; dimed on MH and CH, locators set
# by hand (dimectl set-locator) as in stacktrans.sh.
#
#   MH's dimed drops to an unprivileged user: "dime" when this machine has
#   it (then by default, without -u), otherwise a throwaway system user made
#   here and removed at the end (its GECOS marks it, so a run killed with
#   SIGKILL is swept by the next). It starts the way systemd/dimed.service
#   starts it: root bounded by the unit's CapabilityBoundingSet, with
#   no_new_privs, and the default control socket /run/dime/dimed.sock in a
#   root-owned /run/dime as RuntimeDirectory= makes it (here a directory of
#   the test, bind-mounted on /run in a private mount namespace). CH's
#   dimed runs with -u root. Checked:
#    - /proc/PID/status of MH's dimed: the user's uid and gid in every slot,
#      no supplementary groups, CAP_NET_ADMIN and CAP_NET_RAW (0x3000) as the
#      effective, permitted, inheritable, ambient and bounding sets,
#      NoNewPrivs; CH's dimed is still root;
#    - dimectl stats and set-locator over the control socket (root), stats
#      for a member of group "dime" when that group exists, and a refusal
#      for a user outside it;
#    - work that needs the capabilities after the drop: a hard hand-off
#      (ipset entries, NFQUEUE rewriting, the old address pinned on lo over
#      rtnetlink) with byte-verified TCP and UDP streams, and the sysctls of
#      a link created after the drop;
#    - /run/dime was handed to the user;
#    - SIGTERM: dimed exits cleanly without a warning, its control socket is
#      gone, and no rule, set, pin or sysctl change is left (iptables-save
#      and -restore ran as the user with ambient capabilities).
set -eu
. "$(dirname "$0")/lib.sh"

DIMED=$TB_BUILD_DIR/src/dimed
DIMECTL=$TB_BUILD_DIR/src/dimectl
PD_GECOS="dimed privdrop test (throwaway)"
PD_USER=""
PD_CREATED=""
PD_PIDS=""
MH_PID="" MH_SOCK="" CH_PID="" CH_SOCK=""
CAPS=0000000000003000
MH1=$TB_MH1_4 MH2=$TB_MH2_4 CH=$TB_CH_4

# Throwaway users of runs that died without cleaning up (named after their PID).
pd_sweep_users() {
	local name pid
	for name in $(getent passwd | awk -F: -v g="$PD_GECOS" '$5 == g && $1 ~ /^dimepd[0-9]+$/ { print $1 }'); do
		pid=${name#dimepd}
		kill -0 "$pid" 2>/dev/null && continue
		userdel "$name" 2>/dev/null || true
		groupdel "$name" 2>/dev/null || true
	done
}

pd_make_user() {
	pd_sweep_users
	if getent passwd dime >/dev/null; then
		PD_USER=dime
		return
	fi
	PD_USER=dimepd$$
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin --comment "$PD_GECOS" "$PD_USER"
	PD_CREATED=1
	tb_log "made throwaway user $PD_USER"
}

# Our daemons go first (userdel refuses while the user has processes), then
# the user, then lib.sh's clean-up, which exits with the test's status.
pd_cleanup() {
	local rc=$? pid i alive
	set +e
	for pid in $PD_PIDS; do kill -TERM "$pid" 2>/dev/null; done
	for ((i = 0; i < 50; i++)); do
		alive=""
		for pid in $PD_PIDS; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for pid in $PD_PIDS; do kill -KILL "$pid" 2>/dev/null; done
	if [ -n "$PD_CREATED" ]; then
		userdel "$PD_USER" 2>/dev/null
		groupdel "$PD_USER" 2>/dev/null
		getent passwd "$PD_USER" >/dev/null && tb_log "could not remove user $PD_USER"
	fi
	(exit "$rc")
	tb_cleanup
}

# The unit's CapabilityBoundingSet as a setpriv --bounding-set argument.
unit_bounding_set() {
	local caps c set=-all
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$TB_SRC_DIR/systemd/dimed.service")
	[ -n "$caps" ] || tb_fail "no CapabilityBoundingSet in systemd/dimed.service"
	for c in $caps; do
		c=${c#CAP_}
		set="$set,+${c,,}"
	done
	echo "$set"
}

# start_dimed NODE SOCKET CMD...: CMD (dimed, or a wrapper that execs it)
# in NODE's namespace; waits until dimed answers on SOCKET. Its PID is left
# in LAST_PID.
start_dimed() {
	local node=$1 sock=$2
	shift 2
	tb_bg "$node" "dimed-$node" "$@" >/dev/null
	LAST_PID=${TB_PIDS##* }
	PD_PIDS="$PD_PIDS $LAST_PID"
	tb_wait_for 10 "dimed on $node to answer" "$DIMECTL" -s "$sock" version
}

# MH's dimed as the unit runs it (see the top). The wrappers exec, so the
# PID is dimed's.
start_dimed_as_unit() {
	local args=(-l debug)
	[ "$PD_USER" = dime ] || args+=(-u "$PD_USER")
	mkdir -m 0755 "$TB_TMP/run" "$TB_TMP/run/dime"
	MH_SOCK=$TB_TMP/run/dime/dimed.sock
	# shellcheck disable=SC2016 # expanded by the inner sh
	start_dimed mh "$MH_SOCK" unshare --mount --propagation private \
		sh -c 'mount --bind "$1" /run && b=$2 && d=$3 && shift 3 && exec setpriv --bounding-set="$b" --no-new-privs "$d" "$@"' \
		sh "$TB_TMP/run" "$(unit_bounding_set)" "$DIMED" "${args[@]}"
	MH_PID=$LAST_PID
}

start_dimed_ch() {
	CH_SOCK=$TB_TMP/ch.sock
	start_dimed ch "$CH_SOCK" "$DIMED" -l debug -s "$CH_SOCK" -u root
	CH_PID=$LAST_PID
}

ctl() { # ctl mh|ch ARGS...
	local node=$1 sock=$MH_SOCK
	shift
	[ "$node" = ch ] && sock=$CH_SOCK
	tb_exec "$node" "$DIMECTL" -s "$sock" "$@"
}

status_field() { # status_field PID FIELD: the value(s) of a /proc/PID/status line
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"
}

expect_field() { # expect_field PID FIELD WANT
	local got
	got=$(status_field "$1" "$2")
	[ "$got" = "$3" ] || tb_fail "dimed $1: $2 is \"$got\", want \"$3\""
}

check_credentials() {
	local pid=$MH_PID uid gid f
	uid=$(id -u "$PD_USER")
	gid=$(id -g "$PD_USER")
	expect_field "$pid" Uid "$uid $uid $uid $uid"
	expect_field "$pid" Gid "$gid $gid $gid $gid"
	expect_field "$pid" Groups ""
	for f in CapInh CapPrm CapEff CapBnd CapAmb; do expect_field "$pid" "$f" $CAPS; done
	expect_field "$pid" NoNewPrivs 1
	expect_field "$CH_PID" Uid "0 0 0 0"
	grep -q "privdrop: running as user $PD_USER" "$TB_TMP/dimed-mh.log" || tb_fail "MH's dimed did not log the drop"
	[ "$(stat -c %U "$TB_TMP/run/dime")" = "$PD_USER" ] || tb_fail "/run/dime was not handed to $PD_USER"
	tb_log "MH's dimed runs as $PD_USER ($uid:$gid) with CapEff=$CAPS"
}

# Root may always talk to dimed; group "dime" may when it exists; others not.
check_socket_access() {
	local sock=$MH_SOCK gid
	ctl mh stats >/dev/null || tb_fail "dimectl stats (root) failed after the drop"
	if setpriv --reuid=nobody --regid=nogroup --clear-groups "$DIMECTL" -s "$sock" stats >/dev/null 2>&1; then
		tb_fail "a user outside group dime could use the control socket"
	fi
	if gid=$(getent group dime | cut -d: -f3) && [ -n "$gid" ]; then
		setpriv --reuid=nobody --regid="$gid" --clear-groups "$DIMECTL" -s "$sock" stats >/dev/null ||
			tb_fail "a member of group dime cannot use the control socket"
		tb_log "control socket: root and group dime get in, others do not"
	else
		tb_log "control socket: root gets in, others do not (no group dime on this machine)"
	fi
}

start_streams() { # TCP and UDP, MH (bound to MH1) -> CH
	tb_stream_recv ch tcp_rx --tcp 6001 -t 40 -i 15
	tb_stream_recv ch udp_rx --udp 6002 -t 40 -i 15
	tb_bg mh tcp_tx "$(TB_DSTREAM)" send --tcp -c "$CH" -p 6001 -B "$MH1" -t 8 -r 20 >/dev/null
	tb_bg mh udp_tx "$(TB_DSTREAM)" send --udp -c "$CH" -p 6002 -B "$MH1" -t 8 -r 5 >/dev/null
	tb_wait_log 5 tcp_rx " t=1 "
}

check_streams() {
	local rx
	tb_wait_log 40 tcp_rx "result="
	tb_wait_log 40 udp_rx "result="
	for rx in tcp_rx udp_rx; do
		[ "$(tb_stream_field "$rx" result)" = OK ] || tb_fail "$rx: $(grep 'result=' "$TB_TMP/$rx.log" | tail -n 1)"
	done
	tb_log "TCP and UDP streams verified across the hand-off"
}

handoff_by_hand() { # see stacktrans.sh: both ends learn the locators during the gap
	tb_mh_detach 1
	ctl ch set-locator "$MH1" remote "$MH2"
	ctl mh set-locator "$CH" local "$MH2"
	tb_sleep 1
	tb_mh_attach 2
}

# A link that appears after the drop: dimed loosens its rp_filter (1 -> 2)
# through /proc/sys as the user, and restores it at exit.
sysctl_of() { tb_exec mh cat "/proc/sys/net/ipv4/conf/$1/rp_filter"; }
# Read at every poll (a "$(...)" argument would be read once, before dimed
# had a chance to act).
rp_filter_is() { [ "$(sysctl_of "$1")" = "$2" ]; }
link_after_drop() {
	tb_exec mh ip link add pdA type veth peer name pdB
	tb_wait_for 10 "dimed to loosen pdA's rp_filter" rp_filter_is pdA 2
	tb_log "rp_filter of a new link set after the drop"
}

kernel_state() { # as stacktrans.sh: rules, sets, lo's addresses, sysctls
	{
		tb_exec mh iptables-save | grep -E '^(-A |:[^ ]+ - )' || true
		tb_exec mh ip6tables-save | grep -E '^(-A |:[^ ]+ - )' || true
		tb_exec mh ipset list -n 2>/dev/null || true
		tb_exec mh ip -o addr show dev lo | awk '{ print $4 }'
		# shellcheck disable=SC2016 # expanded by the inner sh
		tb_exec mh sh -c 'for f in /proc/sys/net/ipv4/conf/*/rp_filter /proc/sys/net/ipv4/conf/*/arp_ignore /proc/sys/net/ipv4/conf/*/arp_announce; do echo "$f $(cat "$f")"; done'
	}
}

stop_mh() {
	local pid=$MH_PID
	kill -TERM "$pid"
	tb_wait_for 10 "dimed on MH to exit" bash -c "! kill -0 $pid 2>/dev/null"
	grep -q "stopped" "$TB_TMP/dimed-mh.log" || tb_fail "dimed on MH did not stop cleanly"
	if grep -E "^([0-9:.]+ )?dimed: .*(warning|error|cannot|refused|incomplete)" "$TB_TMP/dimed-mh.log" | grep -v "not tracked"; then
		tb_fail "dimed on MH logged a warning"
	fi
	if grep -E "AddressSanitizer|LeakSanitizer|runtime error" "$TB_TMP/dimed-mh.log"; then
		tb_fail "dimed on MH: sanitizer report"
	fi
	[ ! -e "$MH_SOCK" ] || tb_fail "the control socket outlived dimed"
}

tb_setup
trap pd_cleanup EXIT
pd_make_user
# The user must reach /run/dime (its socket, removed at exit) through it.
chmod 0711 "$TB_TMP"
# New links start with strict reverse-path filtering, which "all" does not
# override: dimed has to loosen each one itself.
tb_exec mh sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=1

before=$(kernel_state)
start_dimed_as_unit
start_dimed_ch
check_credentials
check_socket_access
start_streams
tb_sleep 2
handoff_by_hand
tb_wait_for 10 "MH1 pinned on lo" sh -c "ip -n $(tb_ns mh) -o addr show dev lo | grep -q ' $MH1/'"
link_after_drop
check_streams
[ "$(ctl mh dump stats | awk '$1 == "dp_out_rewritten" { print $2 }')" -gt 0 ] || tb_fail "MH rewrote nothing"
stop_mh
[ "$(sysctl_of pdA)" = 1 ] || tb_fail "pdA's rp_filter not restored: $(sysctl_of pdA)"
tb_exec mh ip link del pdA
tb_mh_detach 2
tb_mh_attach 1
after=$(kernel_state)
if [ "$before" != "$after" ]; then
	diff <(echo "$before") <(echo "$after") >&2 || true
	tb_fail "dimed left state behind after SIGTERM"
fi
tb_log "PASS: privdrop"
