#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# IHMP latency on the testbed (tests/netns/lib.sh): the time from an address
# event on MH (the "ip addr" that adds or removes the address) to CH's HID
# table showing it, with dimed and IHMP on both hosts and a UDP stream
# MH -> CH keeping the peer alive. Events, each ROUNDS times:
#
#   up       MH gains its link-2 address while on link 1 (ADDR_UP): CH's
#            active set gains it
#   down     MH loses that address again (ADDR_DOWN): CH's active set loses it
#   hard     MH, without address for 1 s, gains one on the other link
#            (HANDOFF after the hold): CH's remote locator becomes it
#
# The event's time is taken just before "ip" runs (the time ip takes to
# start and make the change, measured and printed, is included: figures may
# be that much high; a netlink listener's timestamps were no better, as a
# busy machine wakes it late). Two figures per event: "wire", when the IHMP
# message (ADDR_UP, ADDR_DOWN,
# HANDOFF) reached CH's interface (a packet socket in CH's namespace, sub-ms
# resolution), and "table", when CH's HID table showed the change (a loop of
# "dimectl dump hids" inside CH's namespace: its period, printed, is the
# resolution). Events are 3 s apart, so an up and a down are never paired
# into one hand-off. A down includes dimed's debounce of address deletions
# (a re-add within it is no event). Run with each one-way delay of the core
# (default 0 and 15 ms); the target is one RTT + 5 ms. Figures from one run
# (medians); nothing is asserted.
#
# Usage: sudo bench/ihmp_latency.sh [ROUNDS] [DELAYS_MS]   (default 5, "0 15")
set -eu

ROUNDS=${1:-5}
DELAYS=${2:-"0 15"}
case $ROUNDS in '' | *[!0-9]*) echo "usage: $0 [ROUNDS] [\"DELAY_MS ...\"]" >&2; exit 2 ;; esac

if [ "${DIME_BENCH_ONE:-}" != "" ]; then
	. "$(dirname "$0")/../tests/netns/lib.sh"
	DELAY=$DIME_BENCH_ONE
	SAMPLES=$(mktemp)

	# watch FIELD ADDR has|lacks: in CH's namespace, poll until some HID
	# lists (or no HID lists) ADDR in column FIELD of "dump hids"; print the
	# wall-clock time it first did and the number of polls. Bounded: 10 s.
	watch() {
		tb_exec ch bash -c '
			ctl=$1 sock=$2 col=$3 addr=$4 want=$5 n=0 end=$((SECONDS + 10))
			while [ $SECONDS -lt $end ]; do
				n=$((n + 1))
				if "$ctl" -s "$sock" dump hids | awk -F"\t" -v c="$col" -v a="$addr" -v w="$want" \
					"{ k = split(\$c, l, \",\"); for (i = 1; i <= k; i++) if (l[i] == a) f = 1 }
					 END { exit !((w == \"has\") == (f == 1)) }"; then
					echo "$EPOCHREALTIME $n"
					exit 0
				fi
			done
			echo "timeout $n"' _ "$(TB_DIMECTL)" "$TB_TMP/ch.sock" "$1" "$2" "$3" >"$TB_TMP/watch.out" &
		WATCH=$!
		tb_sleep 0.3	# the poller is running before the event
	}

	# sniff: log "wall-clock family type" for every IHMP datagram arriving on CH's
	# eth0, from a packet socket (network layer; IPv6 without extension
	# headers, as IHMP sends).
	sniff() {
		tb_bg ch sniff python3 -u -c '
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
s.bind(("eth0", 0))
print("ready", flush=True)
while True:
    data, addr = s.recvfrom(4096)
    t = time.time()
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    if addr[1] == 0x0800 and len(data) > 20 and data[9] == 17:
        fam, udp = 4, data[(data[0] & 15) * 4:]
    elif addr[1] == 0x86DD and len(data) > 40 and data[6] == 17:
        fam, udp = 6, data[40:]
    else:
        continue
    if len(udp) >= 10 and int(sys.argv[1]) in struct.unpack("!HH", udp[:4]):
        print("%.6f %d %d" % (t, fam, udp[9]), flush=True)
' "$TB_IHMP_PORT" >/dev/null
		tb_wait_log 5 sniff ready
	}

	# measure NAME T0 TYPES: the latency of the event that happened at T0:
	# to the first IPv4 datagram of one of TYPES (numbers) at CH (the events
	# are IPv4 addresses), and to CH's table.
	measure() {
		local t n w
		wait "$WATCH" || true
		read -r t n <"$TB_TMP/watch.out"
		w=$(awk -v t0="$2" -v ty=" $3 " 'NF == 3 && $2 == 4 && $1 >= t0 && index(ty, " " $3 " ") { printf "%.2f", ($1 - t0) * 1000; exit }' "$TB_TMP/sniff.log")
		if [ "$t" = timeout ]; then
			echo "SAMPLE $1 ${w:-none} timeout"
		else
			awk -v t="$t" -v t0="$2" -v n="$n" -v e="$1" -v w="${w:-none}" 'BEGIN { printf "SAMPLE %s %s %.2f %d\n", e, w, (t - t0) * 1000, n }'
		fi >>"$SAMPLES"
	}

	# The events; T0 is taken right before the netlink request.
	mh_addr() { # mh_addr add|del LINK: MH's IPv4 address on LINK alone
		T0=$EPOCHREALTIME
		ip -n "$(tb_ns mh)" addr "$1" "$(tb_mh_addr4 "$2")/25" dev "eth$2"
	}

	# mh_attach LINK: as tb_mh_attach, in one ip process (addresses and
	# default routes within a millisecond, as a DHCP client would).
	mh_attach() {
		T0=$EPOCHREALTIME
		ip -n "$(tb_ns mh)" -batch - <<-EOF
			addr add $(tb_mh_addr4 "$1")/25 dev eth$1
			addr add $(tb_mh_addr6 "$1")/64 dev eth$1 nodad
			route replace default via $(tb_mh_gw4 "$1") dev eth$1 metric ${1}00
			route replace default via $(tb_mh_gw6 "$1") dev eth$1 metric ${1}00
		EOF
	}

	tb_setup 2>/dev/null
	[ "$DELAY" = 0 ] || tb_delay "$DELAY" 2>/dev/null
	sniff
	tb_dimed_start mh ihmp yes 2>/dev/null
	tb_dimed_start ch ihmp yes 2>/dev/null
	tb_stream_recv ch keep --udp 6002 -t 600 -i 60 2>/dev/null
	tb_bg mh keep-tx "$(TB_DSTREAM)" send --udp -c $TB_CH_4 -p 6002 -B $TB_MH1_4 -t 550 -r 1 >/dev/null
	tb_wait_for 10 "CH to know MH" tb_exec ch "$(TB_DIMECTL)" -s "$TB_TMP/ch.sock" dump hids
	tb_sleep 3
	poll_ms=$(tb_exec ch bash -c 'a=$EPOCHREALTIME; for i in $(seq 20); do "$1" -s "$2" dump hids >/dev/null; done
		echo "$a $EPOCHREALTIME"' _ "$(TB_DIMECTL)" "$TB_TMP/ch.sock" | awk '{ printf "%.2f", ($2 - $1) * 50 }')
	echo "POLL $poll_ms"
	# what running ip costs: an address added and removed on MH's lo, 10 times
	ip_ms=$(a=$EPOCHREALTIME; for _ in $(seq 10); do ip -n "$(tb_ns mh)" addr add 192.0.2.99/32 dev lo
		ip -n "$(tb_ns mh)" addr del 192.0.2.99/32 dev lo; done; awk -v a="$a" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", (b - a) * 50 }')
	echo "IPCOST $ip_ms"
	rtt=$(tb_exec mh ping -n -c 10 -i 0.05 -W 2 $TB_CH_4 | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' |
		sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	cur=1 other=2
	for ((r = 1; r <= ROUNDS; r++)); do
		watch 7 "$(tb_mh_addr4 $other)" has
		mh_addr add $other
		measure up "$T0" "3 4"
		tb_sleep 3
		watch 7 "$(tb_mh_addr4 $other)" lacks
		mh_addr del $other
		measure down "$T0" "5 6"
		tb_sleep 3
		# hard: leave the current link, 1 s without address, arrive on the other
		tb_mh_detach $cur 2>/dev/null
		tb_sleep 1
		watch 5 "$(tb_mh_addr4 $other)" has	# column 5: remote locators
		mh_attach $other
		measure hard "$T0" "7 8"
		tb_sleep 3
		tmp=$cur cur=$other other=$tmp
	done
	while read -r _ ev wire ms n; do
		echo "RESULT delay=$DELAY rtt=$rtt event=$ev wire=$wire ms=$ms polls=${n:-0}"
	done <"$SAMPLES"
	rm -f "$SAMPLES"
	exit 0
fi

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for d in $DELAYS; do
	case $d in '' | *[!0-9]*) echo "usage: $0 [ROUNDS] [\"DELAY_MS ...\"]" >&2; exit 2 ;; esac
	DIME_BENCH_ONE=$d bash "$0" "$ROUNDS" >>"$results"
done

echo "IHMP latency: address event on MH -> the message at CH (wire) and CH's HID table updated (table)."
echo "Medians of $ROUNDS, min-max in brackets; target: table within RTT + 5 ms."
printf '  %8s %9s %-6s %22s %22s %10s %10s\n' delay RTT event "wire (min-max)" "table (min-max)" "table-RTT" target
for d in $DELAYS; do
	for ev in up down hard; do
		awk -v d="$d" -v e="$ev" '
			function med(x, n,   i, j, t) {
				for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
				return (n % 2) ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2 }
			/^RESULT/ { delete v; for (i = 2; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
				if (v["delay"] != d || v["event"] != e) next; rtt = v["rtt"]
				if (v["wire"] != "none") w[++nw] = v["wire"] + 0
				if (v["ms"] == "timeout") to++; else x[++n] = v["ms"] + 0 }
			END {
				ws = nw ? sprintf("%.1f (%.1f-%.1f) ms", med(w, nw), w[1], w[nw]) : "none"
				if (n == 0) { printf "  %5d ms %6.2f ms %-6s %22s %22s\n", d, rtt, e, ws, "no sample"; exit }
				m = med(x, n)
				printf "  %5d ms %6.2f ms %-6s %22s %22s %7.1f ms %7.1f ms%s\n", d, rtt, e, ws,
					sprintf("%.1f (%.1f-%.1f) ms", m, x[1], x[n]), m - rtt, rtt + 5,
					to ? sprintf("  (%d timed out)", to) : "" }' "$results"
	done
done
awk '/^POLL/ { s += $2; n++ } /^IPCOST/ { c += $2; m++ }
	END { if (n) printf "Resolution of \"table\": CH reads its table every %.1f ms (dimectl dump hids in a loop).\n", s / n
		if (m) printf "Running ip to make a change takes %.1f ms; it is included in every figure.\n", c / m }' "$results"
