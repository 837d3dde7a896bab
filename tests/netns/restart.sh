#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# dimed killed with SIGKILL after a hand-off, and started again: the state
# file (statefile.h, next to the control socket) brings back the moved
# host and the pinned identifier, conntrack's dump brings back the flows,
# and the TCP and UDP streams that were already translated carry on,
# byte-verified. Then a clean stop removes the state file.
#
# Topology in lib.sh; dimed on MH and CH with IHMP.
set -eu
. "$(dirname "$0")/lib.sh"

DIMED=$TB_BUILD_DIR/src/dimed
DIMECTL=$TB_BUILD_DIR/src/dimectl
MH1=$TB_MH1_4 MH2=$TB_MH2_4 CH=$TB_CH_4

start_dimed() { # start_dimed NODE LOGNAME
	local node=$1 log=$2
	tb_bg "$node" "$log" "$DIMED" -u root -l debug -s "$TB_TMP/$node.sock" >/dev/null
	tb_wait_for 10 "dimed on $node to answer" "$DIMECTL" -s "$TB_TMP/$node.sock" version
}
dimed_pid() { pgrep -f "dimed -u root -l debug -s $TB_TMP/$1.sock" | head -n 1; }
ctl() { local node=$1; shift; tb_exec "$node" "$DIMECTL" -s "$TB_TMP/$node.sock" "$@"; }

tb_setup
start_dimed mh dimed-mh
start_dimed ch dimed-ch
tb_stream_recv ch tcp_rx --tcp 6001 -t 40 -i 15
tb_stream_recv ch udp_rx --udp 6002 -t 40 -i 15
tb_bg mh tcp_tx "$(TB_DSTREAM)" send --tcp -c "$CH" -p 6001 -B "$MH1" -t 12 -r 20 >/dev/null
tb_bg mh udp_tx "$(TB_DSTREAM)" send --udp -c "$CH" -p 6002 -B "$MH1" -t 12 -r 5 >/dev/null
tb_wait_log 5 tcp_rx " t=1 "

# The hand-off: afterwards MH's flows are translated (MH1 -> MH2).
tb_mh_detach 1
tb_sleep 1
tb_mh_attach 2
tb_wait_log 15 dimed-mh "locators remote .*, local $MH2"
tb_wait_for 10 "the state file" test -s "$TB_TMP/mh.state"
grep -q "^pin $MH1\$" "$TB_TMP/mh.state" || tb_fail "state file does not list the pin $MH1"
tb_sleep 1

# The inbound lane rules of the moved host (rules.h), to be kept.
tb_exec mh iptables-save -t raw | grep -- "^-A DIME-IN -d .* -m set --match-set dime-in4-r[0-7] src" \
	>"$TB_TMP/lanes-before" || tb_fail "no inbound lane rule on MH after the hand-off"
pid=$(dimed_pid mh)
[ -n "$pid" ] || tb_fail "dimed on MH is not running"
kill -KILL "$pid"
tb_wait_for 5 "dimed on MH to die" bash -c "! kill -0 $pid 2>/dev/null"
tb_log "dimed on MH killed (SIGKILL)"
tb_exec mh ip -o addr show dev lo | grep -q " $MH1/" || tb_fail "the pin went with dimed"

start_dimed mh dimed-mh2
grep -q "restored 1 moved hosts and 1 pins" "$TB_TMP/dimed-mh2.log" ||
	tb_fail "dimed did not restore its state: $(grep -i state "$TB_TMP/dimed-mh2.log" | head -n 3)"
tb_exec mh ip -o addr show dev lo | grep -q " $MH1/" || tb_fail "the pin was flushed at restart"
# The earlier run's rules are taken over, not re-installed (that would leave
# a moment with nothing steered): IPv4 was steering both ways, IPv6 not.
grep -q "rules: taken over from the earlier run, sets kept, steering kept on for this run: IPv4 DIME-IN, IPv4 DIME-OUT (" "$TB_TMP/dimed-mh2.log" ||
	tb_fail "rules not taken over: $(grep 'rules:' "$TB_TMP/dimed-mh2.log" | head -n 3)"
tb_exec mh ip rule show | grep -q "from $MH1 lookup 53713" || tb_fail "the pin lost its fallback rule"
# The earlier run's lane rules are back in the same transaction.
while read -r rule; do
	tb_exec mh iptables-save -t raw | grep -qxF -- "$rule" || tb_fail "lane rule lost at take-over: $rule"
done <"$TB_TMP/lanes-before"
grep -q "; $(wc -l <"$TB_TMP/lanes-before") inbound lanes kept" "$TB_TMP/dimed-mh2.log" ||
	tb_fail "take-over did not keep the lanes: $(grep 'taken over' "$TB_TMP/dimed-mh2.log")"

tb_wait_log 40 tcp_rx "result="
tb_wait_log 40 udp_rx "result="
for rx in tcp_rx udp_rx; do
	tb_log "$rx: $(grep 'result=' "$TB_TMP/$rx.log" | tail -n 1)"
done
[ "$(tb_stream_field tcp_rx result)" = OK ] || tb_fail "TCP stream did not survive the restart"
[ "$(tb_stream_field udp_rx result)" = OK ] || tb_fail "UDP stream broken"
[ "$(ctl mh dump stats | awk '$1 == "dp_out_rewritten" { print $2 }')" -gt 0 ] ||
	tb_fail "the restarted dimed rewrote nothing"

# A clean stop takes the state file with it.
pid=$(pgrep -f "dimed -u root -l debug -s $TB_TMP/mh.sock" | head -n 1)
kill -TERM "$pid"
tb_wait_for 10 "dimed on MH to exit" bash -c "! kill -0 $pid 2>/dev/null"
[ ! -e "$TB_TMP/mh.state" ] || tb_fail "the state file outlived a clean stop"
if grep -E "AddressSanitizer|LeakSanitizer|runtime error" "$TB_TMP"/dimed-*.log; then
	tb_fail "sanitizer report"
fi
tb_log "restart: moved flows survived SIGKILL and restart"
