#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# StackTrans goodput, as ratios measured side by side in one run on the
# unshaped testbed (lib.sh): iperf3 TCP from MH to CH, one flow.
#
#   plain     no dimed anywhere                       (the reference)
#   plain+ct  no dimed, one rule on MH and CH that makes the kernel track
#             connections (what every host with a stateful firewall pays;
#             printed, no target)
#   unmoved   dimed on MH and CH, the flow not moved  target >= 0.98 of plain
#             (dimed learns the flow from the socket table; it turns no
#             connection tracking on)
#   unmoved-ct the same with "track-connections yes": dimed's one rule
#             makes the kernel track (printed, no target)
#   moved     dimed on both, MH hands off while the flow runs, so every
#             packet is rewritten at both ends        target >= 0.80 of plain
#             (dimed's default: once steady, the kernel rewrites the flow
#             from the maps dimed fills, docs/dataplane.md "Offload")
#   moved-nfq the same with "offload no": every packet crosses user space
#             through NFQUEUE at both ends (the cost offload removes)
#
# Each case runs ROUNDS times, interleaved in an order rotated from round
# to round, and the median is used; the moved case is measured over the
# seconds after the hand-off only.
#
# Usage: sudo bench/stacktrans.sh [SECONDS] [ROUNDS]   (default 8 and 3)
# Needs a build (DIME_BUILD_DIR, default build/). Prints; asserts nothing.
#
# The figures depend on the machine more than on dimed (docs/dataplane.md,
# "Performance"), so the run says what it ran with. Optional, for all cases:
#   DIME_BENCH_CC=NAME          iperf3 congestion control (default: the
#                               system's, printed; BBR paces, CUBIC does not)
#   DIME_BENCH_CPUS_DIMED=LIST  taskset for both dimeds (e.g. 0)
#   DIME_BENCH_CPUS_IPERF=LIST  taskset for the iperf3 client and server
set -eu
. "$(dirname "$0")/../tests/netns/lib.sh"

DURATION=${1:-8}
ROUNDS=${2:-3}
SKIP=3			# seconds of each run not counted (slow start; the hand-off)
DIMED=$TB_BUILD_DIR/src/dimed
DIMECTL=$TB_BUILD_DIR/src/dimectl
CC=${DIME_BENCH_CC:-}
CPUS_DIMED=${DIME_BENCH_CPUS_DIMED:-}
CPUS_IPERF=${DIME_BENCH_CPUS_IPERF:-}
command -v iperf3 >/dev/null || tb_fail "iperf3 is not installed (scripts/deps installs it)"

# pin PID CPULIST: every thread of PID, when a list is given
pin() { [ -z "$2" ] || taskset -a -p -c "$2" "$1" >/dev/null; }
# the iperf3 client command, with the chosen CPUs and congestion control
iperf_client() {
	tb_exec mh ${CPUS_IPERF:+taskset -c "$CPUS_IPERF"} iperf3 ${CC:+-C "$CC"} "$@"
}

ctl() {
	local node=$1
	shift
	tb_exec "$node" "$DIMECTL" -s "$TB_TMP/$node.sock" "$@"
}

# dimed_up [CONF]: dimed on MH and CH, with the configuration file CONF
dimed_up() {
	local conf=${1:-$TB_TMP/default.conf}
	[ -e "$TB_TMP/default.conf" ] || : >"$TB_TMP/default.conf"
	tb_bg mh dimed-mh "$DIMED" -f "$conf" -s "$TB_TMP/mh.sock" >/dev/null
	tb_bg ch dimed-ch "$DIMED" -f "$conf" -s "$TB_TMP/ch.sock" >/dev/null
	tb_wait_for 10 "dimed on MH" ctl mh version
	tb_wait_for 10 "dimed on CH" ctl ch version
	local node
	for node in mh ch; do pin "$(pgrep -f "^$DIMED -f $conf -s $TB_TMP/$node.sock")" "$CPUS_DIMED"; done
}

dimed_down() {
	local node pid
	for node in mh ch; do
		pid=$(pgrep -f "^$DIMED -f .* -s $TB_TMP/$node.sock" || true)
		[ -z "$pid" ] || kill -TERM "$pid"
	done
	tb_wait_for 10 "dimed to stop" bash -c "! pgrep -f '^$DIMED -f .* -s $TB_TMP/' >/dev/null"
}

# iperf_run NAME SRC: iperf3 client MH -> CH bound to SRC; per-second Mbit/s in NAME.log
iperf_run() {
	iperf_client -c $TB_CH_4 -B "$2" -t "$DURATION" -i 1 -f m --forceflush >"$TB_TMP/$1.log" 2>&1
}

# mean Mbit/s of the 1-second intervals from SKIP on
mean_after_skip() {
	awk -v skip=$SKIP '/sec .*Mbits\/sec/ && !/sender|receiver/ {
		split($3, t, "-"); if (t[1] + 0 >= skip) { s += $7; n++ } } END { printf "%.1f", n ? s / n : 0 }' "$TB_TMP/$1.log"
}

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

tb_setup 2>/dev/null
pin "$(tb_bg ch iperf3-server iperf3 -s)" "$CPUS_IPERF"
tb_wait_for 5 "iperf3 server" tb_exec ch sh -c "ss -ltn | grep -q ':5201 '"
used_cc=${CC:-$(tb_exec mh sysctl -n net.ipv4.tcp_congestion_control)}

# moved_run NAME: the moved flow: hand off 1 s in, locators set during a
# 0.2 s gap; dimed's counters afterwards in NAME.stats. MH ends on link 1.
moved_run() {
	local iperf
	iperf_client -c $TB_CH_4 -B $TB_MH1_4 -t "$DURATION" -i 1 -f m --forceflush \
		>"$TB_TMP/$1.log" 2>&1 &
	iperf=$!
	tb_sleep 1
	tb_mh_detach 1 2>/dev/null
	ctl ch set-locator $TB_MH1_4 remote $TB_MH2_4 >/dev/null
	ctl mh set-locator $TB_CH_4 local $TB_MH2_4 >/dev/null
	tb_sleep 0.2
	tb_mh_attach 2 2>/dev/null
	wait "$iperf" || true
	ctl mh dump stats >"$TB_TMP/$1.stats"
	dimed_down
	tb_mh_detach 2 2>/dev/null
	tb_mh_attach 1 2>/dev/null
}

# conntrack_rule add|del: a rule that needs conntrack, and does nothing else
conntrack_rule() {
	local node op=-A
	[ "$1" = del ] && op=-D
	for node in mh ch; do
		tb_exec $node iptables -t mangle $op OUTPUT -m conntrack --ctstate INVALID -j RETURN
	done
}

statof_now() { ctl mh dump stats >"$TB_TMP/$1.stats"; }
statof() { awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }' "$TB_TMP/$1.stats"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b ? a / b : 0 }'; }

echo "offload no" >"$TB_TMP/nfq.conf"
echo "track-connections yes" >"$TB_TMP/ct.conf"
plain=() plainct=() unmoved=() unmovedct=() moved=() nfq=() ratios=() nfq_ratios=() u_ratios=()
# The cases of a round; MH starts each on link 1. The machine drifts, so
# the order rotates from round to round (no case always runs first).
case_plain() {
	iperf_run "plain$1" $TB_MH1_4
	plain+=("$(mean_after_skip "plain$1")")
}
case_plainct() {
	conntrack_rule add
	iperf_run "plainct$1" $TB_MH1_4
	plainct+=("$(mean_after_skip "plainct$1")")
	conntrack_rule del
}
case_unmoved_moved() {
	dimed_up
	iperf_run "unmoved$1" $TB_MH1_4
	unmoved+=("$(mean_after_skip "unmoved$1")")
	statof_now "unmoved$1"
	moved_run "moved$1"
	moved+=("$(mean_after_skip "moved$1")")
}
case_unmovedct() {
	dimed_up "$TB_TMP/ct.conf"
	iperf_run "unmovedct$1" $TB_MH1_4
	unmovedct+=("$(mean_after_skip "unmovedct$1")")
	dimed_down
}
case_nfq() {
	dimed_up "$TB_TMP/nfq.conf"
	moved_run "nfq$1"
	nfq+=("$(mean_after_skip "nfq$1")")
}
CASES=(case_plain case_plainct case_unmoved_moved case_unmovedct case_nfq)
for ((r = 1; r <= ROUNDS; r++)); do
	for ((i = 0; i < ${#CASES[@]}; i++)); do
		"${CASES[$(((i + r - 1) % ${#CASES[@]}))]}" "$r"
	done

	ratios+=("$(ratio "${moved[-1]}" "${plain[-1]}")")
	nfq_ratios+=("$(ratio "${nfq[-1]}" "${plain[-1]}")")
	u_ratios+=("$(ratio "${unmoved[-1]}" "${plain[-1]}")")
	# Packets longer than a verdict can carry (BIG TCP): dropped, and the flow stalls.
	printf 'round %d: plain %s, plain+ct %s, unmoved %s (%s), unmoved-ct %s, moved %s (%s), moved-nfq %s (%s) Mbit/s\n' "$r" \
		"${plain[-1]}" "${plainct[-1]}" "${unmoved[-1]}" "${u_ratios[-1]}" "${unmovedct[-1]}" \
		"${moved[-1]}" "${ratios[-1]}" "${nfq[-1]}" "${nfq_ratios[-1]}"
	printf '  unmoved: MH knew %s flows from %s socket dumps, queued %s packets, steering on %s times\n' \
		"$(statof "unmoved$r" flows)" "$(statof "unmoved$r" sock_dumps)" "$(statof "unmoved$r" nfq_out_packets)" \
		"$(statof "unmoved$r" rules_steering_on)"
	printf '  moved: MH rewrote %s packets in user space, the kernel %s (%s flows handed over)\n' \
		"$(statof "moved$r" dp_out_rewritten)" "$(statof "moved$r" offload_out_packets)" \
		"$(statof "moved$r" dp_offload_adds)"
	printf '  moved-nfq: MH rewrote %s packets in user space, dropped %s too long\n' \
		"$(statof "nfq$r" dp_out_rewritten)" "$(statof "nfq$r" nfq_truncated_dropped)"
done

c=$(median "${plainct[@]}") uc=$(median "${unmovedct[@]}")
p=$(median "${plain[@]}") u=$(median "${unmoved[@]}") m=$(median "${moved[@]}") q=$(median "${nfq[@]}")
echo
echo "StackTrans goodput, iperf3 TCP MH -> CH, unshaped veth, median of $ROUNDS x ${DURATION}s:"
printf '  congestion control %s; CPUs: dimed %s, iperf3 %s; per-round ratio medians: unmoved %s, moved %s, moved-nfq %s\n' \
	"$used_cc" "${CPUS_DIMED:-any}" "${CPUS_IPERF:-any}" "$(median "${u_ratios[@]}")" "$(median "${ratios[@]}")" \
	"$(median "${nfq_ratios[@]}")"
printf '  %-34s %10s %8s %8s\n' case "Mbit/s" ratio target
printf '  %-34s %10s %8s %8s\n' "plain kernel (no dimed)" "$p" 1.00 -
printf '  %-34s %10s %8.3f %8s\n' "plain, conntrack on (no dimed)" "$c" "$(awk -v a="$c" -v b="$p" 'BEGIN { print a / b }')" -
printf '  %-34s %10s %8.3f %8s\n' "dimed running, flow not moved" "$u" "$(awk -v a="$u" -v b="$p" 'BEGIN { print a / b }')" ">=0.98"
printf '  %-34s %10s %8.3f %8s\n' "  same, track-connections yes" "$uc" "$(awk -v a="$uc" -v b="$p" 'BEGIN { print a / b }')" -
printf '  %-34s %10s %8.3f %8s\n' "moved flow, every packet rewritten" "$m" "$(awk -v a="$m" -v b="$p" 'BEGIN { print a / b }')" ">=0.80"
printf '  %-34s %10s %8.3f %8s\n' "moved, all in user space (nfq)" "$q" "$(awk -v a="$q" -v b="$p" 'BEGIN { print a / b }')" -
