#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# IHMP messages per hand-off against the number of connections to the peer
# (paper: one hand-off costs one message and one ACK per peer, whatever the
# number of connections). On the testbed (tests/netns/lib.sh), with dimed
# and IHMP on MH and CH, for each N (default 1, 100 and 1000):
#
#   N TCP connections MH -> CH (dime-manyconn, 2 records a second each),
#   then a hard hand-off (MH link 1 -> 1 s without address -> link 2).
#
# The core runs no dimed and counts the IHMP datagrams it forwards (iptables
# u32 counters by family and type, lib.sh tb_ihmp_count_start): every
# datagram between MH and CH crosses it. Counted from just before MH loses
# its address until 5 s after it has the new one, so retransmissions would
# show. Target: 2 (one HANDOFF, one ACK) per family that moved, flat in N.
# Figures from one run; nothing is asserted.
#
# Usage: sudo bench/ihmp_scale.sh ["N ..."]   (default "1 100 1000")
set -eu
. "$(dirname "$0")/../tests/netns/lib.sh"

COUNTS=${1:-"1 100 1000"}
PV=${DIME_BENCH_PATH_VALIDATION:-yes}	# ihmp-path-validation on both hosts
MANYCONN=$TB_BUILD_DIR/tests/tools/dime-manyconn
[ -x "$MANYCONN" ] || { echo "$0: not built: $MANYCONN (set DIME_BUILD_DIR)" >&2; exit 2; }
for n in $COUNTS; do
	case $n in '' | *[!0-9]*) echo "usage: $0 [\"N ...\"]" >&2; exit 2 ;; esac
done

flows_ge() { [ "$(tb_ctl "$1" dump flows | wc -l)" -ge "$2" ]; }

tb_setup 2>/dev/null
tb_ihmp_count_start core
rows=()
for n in $COUNTS; do
	port=$((7000 + n % 1000))
	tb_dimed_start mh ihmp yes ihmp-path-validation "$PV" 2>/dev/null
	tb_dimed_start ch ihmp yes ihmp-path-validation "$PV" 2>/dev/null
	tb_bg ch "rx$n" "$MANYCONN" server -p "$port" -n "$n" -t 120 -i 30 >/dev/null
	tb_wait_log 5 "rx$n" "listening" 2>/dev/null
	tb_bg mh "tx$n" "$MANYCONN" client -c $TB_CH_4 -p "$port" -B $TB_MH1_4 -n "$n" -t 8 -r 2 -g 40 >/dev/null
	tb_wait_log 30 "tx$n" "connected" 2>/dev/null
	tb_wait_for 30 "MH's dimed to know $n flows" flows_ge mh "$n" 2>/dev/null
	tb_sleep 1
	tb_ihmp_count_zero core
	rt0=$(( $(tb_stat mh ihmp_retransmissions) + $(tb_stat ch ihmp_retransmissions) ))
	tb_handoff hard 1 1 2 2>/dev/null
	tb_sleep 5
	tb_ihmp_wire_table core | sed "s/^/  N=$n: /" >&2
	setup=$(( $(tb_ihmp_wire core 46 HELLO) + $(tb_ihmp_wire core 46 ACK/HELLO) ))
	probes=$(( $(tb_ihmp_wire core 46 PATH_PROBE) + $(tb_ihmp_wire core 46 ACK/PATH_PROBE) ))
	rows+=("$n $(tb_ihmp_wire core 4 total) $(tb_ihmp_wire core 6 total) $setup $(tb_ihmp_wire core 46 HANDOFF) $(tb_ihmp_wire core 46 ACK/HANDOFF) $probes $(( $(tb_stat mh ihmp_retransmissions) + $(tb_stat ch ihmp_retransmissions) - rt0 ))")
	tb_wait_log 60 "rx$n" "result=" 2>/dev/null
	tb_wait_log 60 "tx$n" "result=" 2>/dev/null
	rows[-1]="${rows[-1]} $(grep -o 'result=[A-Z]*' "$TB_TMP/rx$n.log" | cut -d= -f2) $(grep 'result=' "$TB_TMP/rx$n.log" | grep -o 'ended=[0-9]*')"
	tb_dimed_stop mh 2>/dev/null
	tb_dimed_stop ch 2>/dev/null
	# back to link 1, with nothing running
	tb_mh_detach 2 2>/dev/null
	tb_mh_attach 1 2>/dev/null
done

echo "IHMP datagrams on the wire for one hard hand-off (counted in the core, until 5 s after it),"
echo "ihmp-path-validation $PV on both hosts (DIME_BENCH_PATH_VALIDATION=no for the paper's protocol)."
echo "Target: 2 per family that moved (HANDOFF + its ACK), the same for every N; path validation"
echo "adds a PATH_PROBE + ACK per family (CH proving MH's new address, docs/security.md 3.6)."
echo "hand-off: every datagram but the set-up ones (HELLO and its ACK, still retried by a slow start"
echo "of N connections), which are given apart; probes: PATH_PROBE and its ACK (included in hand-off);"
echo "retrans: retransmissions by either host in that time; survived: connections verified to the end."
printf '  %6s %9s %6s %6s %8s %12s %7s %7s %8s %8s %14s\n' N hand-off IPv4 IPv6 HANDOFF "ACK/HANDOFF" probes set-up retrans "per N=1" survived
base=""
for row in "${rows[@]}"; do
	read -r n v4 v6 su h a pr rt res ended <<<"$row"
	total=$((v4 + v6 - su))
	[ -n "$base" ] || base=$total
	awk -v n="$n" -v v4="$v4" -v v6="$v6" -v su="$su" -v h="$h" -v a="$a" -v pr="$pr" -v rt="$rt" -v t="$total" \
		-v b="$base" -v res="$res" -v e="${ended#ended=}" 'BEGIN {
		printf "  %6d %9d %6d %6d %8d %12d %7d %7d %8d %8.2f %9s %s/%d\n", n, t, v4, v6, h, a, pr, su, rt, b ? t / b : 0, res, e, n }'
done
