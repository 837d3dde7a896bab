# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# Network-namespace testbed for dimed: the paper's Fig. 7 topology, built from
# nothing but namespaces and veth links, torn down by a trap whatever happens.
# Source this file from a scenario script (bash, set -eu) and call tb_setup.
#
#                     eth1  192.0.2.0/25          eth1  203.0.113.0/30
#                   +------------------------ R1 -----------------------+
#                   |       2001:db8:1::/64           2001:db8:f1::/64  |
#                   |                                                   |        203.0.113.128/25
#                  MH                                                 core ----------------------- CH
#                   |                                                   |  ch    2001:db8:c::/64   eth0
#                   |       198.51.100.0/25               203.0.113.4/30|
#                   +------------------------ R2 -----------------------+
#                     eth2  2001:db8:2::/64       eth1  2001:db8:f2::/64
#
# MH has two links, one to each access router; each router holds its own
# subnet, and the core routes between them and the correspondent host CH.
# MH starts attached to link 1 only (address and default route on eth1);
# link 2 is up but carries no address until tb_mh_attach 2. The core can
# shape (HTB, tb_shape) and delay (user-space NFQUEUE delay line, tb_delay)
# everything it forwards: the kernel here has no netem.
#
# Every namespace name starts with "dime-<run id>-", so parallel runs never
# collide and tb_cleanup removes exactly what this run made. Nothing is ever
# done in the machine's own (root) network namespace.

# ---- addresses (documentation ranges only) ---------------------------------
TB_MH1_4=192.0.2.10        TB_MH1_6=2001:db8:1::10
TB_R1_MH_4=192.0.2.1       TB_R1_MH_6=2001:db8:1::1
TB_MH2_4=198.51.100.10     TB_MH2_6=2001:db8:2::10
TB_R2_MH_4=198.51.100.1    TB_R2_MH_6=2001:db8:2::1
TB_CORE_R1_4=203.0.113.1   TB_CORE_R1_6=2001:db8:f1::1
TB_R1_CORE_4=203.0.113.2   TB_R1_CORE_6=2001:db8:f1::2
TB_CORE_R2_4=203.0.113.5   TB_CORE_R2_6=2001:db8:f2::1
TB_R2_CORE_4=203.0.113.6   TB_R2_CORE_6=2001:db8:f2::2
TB_CORE_CH_4=203.0.113.129 TB_CORE_CH_6=2001:db8:c::1
TB_CH_4=203.0.113.130      TB_CH_6=2001:db8:c::130
# A second address CH can move to (tb_ch_move), same link.
TB_CH_ALT_4=203.0.113.131  TB_CH_ALT_6=2001:db8:c::131

TB_NODES="mh r1 r2 core ch"

# ---- where things are --------------------------------------------------------
TB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TB_SRC_DIR=$(cd "$TB_LIB_DIR/../.." && pwd)
# The build whose binaries the scenarios use; ctest sets DIME_BUILD_DIR.
TB_BUILD_DIR=${DIME_BUILD_DIR:-$TB_SRC_DIR/build}
# dimed's log lines carry the wall-clock time (log.c), so a hand-off can be
# followed to the millisecond next to the tools' own timestamps.
export DIME_LOG_TIMESTAMPS=${DIME_LOG_TIMESTAMPS-1}

TB_ID=""
TB_TMP=""
TB_PIDS=""
TB_SLEEP_PID=""
TB_DELAY_QUEUE=7   # NFQUEUE number the delay line uses inside the core namespace

tb_log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }
tb_fail() { tb_log "FAIL: $*"; exit 1; }

tb_ns() { printf 'dime-%s-%s' "$TB_ID" "$1"; }

# tb_exec NODE CMD...: run CMD inside NODE's namespace.
tb_exec() {
	local node=$1
	shift
	ip netns exec "$(tb_ns "$node")" "$@"
}

# tb_bg NODE LOGNAME CMD...: run CMD in NODE's namespace in the background,
# output to $TB_TMP/LOGNAME.log; the PID is remembered for tb_cleanup and
# printed on stdout.
tb_bg() {
	local node=$1 name=$2
	shift 2
	ip netns exec "$(tb_ns "$node")" "$@" >"$TB_TMP/$name.log" 2>&1 &
	TB_PIDS="$TB_PIDS $!"
	echo $!
}

# tb_wait_for TIMEOUT_S DESCRIPTION CMD...: poll CMD every 50 ms until it
# succeeds; fail the test after TIMEOUT_S seconds. Never an unbounded wait.
tb_wait_for() {
	local timeout=$1 what=$2
	shift 2
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			tb_fail "timed out after ${timeout}s waiting for: $what"
		fi
		tb_sleep 0.05
	done
}

# tb_sleep SECONDS: a sleep that a signal interrupts at once (bash runs
# traps only between foreground commands, so a plain "sleep 60" would hold
# off SIGTERM and the cleanup for a minute).
tb_sleep() {
	sleep "$1" &
	TB_SLEEP_PID=$!
	wait "$TB_SLEEP_PID"
	TB_SLEEP_PID=""
}

# tb_wait_log TIMEOUT_S LOGNAME PATTERN: wait until a background log shows PATTERN.
tb_wait_log() {
	tb_wait_for "$1" "\"$3\" in $2.log" grep -q -- "$3" "$TB_TMP/$2.log"
}

# ---- construction ------------------------------------------------------------
tb_require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: network-namespace tests need root" >&2
		exit 77
	fi
}

# tb_link A IFA B IFB: a veth pair between two namespaces, both ends up.
# Created directly inside the namespaces, so no name is ever used in the
# root namespace.
tb_link() {
	ip -n "$(tb_ns "$1")" link add "$2" type veth peer name "$4" netns "$(tb_ns "$3")"
	ip -n "$(tb_ns "$1")" link set "$2" up
	ip -n "$(tb_ns "$3")" link set "$4" up
}

tb_addr() { # tb_addr NODE IF ADDR/LEN  (IPv6 without DAD: static test addresses)
	case $3 in
	*:*) ip -n "$(tb_ns "$1")" -6 addr add "$3" dev "$2" nodad ;;
	*) ip -n "$(tb_ns "$1")" addr add "$3" dev "$2" ;;
	esac
}

tb_node_init() {
	local ns
	ns=$(tb_ns "$1")
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	# No router advertisements exist here; keep autoconf quiet and predictable.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
	# No duplicate address detection on test links (link-local addresses
	# would stay tentative for 1-2 s and delay the first IPv6 packets).
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

tb_router_init() {
	ip netns exec "$(tb_ns "$1")" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

# New namespaces inherit IPv4 settings from the root namespace, whatever the
# machine has; hosts get a known reverse-path filter instead: loose (2) as
# Ubuntu ships it, or TB_RP_FILTER (1 = strict) for tests of dimed's handling.
tb_host_init() {
	local rp=${TB_RP_FILTER:-2}
	# promote_secondaries as systemd ships it: deleting a primary IPv4
	# address then keeps the other addresses of its subnet.
	ip netns exec "$(tb_ns "$1")" sysctl -qw net.ipv4.conf.all.rp_filter="$rp" \
		net.ipv4.conf.default.rp_filter="$rp" net.ipv4.conf.all.promote_secondaries=1 \
		net.ipv4.conf.default.promote_secondaries=1
}

# tb_setup: build the whole topology. MH attached to link 1.
tb_setup() {
	tb_require_root
	# The creating shell's PID is part of the name, so a sweeper can tell a
	# dead run's leftovers (scripts/test does) from a live parallel run.
	TB_ID="${$}x${RANDOM}"
	TB_TMP=$(mktemp -d "/tmp/dime-tb-$TB_ID.XXXXXX")
	trap tb_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	local node
	for node in $TB_NODES; do tb_node_init "$node"; done
	for node in r1 r2 core; do tb_router_init "$node"; done
	for node in mh ch; do tb_host_init "$node"; done

	tb_link mh eth1 r1 eth0
	tb_link mh eth2 r2 eth0
	tb_link r1 eth1 core r1
	tb_link r2 eth1 core r2
	tb_link core ch ch eth0

	tb_addr r1 eth0 $TB_R1_MH_4/25;      tb_addr r1 eth0 $TB_R1_MH_6/64
	tb_addr r2 eth0 $TB_R2_MH_4/25;      tb_addr r2 eth0 $TB_R2_MH_6/64
	tb_addr r1 eth1 $TB_R1_CORE_4/30;    tb_addr r1 eth1 $TB_R1_CORE_6/64
	tb_addr r2 eth1 $TB_R2_CORE_4/30;    tb_addr r2 eth1 $TB_R2_CORE_6/64
	tb_addr core r1 $TB_CORE_R1_4/30;    tb_addr core r1 $TB_CORE_R1_6/64
	tb_addr core r2 $TB_CORE_R2_4/30;    tb_addr core r2 $TB_CORE_R2_6/64
	tb_addr core ch $TB_CORE_CH_4/25;    tb_addr core ch $TB_CORE_CH_6/64
	tb_addr ch eth0 $TB_CH_4/25;         tb_addr ch eth0 $TB_CH_6/64

	ip -n "$(tb_ns r1)" route add default via $TB_CORE_R1_4
	ip -n "$(tb_ns r1)" -6 route add default via $TB_CORE_R1_6
	ip -n "$(tb_ns r2)" route add default via $TB_CORE_R2_4
	ip -n "$(tb_ns r2)" -6 route add default via $TB_CORE_R2_6
	ip -n "$(tb_ns core)" route add 192.0.2.0/25 via $TB_R1_CORE_4
	ip -n "$(tb_ns core)" route add 198.51.100.0/25 via $TB_R2_CORE_4
	ip -n "$(tb_ns core)" -6 route add 2001:db8:1::/64 via $TB_R1_CORE_6
	ip -n "$(tb_ns core)" -6 route add 2001:db8:2::/64 via $TB_R2_CORE_6
	ip -n "$(tb_ns ch)" route add default via $TB_CORE_CH_4
	ip -n "$(tb_ns ch)" -6 route add default via $TB_CORE_CH_6

	tb_mh_attach 1
	tb_log "testbed $TB_ID up (logs in $TB_TMP)"
}

# ---- moving the mobile host ----------------------------------------------------
tb_mh_if() { echo "eth$1"; }
tb_mh_addr4() { if [ "$1" = 1 ]; then echo $TB_MH1_4; else echo $TB_MH2_4; fi; }
tb_mh_addr6() { if [ "$1" = 1 ]; then echo $TB_MH1_6; else echo $TB_MH2_6; fi; }
tb_mh_gw4() { if [ "$1" = 1 ]; then echo $TB_R1_MH_4; else echo $TB_R2_MH_4; fi; }
tb_mh_gw6() { if [ "$1" = 1 ]; then echo $TB_R1_MH_6; else echo $TB_R2_MH_6; fi; }

# tb_mh_attach LINK: give MH its address on link 1 or 2 and a default route
# through that link's router (link 1 preferred while both are attached).
tb_mh_attach() {
	local link=$1 ns dev
	ns=$(tb_ns mh)
	dev=$(tb_mh_if "$link")
	ip -n "$ns" addr add "$(tb_mh_addr4 "$link")/25" dev "$dev"
	ip -n "$ns" -6 addr add "$(tb_mh_addr6 "$link")/64" dev "$dev" nodad
	# replace: an IPv6 default route outlives the address it was reached by.
	ip -n "$ns" route replace default via "$(tb_mh_gw4 "$link")" dev "$dev" metric "${link}00"
	ip -n "$ns" -6 route replace default via "$(tb_mh_gw6 "$link")" dev "$dev" metric "${link}00"
	tb_log "MH attached to link $link ($(tb_mh_addr4 "$link"), $(tb_mh_addr6 "$link"))"
}

# tb_mh_detach LINK: take MH's addresses off that link, as the paper did with
# "ip addr del"; the routes through it vanish with them.
tb_mh_detach() {
	local link=$1 ns dev
	ns=$(tb_ns mh)
	dev=$(tb_mh_if "$link")
	ip -n "$ns" addr del "$(tb_mh_addr4 "$link")/25" dev "$dev"
	ip -n "$ns" -6 addr del "$(tb_mh_addr6 "$link")/64" dev "$dev"
	tb_log "MH detached from link $link"
}

# tb_handoff hard|soft GAP_S [FROM TO]: move MH from link FROM (default 1)
# to link TO (default 2). Hard: the old address goes, GAP_S seconds of no
# address, then the new one. Soft: the new address comes GAP_S seconds
# before the old one goes.
tb_handoff() {
	local kind=$1 gap=$2 from=${3:-1} to=${4:-2}
	case $kind in
	hard) tb_mh_detach "$from"; tb_sleep "$gap"; tb_mh_attach "$to" ;;
	soft) tb_mh_attach "$to"; tb_sleep "$gap"; tb_mh_detach "$from" ;;
	*) tb_fail "tb_handoff: hard or soft, not \"$kind\"" ;;
	esac
}

# tb_ch_move: CH changes its address to the alternative one on the same link.
tb_ch_move() {
	local ns
	ns=$(tb_ns ch)
	ip -n "$ns" addr add $TB_CH_ALT_4/25 dev eth0
	ip -n "$ns" -6 addr add $TB_CH_ALT_6/64 dev eth0 nodad
	ip -n "$ns" addr del $TB_CH_4/25 dev eth0
	ip -n "$ns" -6 addr del $TB_CH_6/64 dev eth0
	ip -n "$ns" route replace default via $TB_CORE_CH_4
	ip -n "$ns" -6 route replace default via $TB_CORE_CH_6
	tb_log "CH moved to $TB_CH_ALT_4, $TB_CH_ALT_6"
}

# ---- shaping and delay in the core -----------------------------------------------
# tb_shape RATE_MBIT [QUEUE_BYTES]: HTB at RATE on every interface the core
# sends on, so both directions between MH and CH see a RATE bottleneck. The
# bottleneck queue is a byte FIFO (default 256 KiB, about 20 ms at
# 100 Mbit/s) rather than veth's 1000 packets, which would add over 100 ms of
# queueing to every TCP measurement. (fq_codel is not in this kernel.)
tb_shape() {
	local rate=$1 qbytes=${2:-262144} dev ns
	ns=$(tb_ns core)
	for dev in r1 r2 ch; do
		tc -n "$ns" qdisc replace dev "$dev" root handle 1: htb default 10
		tc -n "$ns" class replace dev "$dev" parent 1: classid 1:10 htb rate "${rate}mbit" ceil "${rate}mbit" quantum 60000
		tc -n "$ns" qdisc replace dev "$dev" parent 1:10 handle 10: bfifo limit "$qbytes"
	done
	tb_log "core shaped to ${rate} Mbit/s each way"
}

tb_unshape() {
	local dev
	for dev in r1 r2 ch; do tc -n "$(tb_ns core)" qdisc del dev "$dev" root 2>/dev/null || true; done
}

# tb_delay MS: every packet the core forwards waits MS milliseconds (one way;
# a round trip MH-CH-MH gets 2*MS). Runs dime-delayline in the core namespace.
tb_delay() {
	local ms=$1 bin=$TB_BUILD_DIR/tests/tools/dime-delayline
	[ -x "$bin" ] || tb_fail "delay line not built: $bin"
	# -p: real-time priority; on a busy 2-core machine a normal-priority
	# sleeper wakes late by up to milliseconds.
	tb_bg core delayline "$bin" -q $TB_DELAY_QUEUE -d "$ms" -p 50 >/dev/null
	tb_wait_log 5 delayline "ready"
	local t
	for t in iptables ip6tables; do
		# --queue-bypass: if the delay line dies, forwarding goes on undelayed
		# instead of black-holing the testbed.
		tb_exec core "$t" -t mangle -A FORWARD -j NFQUEUE --queue-num $TB_DELAY_QUEUE --queue-bypass
	done
	tb_log "core delays every forwarded packet by ${ms} ms"
}

# ---- byte-verified streams -------------------------------------------------------
TB_DSTREAM() { echo "$TB_BUILD_DIR/tests/tools/dstream"; }

# tb_stream_recv NODE NAME (--tcp|--udp) PORT [dstream recv options...]:
# start a verifying receiver in the background and wait until it listens.
tb_stream_recv() {
	local node=$1 name=$2 proto=$3 port=$4
	shift 4
	tb_bg "$node" "$name" "$(TB_DSTREAM)" recv "$proto" -p "$port" "$@" >/dev/null
	tb_wait_log 5 "$name" "listening"
}

# tb_stream_result NAME: the final line's result (OK/FAIL) of a dstream log.
tb_stream_field() { # tb_stream_field NAME KEY -> value from the final result line
	awk -v k="$2" '/result=/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) v = kv[2] } } END { print v }' \
		"$TB_TMP/$1.log"
}

# tb_goodput_table NAME...: print the per-second receiver goodput of several
# dstream logs side by side.
tb_goodput_table() {
	local name
	printf '%6s' "second"
	for name in "$@"; do printf ' %14s' "$name"; done
	printf '\n'
	local maxt=0 t
	for name in "$@"; do
		t=$(awk '/ t=/ { for (i = 1; i <= NF; i++) if ($i ~ /^t=/) { split($i, a, "="); if (a[2] > m) m = a[2] } } END { print m + 0 }' "$TB_TMP/$name.log")
		((t > maxt)) && maxt=$t
	done
	for ((t = 1; t <= maxt; t++)); do
		printf '%6d' "$t"
		for name in "$@"; do
			awk -v t="$t" '/ t=/ { ok = 0; for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == "t" && a[2] == t) ok = 1; if (a[1] == "mbit") m = a[2] } if (ok) { v = m; found = 1 } }
				END { if (found) printf " %9.2f Mb/s", v; else printf " %14s", "-" }' "$TB_TMP/$name.log"
		done
		printf '\n'
	done
}

# ---- CH with two addresses ----------------------------------------------------------
# tb_ch_add_alt: CH gains its alternative address and keeps the old one.
tb_ch_add_alt() {
	local ns
	ns=$(tb_ns ch)
	ip -n "$ns" addr add $TB_CH_ALT_4/25 dev eth0
	ip -n "$ns" -6 addr add $TB_CH_ALT_6/64 dev eth0 nodad
	tb_log "CH also has $TB_CH_ALT_4, $TB_CH_ALT_6"
}

# tb_ch_drop_primary: CH loses its first address and keeps the alternative.
tb_ch_drop_primary() {
	local ns
	ns=$(tb_ns ch)
	ip -n "$ns" addr del $TB_CH_4/25 dev eth0
	ip -n "$ns" -6 addr del $TB_CH_6/64 dev eth0
	ip -n "$ns" route replace default via $TB_CORE_CH_4
	ip -n "$ns" -6 route replace default via $TB_CORE_CH_6
	tb_log "CH lost $TB_CH_4, $TB_CH_6"
}

# ---- dimed on the testbed ------------------------------------------------------------
# Each node runs at most one dimed, with its configuration in $TB_TMP/NODE.conf,
# its control socket at $TB_TMP/NODE.sock and its log in $TB_TMP/dimed-NODE.log.
TB_DIMED() { echo "$TB_BUILD_DIR/src/dimed"; }
TB_DIMECTL() { echo "$TB_BUILD_DIR/src/dimectl"; }

# tb_dimed_start NODE [DIRECTIVE VALUE]...: write NODE's dime.conf from the
# pairs, start dimed at debug level and wait until it answers.
tb_dimed_start() {
	local node=$1 conf
	shift
	conf=$TB_TMP/$node.conf
	: >"$conf"
	while [ $# -ge 2 ]; do
		printf '%s %s\n' "$1" "$2" >>"$conf"
		shift 2
	done
	[ -x "$(TB_DIMED)" ] || tb_fail "dimed not built: $(TB_DIMED)"
	tb_bg "$node" "dimed-$node" "$(TB_DIMED)" -f "$conf" -l debug -s "$TB_TMP/$node.sock" >/dev/null
	# ip netns exec execs the command: this PID is dimed's.
	printf -v "TB_DIMED_PID_$node" '%s' "${TB_PIDS##* }"
	tb_wait_for 10 "dimed on $node to answer" "$(TB_DIMECTL)" -s "$TB_TMP/$node.sock" version
}

tb_dimed_pid() { local v="TB_DIMED_PID_$1"; echo "${!v:-}"; }

# tb_ctl NODE ARGS...: dimectl against NODE's dimed.
tb_ctl() {
	local node=$1
	shift
	tb_exec "$node" "$(TB_DIMECTL)" -s "$TB_TMP/$node.sock" "$@"
}

# tb_stat NODE NAME: one counter of NODE's dimed (0 when it has no such counter).
tb_stat() {
	tb_ctl "$1" dump stats | awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }'
}

# tb_dimed_stop NODE: SIGTERM, wait (bounded) for a clean exit.
tb_dimed_stop() {
	local node=$1 pid
	pid=$(tb_dimed_pid "$node")
	if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then tb_fail "dimed on $node is not running"; fi
	kill -TERM "$pid"
	tb_wait_for 10 "dimed on $node to exit" bash -c "! kill -0 $pid 2>/dev/null"
	grep -q "stopped" "$TB_TMP/dimed-$node.log" || tb_fail "dimed on $node did not stop cleanly"
}

# tb_dimed_check_log NODE [IGNORE_ERE]: no warning or error line (other than
# those matching IGNORE_ERE) and no sanitizer report in NODE's dimed log.
tb_dimed_check_log() {
	local node=$1 ignore=${2:-^$} log=$TB_TMP/dimed-$1.log
	if grep -E "^([0-9:.]+ )?dimed: .*(warning|error|cannot|refused)" "$log" | grep -Ev "$ignore" >&2; then
		tb_fail "dimed on $node logged a warning"
	fi
	if grep -E "AddressSanitizer|LeakSanitizer|runtime error" "$log" >&2; then
		tb_fail "dimed on $node: sanitizer report"
	fi
}

# ---- IHMP on the wire ---------------------------------------------------------------
# A router without dimed counts the IHMP datagrams it forwards, by family and
# message type (byte 1 of the UDP payload) and, for ACKs, by the type they
# acknowledge (the ACKED TLV right after HOST_ID), with u32 matches in a user
# chain of its filter table. IPv6 offsets assume no extension headers, which
# IHMP never sends.
TB_IHMP_PORT=${TB_IHMP_PORT:-5150}
TB_IHMP_TYPES="HELLO PATH_PROBE ADDR_UP ADDR_UP_UNREACHABLE ADDR_DOWN ADDR_DOWN_UNREACHABLE HANDOFF HANDOFF_UNREACHABLE ACK NAT_ENTRY"

# tb_ihmp_count_start NODE: install the counters in NODE (a router).
tb_ihmp_count_start() {
	local node=$1 t name n v4 v6 a4 a6
	for t in iptables ip6tables; do
		tb_exec "$node" "$t" -N TB-IHMP
		tb_exec "$node" "$t" -I FORWARD -p udp -m multiport --ports "$TB_IHMP_PORT" -j TB-IHMP
		tb_exec "$node" "$t" -A TB-IHMP -m comment --comment "tb-ihmp total"
	done
	n=0
	for name in $TB_IHMP_TYPES; do
		n=$((n + 1))
		# the first 4 payload bytes: version, type, flags
		v4="0>>22&0x3C@8>>16&0xFF=$n" v6="48>>16&0xFF=$n"
		tb_exec "$node" iptables -A TB-IHMP -m u32 --u32 "$v4" -m comment --comment "tb-ihmp $name"
		tb_exec "$node" ip6tables -A TB-IHMP -m u32 --u32 "$v6" -m comment --comment "tb-ihmp $name"
		[ "$name" = ACK ] && continue
		# ACK (9): HOST_ID (4 + 4 or 16 bytes), then the ACKED TLV (type 2,
		# length 1, value), read as the 4 bytes ending with its value (u32
		# reads only words that lie wholly inside the packet).
		a4=$(printf '0>>22&0x3C@8>>16&0xFF=9&&0>>22&0x3C@25=0x20001%02x' "$n")
		a6=$(printf '48>>16&0xFF=9&&77=0x20001%02x' "$n")
		tb_exec "$node" iptables -A TB-IHMP -m u32 --u32 "$a4" -m comment --comment "tb-ihmp ACK/$name"
		tb_exec "$node" ip6tables -A TB-IHMP -m u32 --u32 "$a6" -m comment --comment "tb-ihmp ACK/$name"
	done
}

# tb_ihmp_count_zero NODE: reset the counters.
tb_ihmp_count_zero() {
	tb_exec "$1" iptables -Z TB-IHMP
	tb_exec "$1" ip6tables -Z TB-IHMP
}

# tb_ihmp_wire NODE 4|6|46 WHAT: datagrams counted so far; WHAT is total, a
# type name (HANDOFF) or ACK/TYPE (the ACKs of that type).
tb_ihmp_wire() {
	local node=$1 fams=$2 what=$3 f t n=0 v
	for f in $(echo "$fams" | grep -o .); do
		t=iptables
		[ "$f" = 6 ] && t=ip6tables
		v=$(tb_exec "$node" "$t" -L TB-IHMP -n -v -x |
			awk -v c="/* tb-ihmp $what */" 'index($0, c) { print $1 }')
		n=$((n + ${v:-0}))
	done
	echo "$n"
}

# tb_ihmp_wire_table NODE: every non-zero counter, one "family name count" a line.
tb_ihmp_wire_table() {
	local t f
	for t in iptables ip6tables; do
		f=4
		[ "$t" = ip6tables ] && f=6
		tb_exec "$1" "$t" -L TB-IHMP -n -v -x |
			awk -v f="$f" 'match($0, /\/\* tb-ihmp [^ ]+ \*\//) && $1 > 0 {
				s = substr($0, RSTART + 11, RLENGTH - 14); printf "IPv%s %-28s %s\n", f, s, $1 }'
	done
}

# ---- teardown ------------------------------------------------------------------------
# Kill everything this run started, then every namespace it made. Runs from
# the EXIT trap, so also when a test fails half-way; it never fails itself.
tb_cleanup() {
	local rc=$? pid node ns
	trap - EXIT
	set +e
	for pid in $TB_PIDS $TB_SLEEP_PID; do kill "$pid" 2>/dev/null; done
	# Give daemons a moment to undo their own changes before the rest of
	# each namespace's processes are killed (bounded: 3 s).
	local i alive
	for ((i = 0; i < 30; i++)); do
		alive=""
		for pid in $TB_PIDS; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	if [ -n "$TB_ID" ]; then
		for node in $TB_NODES; do
			ns=$(tb_ns "$node")
			[ -e "/run/netns/$ns" ] || continue
			# Processes still inside (dimed, receivers) would keep the namespace's
			# resources alive after its name is gone.
			ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		done
		sleep 0.1
		for node in $TB_NODES; do
			ns=$(tb_ns "$node")
			[ -e "/run/netns/$ns" ] || continue
			ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
			ip netns del "$ns" 2>/dev/null
		done
	fi
	wait 2>/dev/null
	if [ -n "$TB_TMP" ] && [ -d "$TB_TMP" ]; then
		if [ "$rc" -ne 0 ] || [ -n "${DIME_KEEP_LOGS:-}" ]; then
			tb_log "logs kept in $TB_TMP"
		else
			rm -rf "$TB_TMP"
		fi
	fi
	exit "$rc"
}

# tb_leftovers ID: namespaces of run ID still present (empty when clean).
tb_leftovers() {
	ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^dime-$1-" || true
}

# tb_sweep: delete namespaces of testbed runs whose creating shell is dead
# (a run killed with SIGKILL, e.g. by a ctest timeout, cannot clean up).
# Live runs, whoever started them, are left alone. Prints what it removed.
tb_sweep() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E '^dime-[0-9]+x[0-9]+-' || true); do
		pid=${ns#dime-}
		pid=${pid%%x*}
		kill -0 "$pid" 2>/dev/null && continue
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null && echo "$ns"
	done
}
