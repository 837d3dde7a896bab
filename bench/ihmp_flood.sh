#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Goodput of a moved flow under an IHMP flood (issue #6: "50,000 messages/s
# at the IHMP port, the transfer kept at 90 % of its goodput"). On the
# testbed (tests/netns/lib.sh) plus an attacker namespace on the core
# (192.0.2.130/26, as in tests/netns/attack.sh), dimed on MH and CH with
# ihmp-auth required and keys on both sides:
#
#   one TCP stream CH -> MH, byte-verified, as fast as the core's shaping
#   (default 100 Mbit/s each way) lets it; MH moves from link 1 to link 2,
#   so every packet of the flow is translated at both ends; then, in one
#   run, side by side: S seconds without flood, S seconds of dime-ihmpforge
#   flooding CH's IHMP port (garbage, unsigned and wrong-key HANDOFFs, 80 %
#   from spoofed documentation addresses, 20 % from the attacker's own),
#   S seconds without flood again.
#
# Printed: goodput per second with the phase, the ratio flood / normal (the
# mean of both normal windows) against the 0.90 target, dimed's CPU time on
# CH per phase, its VmRSS, and what its drop counters and the kernel made of
# the flood. One run; nothing is asserted.
#
# Usage: sudo bench/ihmp_flood.sh [SECONDS] [SHAPE_MBIT] [FLOOD_RATE]
#        (default 8, 100, 50000; SHAPE_MBIT 0: no shaping). dimed runs at log
#        level info, or DIME_LOG_LEVEL (debug logs every datagram received).
set -eu
. "$(dirname "$0")/../tests/netns/lib.sh"

S=${1:-8}
SHAPE=${2:-100}
RATE=${3:-50000}
LEVEL=${DIME_LOG_LEVEL:-info}
for v in "$S" "$SHAPE" "$RATE"; do
	case $v in '' | *[!0-9]*) echo "usage: $0 [SECONDS] [SHAPE_MBIT] [FLOOD_RATE]" >&2; exit 2 ;; esac
done
((S >= 2 && S <= 60 && RATE >= 1 && RATE <= 200000)) || { echo "$0: SECONDS 2-60, FLOOD_RATE 1-200000" >&2; exit 2; }
FORGE=$TB_BUILD_DIR/tests/tools/dime-ihmpforge
[ -x "$FORGE" ] || { echo "$0: not built: $FORGE (set DIME_BUILD_DIR)" >&2; exit 2; }
ATT=192.0.2.130 ATT_GW=192.0.2.129
CH=$TB_CH_4

tb_setup 2>/dev/null
TB_NODES="$TB_NODES att"
tb_node_init att
tb_host_init att
tb_link core att att eth0
tb_addr core att $ATT_GW/26
tb_addr att eth0 $ATT/26
ip -n "$(tb_ns att)" route add default via $ATT_GW
((SHAPE > 0)) && tb_shape "$SHAPE" 2>/dev/null

K=$TB_TMP/keys
mkdir -m 755 "$K" "$K/mh-peers" "$K/ch-peers"
for who in mh ch att; do "$FORGE" keygen --out "$K/$who.key" --pub "$K/$who.pub" >/dev/null; done
install -m 644 "$K/ch.pub" "$K/mh-peers/$CH.pub"
install -m 644 "$K/mh.pub" "$K/ch-peers/$TB_MH1_4.pub"
install -m 644 "$K/mh.pub" "$K/ch-peers/$TB_MH2_4.pub"
# tb_dimed_start runs dimed at debug level, which logs every datagram
# received: a flood then measures the journal. Info level by default here.
for node in mh ch; do
	printf 'ihmp yes\nihmp-auth required\nihmp-key %s\nihmp-peer-keys %s\n' "$K/$node.key" \
		"$K/$node-peers" >"$TB_TMP/$node.conf"
	tb_bg "$node" "dimed-$node" "$(TB_DIMED)" -f "$TB_TMP/$node.conf" -l "$LEVEL" -s "$TB_TMP/$node.sock" >/dev/null
	printf -v "TB_DIMED_PID_$node" '%s' "${TB_PIDS##* }"
	tb_wait_for 10 "dimed on $node to answer" "$(TB_DIMECTL)" -s "$TB_TMP/$node.sock" version 2>/dev/null
done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$(tb_dimed_pid ch)/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$(tb_dimed_pid ch)/status"; }
rx_t() {
	awk '/ t=/ { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == "t" && a[2] > m) m = a[2] } } END { print m + 0 }' \
		"$TB_TMP/rx.log"
}
# mean goodput over receiver seconds LO < t <= HI
rx_mbit() {
	awk -v lo="$1" -v hi="$2" '/ t=/ { t = -1; for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == "t") t = a[2]; if (a[1] == "mbit") v = a[2] }
		if (t > lo && t <= hi) { s += v; n++ } } END { if (n) printf "%.2f", s / n; else print 0 }' "$TB_TMP/rx.log"
}
stats() { tb_ctl ch dump stats | awk '$1 ~ /^ihmp_(drop_|io_received)/ && $2 != 0'; }

tb_stream_recv mh rx --tcp 6001 -t $((3 * S + 60)) -i 20
tb_bg ch tx "$(TB_DSTREAM)" send --tcp -c $TB_MH1_4 -p 6001 -t $((3 * S + 8)) >/dev/null
tb_wait_log 10 rx " t=1 "
tb_handoff soft 1 1 2 2>/dev/null
tb_sleep 3

# Phases by the receiver's seconds: [t0, t1] normal, (t1, t2] flood, (t2, t3] normal.
hz=$(getconf CLK_TCK)
t0=$(rx_t); c0=$(cpu_ticks); rss0=$(rss_kb)
tb_sleep "$S"
t1=$(rx_t); c1=$(cpu_ticks)
stats >"$TB_TMP/stats0"
buf0=$(tb_exec ch awk '$1 == "Udp:" && $2 ~ /^[0-9]/ { print $6 }' /proc/net/snmp)
tb_bg att flood "$FORGE" flood --dst $CH --host-id $TB_MH1_4 --rate "$RATE" --seconds "$S" \
	--own $ATT --spoof-net 192.0.2.192/26 --spoof-net 198.51.100.192/26 --spoof-net 203.0.113.64/26 \
	--key "$K/att.key" >/dev/null
fpid=${TB_PIDS##* }
rssmax=$rss0
while kill -0 "$fpid" 2>/dev/null; do
	r=$(rss_kb)
	((r > rssmax)) && rssmax=$r
	tb_sleep 0.5
done
t2=$(rx_t); c2=$(cpu_ticks)
buf1=$(tb_exec ch awk '$1 == "Udp:" && $2 ~ /^[0-9]/ { print $6 }' /proc/net/snmp)
stats >"$TB_TMP/stats1"
tb_sleep "$S"
t3=$(rx_t); c3=$(cpu_ticks)
tb_wait_log $((3 * S + 60)) rx "result="

n1=$(rx_mbit "$t0" "$t1")
fl=$(rx_mbit $((t1 + 1)) "$t2")
n2=$(rx_mbit $((t2 + 1)) "$t3")
echo "IHMP flood against a moved TCP flow CH -> MH (core shaped to ${SHAPE} Mbit/s; 0: unshaped),"
echo "ihmp-auth required on both hosts, dimed at log level $LEVEL; flood: $RATE datagrams/s for $S s at CH's IHMP port."
echo "Per second (receiver's clock; the first and last second of a phase straddle its edges):"
awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" '/ t=/ {
	for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == "t") t = a[2]; if (a[1] == "mbit") v = a[2] }
	if (t <= t0 || t > t3) next
	printf "  %4d  %-7s %8.2f Mbit/s\n", t, t <= t1 ? "normal" : (t <= t2 ? "FLOOD" : "normal"), v }' "$TB_TMP/rx.log"
echo "Flood: $(cat "$TB_TMP/flood.log")"
printf '  %-30s %10s %10s %10s\n' "" "normal" "flood" "normal"
printf '  %-30s %10s %10s %10s\n' "goodput (Mbit/s)" "$n1" "$fl" "$n2"
awk -v a="$((c1 - c0))" -v b="$((c2 - c1))" -v c="$((c3 - c2))" -v hz="$hz" -v s1="$((t1 - t0))" -v s2="$((t2 - t1))" -v s3="$((t3 - t2))" 'BEGIN {
	printf "  %-30s %9.1f%% %9.1f%% %9.1f%%\n", "dimed CPU on CH (of one core)", s1 ? 100 * a / hz / s1 : 0, s2 ? 100 * b / hz / s2 : 0, s3 ? 100 * c / hz / s3 : 0 }'
awk -v n1="$n1" -v n2="$n2" -v f="$fl" 'BEGIN { n = (n1 + n2) / 2
	printf "  ratio flood / normal: %.3f   (target >= 0.90)\n", (n > 0 ? f / n : 0) }'
echo "  dimed VmRSS on CH: $rss0 kB before, at most $rssmax kB during the flood"
echo "  kernel receive-buffer drops at CH's IHMP socket: $((buf1 - buf0))"
echo "  CH's IHMP counters that moved during the flood:"
join -a 2 -e 0 -o '2.1,1.2,2.2' <(sort "$TB_TMP/stats0") <(sort "$TB_TMP/stats1") |
	awk '{ if ($3 - $2 > 0) printf "    %-28s %10d\n", $1, $3 - $2 }'
echo "  stream: $(grep 'result=' "$TB_TMP/rx.log" | tail -n 1)"
tb_dimed_stop mh 2>/dev/null
tb_dimed_stop ch 2>/dev/null
