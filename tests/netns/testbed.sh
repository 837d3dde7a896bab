#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Testbed self-test: the topology every scenario and benchmark relies on
# (drawn in lib.sh) must be right before anything is measured on it.
#   1. every host reaches every other over IPv4 and IPv6 (MH on both links);
#   2. HTB shaping gives the chosen rate within 10 %;
#   3. the user-space delay line adds the configured delay within 2 ms while
#      carrying 100 Mbit/s (no shaper then: a bottleneck queue would add its
#      own queueing delay to the measurement);
#   4. tb_cleanup leaves nothing behind, also when a test fails half-way or
#      is killed.
#   5. the kernel's socket table, which dimed learns flows from (sock_diag):
#      in MH's namespace a dump shows the TCP and UDP sockets made on MH's
#      addresses as the sockets see themselves, and closing them brings
#      destroy events (dime-netlink-probe sockdiag-check).
set -eu
. "$(dirname "$0")/lib.sh"

SHAPE_MBIT=100
DELAY_MS=20

addrs_of() {
	case $1 in
	mh) echo $TB_MH1_4 $TB_MH1_6 $TB_MH2_4 $TB_MH2_6 ;;
	r1) echo $TB_R1_MH_4 $TB_R1_MH_6 $TB_R1_CORE_4 $TB_R1_CORE_6 ;;
	r2) echo $TB_R2_MH_4 $TB_R2_MH_6 $TB_R2_CORE_4 $TB_R2_CORE_6 ;;
	core) echo $TB_CORE_R1_4 $TB_CORE_R1_6 $TB_CORE_R2_4 $TB_CORE_R2_6 $TB_CORE_CH_4 $TB_CORE_CH_6 ;;
	ch) echo $TB_CH_4 $TB_CH_6 ;;
	esac
}

check_reachability() {
	local from to addr bad=0 n=0
	for from in $TB_NODES; do
		for to in $TB_NODES; do
			[ "$from" = "$to" ] && continue
			for addr in $(addrs_of "$to"); do
				n=$((n + 1))
				if ! tb_exec "$from" ping -n -q -c 1 -W 2 "$addr" >/dev/null 2>&1; then
					tb_log "unreachable: $from -> $to $addr"
					bad=$((bad + 1))
				fi
			done
		done
	done
	[ $bad -eq 0 ] || tb_fail "$bad of $n host pairs unreachable"
	tb_log "reachability: all $n address pairs answer (IPv4 and IPv6)"
}

# median_rtt NODE ADDR COUNT: median ping round trip in ms.
median_rtt() {
	tb_exec "$1" ping -n -c "$3" -i 0.05 -W 2 "$2" |
		sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -n |
		awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# mean_mbit NAME FROM_S: mean of a dstream log's per-second goodput from
# second FROM_S on (the first seconds are TCP slow start).
mean_mbit() {
	awk -v from="$2" '/ t=/ { t = -1; m = 0; for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == "t") t = a[2]; if (a[1] == "mbit") m = a[2] }
		if (t >= from) { s += m; n++ } } END { if (n == 0) exit 1; printf "%.2f\n", s / n }' "$TB_TMP/$1.log"
}

check_shaping() {
	tb_shape $SHAPE_MBIT
	tb_stream_recv ch shape_rx --tcp 5201 -t 20 -i 5
	tb_exec mh "$(TB_DSTREAM)" send --tcp -c $TB_CH_4 -p 5201 -t 5 -q >"$TB_TMP/shape_tx.log" 2>&1 ||
		tb_fail "shaping: sender failed: $(tail -n 2 "$TB_TMP/shape_tx.log")"
	tb_wait_log 10 shape_rx "result="
	[ "$(tb_stream_field shape_rx result)" = OK ] || tb_fail "shaping: stream not verified: $(tail -n 1 "$TB_TMP/shape_rx.log")"
	local goodput wire
	goodput=$(mean_mbit shape_rx 2)
	# HTB counts whole Ethernet frames: 1514 bytes carry 1448 of stream.
	wire=$(awk -v g="$goodput" 'BEGIN { printf "%.2f", g * 1514 / 1448 }')
	tb_log "shaping: target $SHAPE_MBIT Mbit/s, goodput $goodput Mbit/s, on the wire $wire Mbit/s"
	awk -v w="$wire" -v r=$SHAPE_MBIT 'BEGIN { exit !(w >= 0.9 * r && w <= 1.1 * r) }' ||
		tb_fail "shaping: $wire Mbit/s is not within 10 % of $SHAPE_MBIT Mbit/s"
}

check_delay_line() {
	local base4 base6 loaded4 idle6 added4 added6 udp lost
	tb_unshape
	base4=$(median_rtt mh $TB_CH_4 20)
	base6=$(median_rtt mh $TB_CH_6 10)
	tb_delay $DELAY_MS
	idle6=$(median_rtt mh $TB_CH_6 10)

	# 100 Mbit/s of UDP through the delay line while we measure.
	tb_stream_recv ch udp_rx --udp 5202 -t 20 -i 3
	tb_bg mh udp_tx "$(TB_DSTREAM)" send --udp -c $TB_CH_4 -p 5202 -t 5 -r 100 -q >/dev/null
	sleep 1
	loaded4=$(median_rtt mh $TB_CH_4 40)
	tb_wait_log 15 udp_rx "result="

	added4=$(awk -v a="$loaded4" -v b="$base4" 'BEGIN { printf "%.2f", (a - b) / 2 }')
	added6=$(awk -v a="$idle6" -v b="$base6" 'BEGIN { printf "%.2f", (a - b) / 2 }')
	udp=$(tb_stream_field udp_rx mbit)
	lost=$(tb_stream_field udp_rx lost)
	tb_log "delay line: configured $DELAY_MS ms one way; measured IPv4 under 100 Mbit/s load $added4 ms (rtt $base4 -> $loaded4), IPv6 idle $added6 ms (rtt $base6 -> $idle6)"
	tb_log "delay line: UDP carried $udp Mbit/s, $lost datagrams lost"
	awk -v d="$added4" -v c=$DELAY_MS 'BEGIN { exit !(d >= c - 2 && d <= c + 2) }' ||
		tb_fail "delay line: IPv4 added $added4 ms, not within 2 ms of $DELAY_MS"
	awk -v d="$added6" -v c=$DELAY_MS 'BEGIN { exit !(d >= c - 2 && d <= c + 2) }' ||
		tb_fail "delay line: IPv6 added $added6 ms, not within 2 ms of $DELAY_MS"
	awk -v u="$udp" 'BEGIN { exit !(u >= 90) }' ||
		tb_fail "delay line: only $udp Mbit/s of the 100 offered got through"
}

check_sockdiag() {
	local out="$TB_TMP/sockdiag.log" freed
	tb_exec mh "$TB_BUILD_DIR/tests/tools/dime-netlink-probe" sockdiag-check $TB_MH1_4 $TB_MH1_6 \
		>"$out" 2>&1 ||
		tb_fail "sock_diag: $(grep -m 3 -e mismatch -e error -e failed "$out" | tr '\n' ' ')"
	freed=$(sed -n 's/.*sock=tcp4-client after_ms=\([0-9]*\).*/\1/p' "$out")
	tb_log "sock_diag: $(grep -c '^event=destroy-seen' "$out") sockets dumped, then destroy events for all (the closing TCP client's $freed ms after its close)"
}

# A child test that builds the testbed and then fails (or is killed) must
# leave no namespace and no process behind.
check_cleanup() {
	local child_out id pid
	child_out=$(mktemp)

	# A duration no other process on the machine runs (a bare "sleep 300"
	# elsewhere once failed this check).
	bash -c '. "$1"; set -e; tb_setup 2>/dev/null; tb_bg ch sleeper sleep "$2" >/dev/null; echo "$TB_ID"; false' \
		_ "$TB_LIB_DIR/lib.sh" "300.$$" >"$child_out" 2>/dev/null && tb_fail "cleanup: forced failure did not fail"
	id=$(head -n 1 "$child_out")
	[ -n "$id" ] || tb_fail "cleanup: child never built its testbed"
	[ -z "$(tb_leftovers "$id")" ] || tb_fail "cleanup: namespaces left after a failure: $(tb_leftovers "$id")"
	pgrep -f "^sleep 300\\.$$\$" >/dev/null && tb_fail "cleanup: a process of the failed test survived"
	[ -z "$id" ] || rm -rf "/tmp/dime-tb-$id".*	# the logs a failing test keeps: this failure was on purpose

	: >"$child_out"
	bash -c '. "$1"; set -e; tb_setup 2>/dev/null; echo "$TB_ID"; tb_sleep 60' \
		_ "$TB_LIB_DIR/lib.sh" >"$child_out" 2>/dev/null &
	pid=$!
	tb_wait_for 10 "killed child to build its testbed" grep -q . "$child_out"
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	id=$(head -n 1 "$child_out")
	rm -f "$child_out"
	[ -z "$(tb_leftovers "$id")" ] || tb_fail "cleanup: namespaces left after SIGTERM: $(tb_leftovers "$id")"
	[ -z "$id" ] || rm -rf "/tmp/dime-tb-$id".*
	tb_log "cleanup: nothing left after a failing and a killed test"
}

tb_setup
tb_mh_attach 2
check_reachability
check_sockdiag
check_shaping
check_delay_line
check_cleanup
tb_log "PASS: testbed self-test"
