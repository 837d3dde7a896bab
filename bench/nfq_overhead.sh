#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# nfq_overhead.sh: what dimed's NFQUEUE module costs a TCP flow whose every
# packet goes through user space, as a moved flow's do. iperf3 runs from MH
# to CH over the testbed (tests/netns/lib.sh, MH on link 1 only):
#
#     MH eth1 ---- R1 ---- core ---- CH        iperf3 -c in MH, iperf3 -s in CH
#      `- mangle OUTPUT -d CH -> NFQUEUE -> dime-nfq-echo (in MH)
#
# Three modes, interleaved within each repetition so that drift on a shared
# machine hits all of them alike:
#   plain   no rule: the kernel path alone
#   accept  every packet queued and accepted unchanged
#   touch   every packet queued and returned as a rewritten payload with the
#           same bytes (copy back, nfqnl_mangle, checksum completion): the
#           cost of a moved flow without the address arithmetic
# Prints each run, then the median goodput per mode and its ratio to plain.
# Figures are printed, never asserted. Needs root and a build with the test
# tools (DIME_BUILD_DIR, default ./build). Everything happens in the
# testbed's namespaces; its trap removes them whatever happens.
set -eu

usage() {
	cat <<EOF
usage: $0 [-t SECONDS] [-n REPEATS] [-f "4 6"] [-q QUEUE]
  -t  length of one iperf3 run (default 10)
  -n  repetitions of every mode (default 3; the median is reported)
  -f  address families to measure (default "4 6")
  -q  NFQUEUE number used inside MH (default 11)
EOF
}

T=10
N=3
FAMS="4 6"
QUEUE=11
while getopts "t:n:f:q:h" opt; do
	case $opt in
	t) T=$OPTARG ;;
	n) N=$OPTARG ;;
	f) FAMS=$OPTARG ;;
	q) QUEUE=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
case "$T$N$QUEUE" in *[!0-9]*|"") usage >&2; exit 2 ;; esac

# shellcheck source-path=SCRIPTDIR source=../tests/netns/lib.sh
. "$(dirname "$0")/../tests/netns/lib.sh"

ECHO_BIN=$TB_BUILD_DIR/tests/tools/dime-nfq-echo
MODES="plain accept touch"

tb_require_root
[ -x "$ECHO_BIN" ] || { echo "$0: not built: $ECHO_BIN (set DIME_BUILD_DIR)" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "$0: iperf3 not installed" >&2; exit 2; }

fam_dst() { if [ "$1" = 4 ]; then echo "$TB_CH_4"; else echo "$TB_CH_6"; fi; }
fam_ipt() { if [ "$1" = 4 ]; then echo iptables; else echo ip6tables; fi; }

# stat_field LOG KEY: a value from dime-nfq-echo's final stats line.
stat_field() {
	awk -v k="$2" '/ stats / { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$1"
}

# run_one FAMILY MODE RUN: one iperf3 run; sets RATE to its receiver goodput in Mbit/s.
# (Not run in \$(...): the echo must stay this shell's child, for wait and cleanup.)
run_one() {
	local fam=$1 mode=$2 run=$3 dst ipt pid="" log
	dst=$(fam_dst "$fam")
	ipt=$(fam_ipt "$fam")
	log=echo-$run
	if [ "$mode" != plain ]; then
		tb_bg mh "$log" "$ECHO_BIN" -q "$QUEUE" -m "$mode" >/dev/null
		pid=${TB_PIDS##* }
		tb_wait_log 5 "$log" "ready"
		tb_exec mh "$ipt" -t mangle -A OUTPUT -d "$dst" -j NFQUEUE --queue-num "$QUEUE"
	fi
	tb_exec mh timeout $((T + 30)) iperf3 -c "$dst" -t "$T" -f m --connect-timeout 5000 \
		>"$TB_TMP/iperf-$run.log" 2>&1 || tb_fail "iperf3 run $run failed (see $TB_TMP/iperf-$run.log)"
	RATE=$(awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i - 1) }' \
		"$TB_TMP/iperf-$run.log")
	[ -n "$RATE" ] || tb_fail "iperf3 run $run printed no receiver rate"
	if [ -n "$pid" ]; then
		tb_exec mh "$ipt" -t mangle -D OUTPUT -d "$dst" -j NFQUEUE --queue-num "$QUEUE"
		kill -TERM "$pid"
		wait "$pid" || tb_fail "dime-nfq-echo failed (see $TB_TMP/$log.log)"
		check_echo "$mode" "$TB_TMP/$log.log" "$run"
	fi
}

# check_echo MODE LOG RUN: the queue really carried the flow, on the expected path.
check_echo() {
	local mode=$1 log=$2 run=$3 packets modified
	packets=$(stat_field "$log" packets)
	modified=$(stat_field "$log" modified)
	[ "${packets:-0}" -gt 0 ] || tb_fail "run $run: no packet reached the queue"
	if [ "$mode" = touch ] && [ "${modified:-0}" -eq 0 ]; then
		tb_fail "run $run: touch mode rewrote nothing"
	fi
	tb_log "run $run $mode: packets=$packets modified=$modified gso=$(stat_field "$log" gso)" \
		"untouchable=$(stat_field "$log" untouchable) refused=$(stat_field "$log" refused)" \
		"id_gaps=$(stat_field "$log" id_gaps) kernel_queue_dropped=$(stat_field "$log" kernel_queue_dropped)" \
		"kernel_user_dropped=$(stat_field "$log" kernel_user_dropped)" \
		"pkts/recv=$(awk -v p="$packets" -v r="$(stat_field "$log" recv_calls)" 'BEGIN { printf "%.2f", r ? p / r : 0 }')"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# iperf3 buffers its banner when writing to a file: ask the socket table.
iperf3_listening() { tb_exec ch ss -Hltn "sport = :5201" | grep -q .; }

tb_setup
tb_bg ch iperf3s iperf3 -s >/dev/null
tb_wait_for 5 "iperf3 server in CH" iperf3_listening
for fam in $FAMS; do
	tb_wait_for 5 "MH reaches CH over IPv$fam" tb_exec mh ping -"$fam" -c 1 -W 1 "$(fam_dst "$fam")"
done

RESULTS=$TB_TMP/results
: >"$RESULTS"
run=0
for rep in $(seq "$N"); do
	for fam in $FAMS; do
		for mode in $MODES; do
			run=$((run + 1))
			run_one "$fam" "$mode" "$run"
			tb_log "run $run (repeat $rep) IPv$fam $mode: $RATE Mbit/s"
			echo "$fam $mode $RATE" >>"$RESULTS"
		done
	done
done

printf '\nTCP goodput MH -> CH, median of %s runs of %s s (Mbit/s, ratio to plain)\n' "$N" "$T"
printf '%-6s %10s %17s %17s\n' family plain accept touch
for fam in $FAMS; do
	plain=$(awk -v f="$fam" '$1 == f && $2 == "plain" { print $3 }' "$RESULTS" | median)
	printf '%-6s %10s' "IPv$fam" "$plain"
	for mode in accept touch; do
		m=$(awk -v f="$fam" -v md="$mode" '$1 == f && $2 == md { print $3 }' "$RESULTS" | median)
		printf ' %10s (%4.2f)' "$m" "$(awk -v a="$m" -v b="$plain" 'BEGIN { print b ? a / b : 0 }')"
	done
	printf '\n'
done
