#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# A/B comparison of settings for the moved-flow goodput (issue 3's "moved
# flow / plain kernel path" figure). One testbed (tests/netns/lib.sh,
# unshaped); every round runs every variant once, in an order rotated from
# round to round, so that drift on a shared machine hits all variants
# alike. A moved run is the one bench/stacktrans.sh does: dimed on MH and
# CH, iperf3 MH -> CH started on link 1, hand-off 1 s in, goodput averaged
# over the seconds after SKIP.
#
# Usage: sudo bench/moved_ab.sh [-t SECONDS] [-n ROUNDS] [-s SKIP] VARIANT...
#   VARIANT is NAME or NAME:KNOB,KNOB,...  Knobs:
#     plain          no dimed at all, no hand-off (the kernel path)
#     stay           dimed on both hosts, but no hand-off (the unmoved flow)
#     track          track-connections yes in both dimeds' dime.conf
#     both           MH on both links for the run (with plain or stay: a
#                    multihomed host whose flow has not moved; once the
#                    hosts have said HELLO, dimed's queue rules are
#                    reached, as MH's flows may arrive on either address)
#     chalt          CH has its second address for the run (with both: two
#                    multihomed hosts)
#     norules        (diagnosis) delete both dimeds' jumps to their chains
#                    once they run: the daemon without the rules' cost
#     frozen         (diagnosis) SIGSTOP both dimeds once they run: the
#                    rules without the daemon's CPU (SIGCONT before stop)
#     conf=KEY=VALUE any other dime.conf line for both dimeds (repeatable)
#     gso=BYTES      gso_max_size and gro_max_size of MH's and CH's
#                    interfaces (the hosts running dimed) for this run
#     env=K=V        environment variable for both dimeds (repeatable)
#     build=DIR      dimed and dimectl from another build directory
#     nice=N         renice dimeds and iperf3 (client and server) to N
#     cpu=LIST       taskset for both dimeds (e.g. 0 or 0-1)
#     cpumh=LIST     taskset for MH's dimed only; cpuch=LIST for CH's
#     cpuc=LIST      taskset for the iperf3 client (MH); cpus=LIST server (CH)
#     tcp=OPTS       extra iperf3 client options, ':' for spaces (e.g. -w:4M)
#   The first variant whose knobs include "plain" is the reference; without
#   one, "plain:plain" is added. Default variants: plain:plain moved.
#
# Prints every run, then per variant the median goodput, its ratio to the
# reference median, the median of the per-round ratios, and goodput per CPU
# second of the testbed's threads (schedstat run time over the measured
# seconds; "waiting" is their run-queue time). The machine is shared, so the
# goodput ratio moves with its load; goodput per CPU second moves less, but
# misses softirq work done in other tasks' time (BBR's pacing timer fires
# there): compare it between dimed variants, not with plain. Asserts nothing.
# Needs a build (DIME_BUILD_DIR, default build/). Everything happens inside
# the testbed's namespaces; its trap removes them.
set -eu

DURATION=8
ROUNDS=3
SKIP=3
while getopts "t:n:s:h" opt; do
	case $opt in
	t) DURATION=$OPTARG ;;
	n) ROUNDS=$OPTARG ;;
	s) SKIP=$OPTARG ;;
	h) sed -n '3,/^set -eu/p' "$0" | sed '$d'; exit 0 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
case "$DURATION$ROUNDS$SKIP" in *[!0-9]*) echo "$0: -t, -n and -s take whole numbers" >&2; exit 2 ;; esac
((SKIP + 2 <= DURATION)) || { echo "$0: -t must be at least SKIP + 2" >&2; exit 2; }

# shellcheck source-path=SCRIPTDIR source=../tests/netns/lib.sh
. "$(dirname "$0")/../tests/netns/lib.sh"

DIMED=$TB_BUILD_DIR/src/dimed
DIMECTL=$TB_BUILD_DIR/src/dimectl
command -v iperf3 >/dev/null || tb_fail "iperf3 is not installed (scripts/deps installs it)"
[ -x "$DIMED" ] || tb_fail "not built: $DIMED (set DIME_BUILD_DIR)"

VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(plain:plain moved)
ref=""
for v in "${VARIANTS[@]}"; do
	case ",${v#*:}," in *,plain,*) [ "$v" = "${v#*:}" ] || { ref=${v%%:*}; break; } ;; esac
done
[ -n "$ref" ] || { VARIANTS=(plain:plain "${VARIANTS[@]}"); ref=plain; }

# ---- knobs -------------------------------------------------------------------
K_PLAIN=0 K_STAY=0 K_BOTH=0 K_CHALT=0 K_NORULES=0 K_FROZEN=0 K_CONF=() K_GSO="" K_NICE="" K_BUILD="" K_ENV=() K_CPUMH="" K_CPUCH="" K_CPUC="" K_CPUS="" K_TCP=""
knobs_parse() {
	local spec=$1 k
	K_PLAIN=0 K_STAY=0 K_BOTH=0 K_CHALT=0 K_NORULES=0 K_FROZEN=0 K_CONF=() K_GSO="" K_NICE="" K_BUILD="" K_ENV=() K_CPUMH="" K_CPUCH="" K_CPUC="" K_CPUS="" K_TCP=""
	[ "$spec" != "${spec#*:}" ] || return 0
	IFS=, read -r -a knobs <<<"${spec#*:}"
	for k in "${knobs[@]}"; do
		case $k in
		plain) K_PLAIN=1 ;;
		stay) K_STAY=1 ;;
		track) K_CONF+=("track-connections yes") ;;
		both) K_BOTH=1 ;;
		chalt) K_CHALT=1 ;;
		norules) K_NORULES=1 ;;
		frozen) K_FROZEN=1 ;;
		conf=*=*) k=${k#conf=} K_CONF+=("${k%%=*} ${k#*=}") ;;
		gso=*) K_GSO=${k#gso=} ;;
		env=*) K_ENV+=("${k#env=}") ;;
		build=*) K_BUILD=${k#build=} ;;
		nice=*) K_NICE=${k#nice=} ;;
		cpu=*) K_CPUMH=${k#cpu=} K_CPUCH=${k#cpu=} ;;
		cpumh=*) K_CPUMH=${k#cpumh=} ;;
		cpuch=*) K_CPUCH=${k#cpuch=} ;;
		cpuc=*) K_CPUC=${k#cpuc=} ;;
		cpus=*) K_CPUS=${k#cpus=} ;;
		tcp=*) K_TCP=${k#tcp=} K_TCP=${K_TCP//:/ } ;;
		*) tb_fail "unknown knob \"$k\" in $spec" ;;
		esac
	done
}

# The interfaces of the two hosts that run dimed.
HOST_IFS="mh:eth1 mh:eth2 ch:eth0"
DEFAULT_GSO=""
set_gso() {
	local size=$1 pair
	for pair in $HOST_IFS; do
		ip -n "$(tb_ns "${pair%%:*}")" link set dev "${pair#*:}" gso_max_size "$size" gro_max_size "$size"
	done
}

ctl() {
	local node=$1
	shift
	tb_exec "$node" "$DIMECTL" -s "$TB_TMP/$node.sock" "$@"
}

pin() { [ -z "$2" ] || taskset -a -p -c "$2" "$1" >/dev/null; }

dimed_up() {
	local node cpu
	DIMED=${K_BUILD:-$TB_BUILD_DIR}/src/dimed DIMECTL=${K_BUILD:-$TB_BUILD_DIR}/src/dimectl
	[ -x "$DIMED" ] || tb_fail "not built: $DIMED"
	printf '%s\n' "${K_CONF[@]}" >"$TB_TMP/ab.conf"
	for node in mh ch; do
		tb_bg "$node" "dimed-$node" env "${K_ENV[@]}" "$DIMED" -f "$TB_TMP/ab.conf" -s "$TB_TMP/$node.sock" >/dev/null
	done
	tb_wait_for 10 "dimed on MH" ctl mh version
	tb_wait_for 10 "dimed on CH" ctl ch version
	for node in mh ch; do
		if [ "$node" = mh ]; then cpu=$K_CPUMH; else cpu=$K_CPUCH; fi
		pin "$(pgrep -f "^$DIMED -f $TB_TMP/ab.conf -s $TB_TMP/$node.sock")" "$cpu"
		[ -z "$K_NICE" ] || renice -n "$K_NICE" -p "$(pgrep -f "^$DIMED -f $TB_TMP/ab.conf -s $TB_TMP/$node.sock")" >/dev/null
		if ((K_NORULES)); then
			tb_exec "$node" iptables -t raw -D PREROUTING -j DIME-IN
			tb_exec "$node" iptables -t mangle -D OUTPUT -j DIME-OUT
			tb_exec "$node" ip6tables -t raw -D PREROUTING -j DIME-IN
			tb_exec "$node" ip6tables -t mangle -D OUTPUT -j DIME-OUT
		fi
		((!K_FROZEN)) || kill -STOP "$(pgrep -f "^$DIMED -f $TB_TMP/ab.conf -s $TB_TMP/$node.sock")"
	done
}

dimed_down() {
	local node pid
	DIMED_MS=""
	for node in mh ch; do
		pid=$(pgrep -f "^$DIMED -f $TB_TMP/ab.conf -s $TB_TMP/$node.sock" || true)
		[ -z "$pid" ] || { DIMED_MS="$DIMED_MS $node $(awk '{ printf "%.0f", $1 / 1e6 }' "/proc/$pid/schedstat") ms"; kill -CONT "$pid"; kill -TERM "$pid"; }
	done
	tb_wait_for 10 "dimed to stop" bash -c "! pgrep -f '^$DIMED -f $TB_TMP/ab.conf -s $TB_TMP/' >/dev/null"
}

# mean Mbit/s of the 1-second intervals from SKIP on
mean_after_skip() {
	awk -v skip="$SKIP" '/sec .*Mbits\/sec/ && !/sender|receiver/ {
		split($3, t, "-"); if (t[1] + 0 >= skip) { s += $7; n++ } } END { printf "%.1f", n ? s / n : 0 }' "$TB_TMP/$1.log"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# CPU time (ns, from schedstat) of every thread in the testbed's
# namespaces and of the softirq threads: what the flow costs, whoever else
# uses the machine. Softirq work done while another process was interrupted
# is not in it.
cpu_ns() {
	local node pids="" p t
	for node in $TB_NODES; do pids="$pids $(ip netns pids "$(tb_ns "$node")" 2>/dev/null)"; done
	pids="$pids $(pgrep '^ksoftirqd/' || true)"
	for p in $pids; do
		for t in /proc/"$p"/task/*; do
			[ -r "$t/schedstat" ] && echo "${t##*/} $(cat "$t/schedstat" 2>/dev/null)"
		done
	done
}

# cpu_delta FILE0 FILE1 SECONDS: CPUs used and CPUs' worth of run-queue
# waiting, over the threads present in both samples.
cpu_delta() {
	awk -v dt="$3" 'NR == FNR { r[$1] = $2; w[$1] = $3; next }
		($1 in r) { cr += $2 - r[$1]; cw += $3 - w[$1] }
		END { printf "%.2f %.2f\n", cr / 1e9 / dt, cw / 1e9 / dt }' "$1" "$2"
}

# run_variant SPEC LOGNAME: one run; sets RATE (Mbit/s after SKIP), CPU and
# WAIT (CPUs' worth of running and of waiting to run, over the same seconds)
# and NOTE.
run_variant() {
	local spec=$1 log=$2 iperf t0 t1
	knobs_parse "$spec"
	[ -z "$K_GSO" ] || set_gso "$K_GSO"
	pin "$SERVER_PID" "${K_CPUS:-$ALL_CPUS}"
	renice -n "${K_NICE:-0}" -p "$SERVER_PID" >/dev/null
	NOTE=""
	((!K_BOTH)) || tb_mh_attach 2 2>/dev/null
	((!K_CHALT)) || tb_ch_add_alt 2>/dev/null
	((K_PLAIN)) || dimed_up
	# shellcheck disable=SC2086 # K_TCP is a list of options
	tb_exec mh ${K_NICE:+nice -n "$K_NICE"} ${K_CPUC:+taskset -c "$K_CPUC"} iperf3 -c $TB_CH_4 -B $TB_MH1_4 -t "$DURATION" -i 1 -f m \
		--forceflush $K_TCP >"$TB_TMP/$log.log" 2>&1 &
	iperf=$!
	if ((K_PLAIN || K_STAY)); then
		tb_sleep "$SKIP"
	else
		# The hand-off, 1 s in: locators set during a 0.2 s gap.
		tb_sleep 1
		tb_mh_detach 1 2>/dev/null
		ctl ch set-locator "$TB_MH1_4" remote "$TB_MH2_4" >/dev/null
		ctl mh set-locator "$TB_CH_4" local "$TB_MH2_4" >/dev/null
		tb_sleep 0.2
		tb_mh_attach 2 2>/dev/null
		tb_sleep "$(awk -v s="$SKIP" 'BEGIN { print s - 1.2 }')"
	fi
	# The window ends just before iperf3 does: an exited thread's run time is gone.
	cpu_ns >"$TB_TMP/$log.cpu0"
	t0=$(date +%s.%N)
	tb_sleep "$(awk -v d="$DURATION" -v s="$SKIP" 'BEGIN { print d - s - 0.3 }')"
	cpu_ns >"$TB_TMP/$log.cpu1"
	t1=$(date +%s.%N)
	wait "$iperf" || true
	read -r CPU WAIT < <(cpu_delta "$TB_TMP/$log.cpu0" "$TB_TMP/$log.cpu1" "$(awk -v s="$t0" -v e="$t1" 'BEGIN { print e - s }')")
	if ((!K_PLAIN)); then
		((!K_FROZEN)) || pkill -CONT -f "^$DIMED -f $TB_TMP/ab.conf -s $TB_TMP/"
		ctl mh dump stats >"$TB_TMP/$log.mh.stats"
		ctl ch dump stats >"$TB_TMP/$log.ch.stats"
		NOTE=$(awk '$1 == "nfq_out_packets" { p = $2 } $1 == "nfq_out_bytes" { b = $2 }
			$1 == "nfq_out_recv_calls" { r = $2 } $1 == "nfq_out_kernel_dropped" { d = $2 }
			$1 == "nfq_truncated_dropped" { t = $2 } $1 == "rules_steering_in_v4" { si = $2 } $1 == "rules_steering_out_v4" { so = $2 }
			END { printf "MH out: %d pkts, %.0f B/pkt, %.1f pkts/recv, %d lost, %d too long, steering in %s out %s", p, p ? b / p : 0, r ? p / r : 0, d, t, si ? "on" : "off", so ? "on" : "off" }' \
			"$TB_TMP/$log.mh.stats")
		dimed_down
		NOTE="$NOTE; dimed CPU:$DIMED_MS"
		if ((!K_STAY)); then
			tb_mh_detach 2 2>/dev/null
			tb_mh_attach 1 2>/dev/null
		fi
	fi
	((!K_BOTH)) || tb_mh_detach 2 2>/dev/null
	if ((K_CHALT)); then
		ip -n "$(tb_ns ch)" addr del $TB_CH_ALT_4/25 dev eth0
		ip -n "$(tb_ns ch)" -6 addr del $TB_CH_ALT_6/64 dev eth0
	fi
	[ -z "$K_GSO" ] || set_gso "$DEFAULT_GSO"
	RATE=$(mean_after_skip "$log")
}

tb_setup 2>/dev/null
DEFAULT_GSO=$(ip -n "$(tb_ns mh)" -d link show dev eth1 | awk '{ for (i = 1; i < NF; i++) if ($i == "gso_max_size") print $(i + 1) }')
ALL_CPUS=0-$(($(nproc) - 1))
SERVER_PID=$(tb_bg ch iperf3-server iperf3 -s)
tb_wait_for 5 "iperf3 server" tb_exec ch sh -c "ss -ltn | grep -q ':5201 '"

declare -A RATES=() RATIOS=() EFFS=()
nv=${#VARIANTS[@]}
for ((r = 1; r <= ROUNDS; r++)); do
	declare -A this=()
	for ((i = 0; i < nv; i++)); do
		v=${VARIANTS[$(((i + r - 1) % nv))]}
		name=${v%%:*}
		run_variant "$v" "$name-$r"
		this[$name]=$RATE
		RATES[$name]="${RATES[$name]:-} $RATE"
		eff=$(awk -v r="$RATE" -v c="$CPU" 'BEGIN { printf "%.0f", (c > 0 ? r / c : 0) }')
		EFFS[$name]="${EFFS[$name]:-} $eff"
		printf 'round %d %-16s %8s Mbit/s  %4s CPUs (%4s waiting)  %6s Mbit/CPU-s  %s\n' "$r" "$name" "$RATE" "$CPU" "$WAIT" "$eff" "$NOTE"
	done
	for v in "${VARIANTS[@]}"; do
		name=${v%%:*}
		RATIOS[$name]="${RATIOS[$name]:-} $(awk -v a="${this[$name]}" -v b="${this[$ref]}" 'BEGIN { printf "%.3f", b ? a / b : 0 }')"
	done
	unset this
done

# shellcheck disable=SC2086 # a list of numbers
pm=$(median ${RATES[$ref]})
echo
echo "Moved-flow A/B, iperf3 TCP MH -> CH, unshaped veth, $ROUNDS rounds x ${DURATION}s (mean after ${SKIP}s):"
printf '  %-16s %10s %9s %13s %12s  %s\n' variant "Mbit/s" "/$ref" "round ratios" "Mbit/CPU-s" knobs
for v in "${VARIANTS[@]}"; do
	name=${v%%:*}
	# shellcheck disable=SC2086 # lists of numbers
	m=$(median ${RATES[$name]})
	# shellcheck disable=SC2086
	e=$(median ${EFFS[$name]})
	# shellcheck disable=SC2086
	printf '  %-16s %10s %9.3f %13s %12s  %s\n' "$name" "$m" "$(awk -v a="$m" -v b="$pm" 'BEGIN { print b ? a / b : 0 }')" \
		"$(median ${RATIOS[$name]})" "$e" "${v#"$name"}"
done
