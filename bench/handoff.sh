#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The paper's Fig. 8 on the testbed (tests/netns/lib.sh): 15 s of TCP from MH
# to CH through the core shaped to 100 Mbit/s, with dimed and IHMP on both
# hosts and no locator set by hand, across
#
#   soft   at 5 s MH gains its address on the other link, and loses the old
#          one 1 s later: no physical outage
#   hard   at 5 s MH loses its address, and 5 s later gains one on the other
#          link: a 5 s physical outage
#
# and prints, per one-way delay of the core (default 0 and 30 ms):
#   - CH's goodput per second, soft and hard side by side;
#   - hard/soft: bytes verified in the hard run over the soft run (ideal
#     0.667: the hard run loses 5 of 15 s);
#   - the longest stall beyond the physical outage: the longest wait between
#     two arrivals of data at CH, less the outage (target: at most one RTT
#     + 50 ms). The outage is measured, from the moment the old addresses
#     are gone to the moment the new ones and their default routes are in
#     place: GAP s plus however long the ip commands and the sleep took.
# Figures from one run, as ratios; nothing is asserted.
#
# Usage: sudo bench/handoff.sh [DELAYS_MS]   (default "0 30")
# Needs a build (DIME_BUILD_DIR, default build/) with the test tools.
set -eu

DELAYS=${1:-"0 30"}
RATE=100 DURATION=15 AT=5 GAP=5 SOFT_OVERLAP=1

# ---- one run (delay, kind), in a testbed of its own ------------------------------
# Fresh namespaces and daemons for every run: nothing one run leaves (conntrack
# entries, pins, host entries) can touch the next.
if [ "${DIME_BENCH_ONE:-}" != "" ]; then
	. "$(dirname "$0")/../tests/netns/lib.sh"
	read -r DELAY KIND <<<"$DIME_BENCH_ONE"

	# run NAME KIND FROM TO: one 15 s transfer with a hand-off at AT s.
	run() {
		local name=$1 kind=$2 from=$3 to=$4 port
		port=$((5000 + RANDOM % 1000))
		tb_dimed_start mh ihmp yes 2>/dev/null
		tb_dimed_start ch ihmp yes 2>/dev/null
		tb_stream_recv ch "$name" --tcp "$port" -t $((DURATION + 40)) -i 30 --stalls 10 2>/dev/null
		tb_bg mh "$name-tx" "$(TB_DSTREAM)" send --tcp -c $TB_CH_4 -p "$port" \
			-B "$(tb_mh_addr4 "$from")" -t $DURATION >/dev/null
		tb_wait_log 5 "$name-tx" "sending" 2>/dev/null
		tb_sleep $AT
		# The physical outage as it happened: from the old address gone
		# to the new one and its route in place. The ip commands and the
		# sleep take longer than GAP; counting that as dimed's stall
		# would blame dimed for the harness.
		EV0=$(date +%s%N)
		if [ "$kind" = hard ]; then
			tb_mh_detach "$from" 2>/dev/null
			t0=$(date +%s%N)
			tb_sleep $GAP
			tb_mh_attach "$to" 2>/dev/null
			t1=$(date +%s%N)
			OUTAGE_MS=$(((t1 - t0) / 1000000))
		else
			tb_handoff soft $SOFT_OVERLAP "$from" "$to" 2>/dev/null
			OUTAGE_MS=0
		fi
		EV1=$(date +%s%N)
		tb_wait_log $((DURATION + 45)) "$name" "result=" 2>/dev/null
	}

	tb_setup 2>/dev/null
	tb_shape $RATE 2>/dev/null
	[ "$DELAY" = 0 ] || tb_delay "$DELAY" 2>/dev/null
	rtt=$(tb_exec mh ping -n -c 10 -i 0.05 -W 2 $TB_CH_4 | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' |
		sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	run "$KIND" "$KIND" 1 2
	# the per-second goodput, for the table the parent prints
	awk '/ t=/ { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == "t") t = a[2]; if (a[1] == "mbit") m = a[2] }
		printf "SECOND %s %s\n", t, m }' "$TB_TMP/$KIND.log"
	# The hand-off's stall: the longest wait that began between just before
	# the first address change and 3 s after the last one. A wait elsewhere
	# in the 15 s (a congestion loss, the start) is the transfer's own and
	# shows only in maxgap_ms.
	hostall=$(awk -v lo="$(((EV0 / 1000000) - 200))" -v hi="$(((EV1 / 1000000) + 3000))" '
		$2 == "stall" { for (i = 3; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
			w = v["wall"] * 1000; if (w >= lo && w <= hi && v["ms"] > m) m = v["ms"] }
		END { printf "%.1f", m + 0 }' "$TB_TMP/$KIND.log")
	printf 'RESULT delay=%s rtt=%s name=%s result=%s bytes=%s maxgap_ms=%s maxgap_at=%s outage_ms=%s hostall_ms=%s\n' \
		"$DELAY" "$rtt" "$KIND" "$(tb_stream_field "$KIND" result)" "$(tb_stream_field "$KIND" bytes)" \
		"$(tb_stream_field "$KIND" maxgap_ms)" "$(tb_stream_field "$KIND" maxgap_at)" "$OUTAGE_MS" "$hostall"
	exit 0
fi

# ---- every delay, then the summary --------------------------------------------
results=$(mktemp)
trap 'rm -f "$results" "$results.soft" "$results.hard"' EXIT
for d in $DELAYS; do
	case $d in '' | *[!0-9]*) echo "usage: $0 [\"DELAY_MS ...\"]" >&2; exit 2 ;; esac
done
for d in $DELAYS; do
	: >"$results.soft"
	: >"$results.hard"
	for kind in soft hard; do
		DIME_BENCH_ONE="$d $kind" bash "$0" >"$results.$kind"
		grep '^RESULT' "$results.$kind" >>"$results"
	done
	echo "CH's goodput per second, ${d} ms one way; hand-off at ${AT} s:"
	printf '%6s %14s %14s\n' second soft hard
	awk 'FNR == NR { if ($1 == "SECOND") { s[$2] = $3; if ($2 > m) m = $2 } next }
		$1 == "SECOND" { h[$2] = $3; if ($2 > m) m = $2 }
		END { for (t = 1; t <= m; t++) printf "%6d %9s Mb/s %9s Mb/s\n", t, (t in s) ? s[t] : "-", (t in h) ? h[t] : "-" }' \
		"$results.soft" "$results.hard"
	echo
done
rm -f "$results.soft" "$results.hard"

field() { # field DELAY NAME KEY
	awk -v d="$1" -v n="$2" -v k="$3" '/^RESULT/ { delete v; for (i = 2; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
		if (v["delay"] == d && v["name"] == n) print v[k] }' "$results"
}

echo "Fig. 8: TCP MH -> CH, ${RATE} Mbit/s, ${DURATION} s, hand-off at ${AT} s (hard: ${GAP} s without address)."
echo "hard/soft: bytes verified, hard run over soft run (ideal 0.667). stall: the longest wait between two"
echo "arrivals of data at CH that began from just before the first address change to 3 s after the last,"
echo "less the physical outage (soft: none; hard: from the old address gone to the new address and its"
echo "route in place, as measured: ${GAP} s plus the ip commands); target RTT + 50 ms. whole run: the"
echo "longest wait anywhere in the 15 s (the transfer's start and congestion losses included), less the"
echo "outage for hard."
printf '  %8s %9s %6s %6s %10s %11s %11s %9s %10s %19s\n' delay RTT soft hard hard/soft "soft stall" "hard stall" \
	target outage "whole run soft/hard"
for d in $DELAYS; do
	awk -v d="$d" -v rtt="$(field "$d" soft rtt)" -v sb="$(field "$d" soft bytes)" -v hb="$(field "$d" hard bytes)" \
		-v sg="$(field "$d" soft maxgap_ms)" -v hg="$(field "$d" hard maxgap_ms)" \
		-v ss="$(field "$d" soft hostall_ms)" -v hs="$(field "$d" hard hostall_ms)" \
		-v ho="$(field "$d" hard outage_ms)" \
		-v sr="$(field "$d" soft result)" -v hr="$(field "$d" hard result)" 'BEGIN {
		printf "  %5d ms %6.2f ms %6s %6s %10.3f %8.0f ms %8.0f ms %6.0f ms %7.0f ms %8.0f / %5.0f ms\n", d, rtt,
			sr, hr, (sb > 0 ? hb / sb : 0), ss, hs - ho, rtt + 50, ho, sg, hg - ho }'
done
