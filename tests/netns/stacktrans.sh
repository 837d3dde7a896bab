#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# StackTrans with locators set by hand (dimectl set-locator), dimed on MH
# and CH, no IHMP. Topology in lib.sh.
#
#   stacktrans.sh 4|6 handoff    TCP + UDP byte-verified streams MH -> CH
#                                survive MH's hard hand-off (link 1 -> 2);
#                                once steady, both flows are rewritten by the
#                                kernel (offload.h) at both ends
#   stacktrans.sh 4|6 handoff_nfq  the same with "offload no": every moved
#                                packet is rewritten in user space
#   stacktrans.sh 4 handoff_ct   the same with "track-connections yes":
#                                conntrack is a second source of flows
#   stacktrans.sh 4 keep         the hand-off with 2 s idle timeouts: the
#                                offloaded flows' packets no longer pass
#                                dimed, so the socket table must keep them
#                                (learn.h, flow.h keep) at both ends, CH's
#                                unconnected UDP socket included, or the
#                                streams break
#   stacktrans.sh 4|6 chmove     ... survive CH's address change
#   stacktrans.sh 4 preexisting  a connection opened before dimed started
#                                survives a later hand-off
#   stacktrans.sh 4|6 pmtu       after the hand-off a router on the new path
#                                has a smaller MTU: its ICMP errors quote the
#                                translated packet and must still reach the
#                                socket (or TCP black-holes)
#   stacktrans.sh 4 strict       the hand-off with strict reverse-path
#                                filtering (rp_filter=1) on both hosts
#   stacktrans.sh 4 bystander    traffic to a host without dimed is
#                                unaffected while dimed runs
#   stacktrans.sh 4 cleanup      after SIGTERM no rule, set, nft table, pin
#                                or sysctl change is left
set -eu
. "$(dirname "$0")/lib.sh"

FAMILY=${1:?usage: stacktrans.sh 4|6 SCENARIO}
SCENARIO=${2:?usage: stacktrans.sh 4|6 SCENARIO}
DIMED=$TB_BUILD_DIR/src/dimed
DIMECTL=$TB_BUILD_DIR/src/dimectl
SECONDS_OF_DATA=8

if [ "$FAMILY" = 6 ]; then
	MH1=$TB_MH1_6 MH2=$TB_MH2_6 CH=$TB_CH_6 CH_ALT=$TB_CH_ALT_6
else
	MH1=$TB_MH1_4 MH2=$TB_MH2_4 CH=$TB_CH_4 CH_ALT=$TB_CH_ALT_4
fi

# dimed NODE: start dimed in NODE's namespace, wait for its control socket.
# IHMP is off here: these scenarios test the data plane alone, with the
# locators set by hand (tests/netns/ihmp.sh runs the control plane).
start_dimed() {
	local node=$1
	[ -f "$TB_TMP/dime-noihmp.conf" ] ||
		printf 'ihmp no\n%s\n' "${DIME_TEST_CONF_EXTRA:-}" >"$TB_TMP/dime-noihmp.conf"
	tb_bg "$node" "dimed-$node" "$DIMED" -f "$TB_TMP/dime-noihmp.conf" -l debug -s "$TB_TMP/$node.sock" >/dev/null
	tb_wait_for 10 "dimed on $node to answer" "$DIMECTL" -s "$TB_TMP/$node.sock" version
}

ctl() { # ctl NODE ARGS...
	local node=$1
	shift
	tb_exec "$node" "$DIMECTL" -s "$TB_TMP/$node.sock" "$@"
}

stop_dimed() { # stop_dimed NODE: SIGTERM, wait (bounded) for a clean exit
	local node=$1 pid
	pid=$(pgrep -f "dimed -f $TB_TMP/dime-noihmp.conf -l debug -s $TB_TMP/$node.sock" || true)
	[ -n "$pid" ] || tb_fail "dimed on $node is not running"
	kill -TERM "$pid"
	tb_wait_for 10 "dimed on $node to exit" bash -c "! kill -0 $pid 2>/dev/null"
	grep -q "stopped" "$TB_TMP/dimed-$node.log" || tb_fail "dimed on $node did not stop cleanly"
}

start_streams() { # start_streams: TCP and UDP, MH (bound to MH1) -> CH
	tb_stream_recv ch tcp_rx --tcp 6001 -t 40 -i 15
	tb_stream_recv ch udp_rx --udp 6002 -t 40 -i 15
	tb_bg mh tcp_tx "$(TB_DSTREAM)" send --tcp -c "$CH" -p 6001 -B "$MH1" -t $SECONDS_OF_DATA -r 20 >/dev/null
	tb_bg mh udp_tx "$(TB_DSTREAM)" send --udp -c "$CH" -p 6002 -B "$MH1" -t $SECONDS_OF_DATA -r 5 >/dev/null
	tb_wait_log 5 tcp_rx " t=1 "
}

check_streams() {
	local rx
	tb_wait_log 40 tcp_rx "result="
	tb_wait_log 40 udp_rx "result="
	for rx in tcp_rx udp_rx; do
		tb_log "$rx: $(grep 'result=' "$TB_TMP/$rx.log" | tail -n 1)"
	done
	[ "$(tb_stream_field tcp_rx result)" = OK ] || tb_fail "TCP stream did not survive"
	[ "$(tb_stream_field udp_rx result)" = OK ] || tb_fail "UDP stream broken"
	# UDP loses what was sent during the gap; it must flow again afterwards.
	local after
	after=$(awk '/ t=/ { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == "t") t = a[2]; if (a[1] == "bytes") b = a[2] } if (t >= 6) s += b } END { print s + 0 }' "$TB_TMP/udp_rx.log")
	[ "$after" -gt 0 ] || tb_fail "UDP carried nothing after the hand-off"
}

# MH moves from link 1 to link 2 (hard, 1 s without address). Both ends
# learn the new locators by hand during the gap: with no IHMP to order the
# two updates, a segment translated by one end only would meet no socket
# at the other and draw a RST that kills the connection.
handoff_by_hand() {
	tb_mh_detach 1
	ctl ch set-locator "$MH1" remote "$MH2"
	ctl mh set-locator "$CH" local "$MH2"
	tb_sleep 1
	tb_mh_attach 2
}

# CH moves to its alternative address. The core drops MH-CH traffic while
# both ends are told (the same reason as above), as a short outage would.
chmove_by_hand() {
	local t
	for t in iptables ip6tables; do tb_exec core "$t" -I FORWARD -j DROP; done
	tb_exec ch ip addr add $TB_CH_ALT_4/25 dev eth0
	tb_exec ch ip -6 addr add $TB_CH_ALT_6/64 dev eth0 nodad
	ctl ch set-locator "$MH1" local "$CH_ALT"
	ctl mh set-locator "$CH" remote "$CH_ALT"
	tb_exec ch ip addr del $TB_CH_4/25 dev eth0
	tb_exec ch ip -6 addr del $TB_CH_6/64 dev eth0
	tb_exec ch ip route replace default via $TB_CORE_CH_4
	tb_exec ch ip -6 route replace default via $TB_CORE_CH_6
	tb_sleep 0.5
	for t in iptables ip6tables; do tb_exec core "$t" -D FORWARD -j DROP; done
	tb_log "CH moved to $CH_ALT"
}

# Stop dimed on the nodes and check its log: no warning or error lines, and
# no sanitizer report (the ASan+UBSan build runs these scenarios too; a
# leak is only reported at exit).
check_no_warnings() {
	local node
	for node in "$@"; do
		stop_dimed "$node"
		if grep -E "^([0-9:.]+ )?dimed: .*(warning|error|cannot|refused)" "$TB_TMP/dimed-$node.log" | grep -v "not tracked"; then
			tb_fail "dimed on $node logged a warning"
		fi
		if grep -E "AddressSanitizer|LeakSanitizer|runtime error" "$TB_TMP/dimed-$node.log"; then
			tb_fail "dimed on $node: sanitizer report"
		fi
	done
}

# What dimed may change and must restore, as text: rules and user chains
# (iptables-nft keeps an emptied built-in table it had to create; an empty
# table with ACCEPT policies filters nothing), sets, lo's addresses, sysctls.
kernel_state() {
	local node=$1
	{
		tb_exec "$node" iptables-save | grep -E '^(-A |:[^ ]+ - )' || true
		tb_exec "$node" ip6tables-save | grep -E '^(-A |:[^ ]+ - )' || true
		tb_exec "$node" ipset list -n 2>/dev/null || true
		tb_exec "$node" nft list tables 2>/dev/null | grep -w dimed || true
		tb_exec "$node" ip -o addr show dev lo | awk '{ print $4 }'
		# the pins' fallback rules and table (pin.h)
		tb_exec "$node" ip rule show
		tb_exec "$node" ip -6 rule show
		tb_exec "$node" ip route show table all | grep -E 'table (53713|0xd1d1)' || true
		tb_exec "$node" ip -6 route show table all | grep -E 'table (53713|0xd1d1)' || true
		tb_exec "$node" sh -c 'for f in /proc/sys/net/ipv4/conf/*/rp_filter /proc/sys/net/ipv4/conf/*/arp_ignore /proc/sys/net/ipv4/conf/*/arp_announce; do echo "$f $(cat "$f")"; done'
	}
}

# Strict rp_filter drops an inbound packet whose (rewritten) source has no
# route back through the interface it came in on; dimed loosens it.
[ "$SCENARIO" = strict ] && TB_RP_FILTER=1
tb_setup
# stat NODE NAME: one counter of dimectl stats (0 when absent)
stat() { ctl "$1" dump stats | awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }'; }

[ "$SCENARIO" = handoff_nfq ] && DIME_TEST_CONF_EXTRA="offload no"
[ "$SCENARIO" = handoff_ct ] && DIME_TEST_CONF_EXTRA="track-connections yes"
# keep: the streams outlast the checks made while they run.
[ "$SCENARIO" = keep ] && SECONDS_OF_DATA=14
[ "$SCENARIO" = keep ] && DIME_TEST_CONF_EXTRA="flow-timeout-udp 2s
flow-timeout-tcp-transitory 2s
flow-timeout-tcp-established 2s"
case $SCENARIO in
handoff | strict | handoff_nfq | handoff_ct)
	start_dimed mh
	start_dimed ch
	start_streams
	tb_sleep 2
	handoff_by_hand
	ctl mh show
	check_streams
	ctl mh stats | grep -E "dp_(out|in)_rewritten|offload" >&2
	[ "$(stat mh dp_out_rewritten)" -gt 0 ] || tb_fail "MH rewrote nothing"
	if [ "$SCENARIO" = handoff_nfq ]; then
		[ "$(stat mh dp_offload_adds)" = 0 ] || tb_fail "offload no, yet flows were offloaded"
		tb_exec mh nft list table inet dimed >/dev/null 2>&1 && tb_fail "offload no, yet table inet dimed exists"
		# Every data segment of the 8 s stream after the move crossed user space.
		[ "$(stat mh dp_out_rewritten)" -gt 1000 ] || tb_fail "MH rewrote too few packets in user space"
	else
		# Both streams went to the kernel at both ends, and the kernel
		# rewrote their packets (its own counters, read by dimed).
		for node in mh ch; do
			# A flow is handed over: the table woke.
			tb_exec $node nft list table inet dimed | grep -q "flags dormant" &&
				[ "$(stat $node dp_flows_offloaded)" -gt 0 ] && tb_fail "$node: flows offloaded, the table asleep"
			[ "$(stat $node dp_offload_adds)" -ge 2 ] || tb_fail "$node: the TCP and UDP flows were not both offloaded"
			[ "$(stat $node offload_out_packets)" -gt 0 ] || tb_fail "$node: the kernel rewrote no outbound packet"
			[ "$(stat $node offload_in_packets)" -gt 0 ] || tb_fail "$node: the kernel rewrote no inbound packet"
		done
	fi
	# Where flows came from. By default the socket table alone: dimed
	# turned no connection tracking on, and CH's unconnected UDP socket
	# learnt its moved peer from its first datagram. With
	# track-connections, conntrack reported them too, CH's UDP flow
	# among them.
	for node in mh ch; do
		if [ "$SCENARIO" = handoff_ct ]; then
			[ "$(stat $node conntrack_events)" -gt 0 ] || tb_fail "$node: track-connections yes, yet no conntrack event"
		else
			[ "$(stat $node conntrack_events)" = 0 ] || tb_fail "$node: the kernel tracks connections although nothing asked"
		fi
		[ "$(stat $node sock_dumps)" -gt 0 ] || tb_fail "$node: no socket dump"
	done
	if [ "$SCENARIO" = handoff_ct ]; then
		[ "$(stat ch dp_in_flow_learned)" = 0 ] || tb_fail "CH learnt inbound a flow conntrack knew"
	else
		[ "$(stat ch dp_in_flow_learned)" -ge 1 ] || tb_fail "CH did not learn its UDP server socket's moved peer"
	fi
	# The operator's view after the hand-off: show names the new local
	# locator, and the JSON form is valid and says the same.
	ctl mh show | grep -q "$MH2" || tb_fail "dimectl show does not name the new locator $MH2"
	ctl mh -j show hids >"$TB_TMP/hids.json"
	python3 -c 'import json, sys
hids = json.load(open(sys.argv[1]))["hids"]
sys.exit(not any(sys.argv[2] in h["local_locators"] and sys.argv[3] in h["remote_locators"] for h in hids))' \
		"$TB_TMP/hids.json" "$MH2" "$CH" || tb_fail "dimectl -j show hids: no host with local locator $MH2 and remote $CH"
	check_no_warnings mh ch
	;;
keep)
	start_dimed mh
	start_dimed ch
	start_streams
	tb_sleep 1
	handoff_by_hand
	# Both flows handed over, then idle in dimed's eyes for over 2 timeouts.
	tb_wait_for 10 "MH to offload both flows" sh -c \
		"[ \$($DIMECTL -s $TB_TMP/mh.sock dump stats | awk '\$1 == \"dp_flows_offloaded\" { print \$2 }') -ge 2 ]"
	tb_sleep 5
	# Still streaming (SECONDS_OF_DATA is longer here): at both ends the
	# flows must still be there and offloaded. CH's UDP socket is not
	# connected: no socket table names its peer, so its flow was learnt
	# from the first datagram of the moved host and lives while the
	# socket's port is open.
	for node in mh ch; do
		ctl $node -j show flows >"$TB_TMP/flows-$node.json"
		python3 -c 'import json, sys
flows = json.load(open(sys.argv[1]))["flows"]
ports = sorted(f["remote_port"] if f["remote_port"] in (6001, 6002) else f["local_port"]
               for f in flows if f["offloaded"])
sys.exit(not (6001 in ports and 6002 in ports))' "$TB_TMP/flows-$node.json" ||
			{ cat "$TB_TMP/flows-$node.json" >&2; tb_fail "$node: the offloaded flows were not kept past their idle timeout"; }
		[ "$(stat $node dp_flows_forgotten)" = 0 ] || tb_fail "$node forgot a flow that was still alive"
	done
	check_streams
	# The streams ended, their flows expire (2 s timeouts), nothing is
	# steered any more: 2 s later the offload table sleeps again, and no
	# packet was waiting in a queue when its hooks went (no warning).
	for node in mh ch; do
		tb_wait_for 20 "$node's offload table to sleep again" sh -c \
			"ip netns exec $(tb_ns $node) nft list table inet dimed | grep -q 'flags dormant'"
	done
	check_no_warnings mh ch
	;;
chmove)
	start_dimed mh
	start_dimed ch
	start_streams
	tb_sleep 2
	chmove_by_hand
	check_streams
	check_no_warnings mh ch
	;;
preexisting)
	start_streams
	tb_sleep 1
	start_dimed mh
	start_dimed ch
	tb_sleep 1
	handoff_by_hand
	check_streams
	check_no_warnings mh ch
	;;
pmtu)
	start_dimed mh
	start_dimed ch
	start_streams
	tb_sleep 1
	handoff_by_hand
	tb_sleep 1
	tb_exec r2 ip link set dev eth1 mtu 1280
	tb_log "R2's uplink MTU is now 1280"
	check_streams
	[ "$(ctl mh dump stats | awk '$1 == "dp_icmp_err_rewritten" { print $2 }')" -gt 0 ] ||
		tb_fail "no ICMP error was translated"
	check_no_warnings mh ch
	;;
bystander)
	start_dimed mh
	# The core runs no dimed: plain TCP to it must be untouched.
	tb_stream_recv core by_rx --tcp 6003 -t 20 -i 5
	tb_exec mh "$(TB_DSTREAM)" send --tcp -c "$TB_CORE_R1_4" -p 6003 -t 2 -q >/dev/null
	tb_wait_log 10 by_rx "result="
	[ "$(tb_stream_field by_rx result)" = OK ] || tb_fail "traffic to a host without dimed broke"
	[ "$(ctl mh dump stats | awk '$1 == "dp_out_rewritten" { print $2 }')" = 0 ] ||
		tb_fail "dimed rewrote traffic of a host that did not move"
	[ "$(ctl mh dump stats | awk '$1 == "nfq_out_packets" { print $2 }')" = 0 ] ||
		tb_fail "unmoved traffic crossed user space"
	check_no_warnings mh
	;;
cleanup)
	before=$(kernel_state mh)
	start_dimed mh
	start_dimed ch
	# Nothing handed over yet: the table sleeps, its chains on no hook.
	tb_exec mh nft list table inet dimed | grep -q "flags dormant" ||
		tb_fail "the offload table is awake with no flow handed over"
	start_streams
	tb_sleep 2
	handoff_by_hand
	tb_wait_for 10 "MH1 pinned on lo" sh -c "ip -n $(tb_ns mh) -o addr show dev lo | grep -q ' $MH1/'"
	tb_exec mh ip rule show | grep -q "from $MH1 lookup 53713" || tb_fail "no fallback rule for the pin $MH1"
	tb_exec mh nft list table inet dimed >/dev/null || tb_fail "no offload table while dimed runs"
	check_no_warnings mh
	tb_mh_detach 2
	tb_mh_attach 1
	after=$(kernel_state mh)
	if [ "$before" != "$after" ]; then
		diff <(echo "$before") <(echo "$after") >&2 || true
		tb_fail "dimed left state behind after SIGTERM"
	fi
	;;
*)
	tb_fail "unknown scenario $SCENARIO"
	;;
esac
tb_log "PASS: stacktrans $FAMILY $SCENARIO"
