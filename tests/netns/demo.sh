#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The demo behind scripts/demo, in two acts on one testbed (lib.sh): a
# byte-verified TCP transfer from MH to CH through a 100 Mbit/s path with
# 15 ms each way, and a hard hand-off in the middle of it (MH loses its
# address, and 3 s later gets one on its other link).
#   Act 1, plain kernel: the connection dies at the hand-off.
#   Act 2, dimed on MH and CH: the connection survives. Nobody tells the
#   daemons anything: MH's dimed sees its new address appear and tells
#   CH's over IHMP (one HANDOFF, one ACK), and both move the connection.
# Exit status 0 means both acts showed what they should.
set -eu
. "$(dirname "$0")/lib.sh"

RATE=100 DELAY=15 DURATION=10 HANDOFF_AT=3 GAP=3

# bytes_after NAME SECOND: bytes the receiver verified after that second.
bytes_after() {
	awk -v h="$2" '/ t=/ { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == "t") t = a[2]; if (a[1] == "bytes") b = a[2] } if (t > h) s += b } END { print s + 0 }' "$TB_TMP/$1.log"
}

# transfer NAME PORT FROM TO: one act. MH sends from its address on link
# FROM; at HANDOFF_AT it loses it, GAP s later it is on link TO.
transfer() {
	local name=$1 port=$2 from=$3 to=$4
	tb_stream_recv ch "$name" --tcp "$port" -t $((DURATION + 15)) -i 6
	tb_bg mh "$name-tx" "$(TB_DSTREAM)" send --tcp -c $TB_CH_4 -p "$port" -B "$(tb_mh_addr4 "$from")" \
		-t $DURATION >/dev/null
	tb_wait_log 5 "$name" " t=1 "
	tb_sleep $((HANDOFF_AT - 1))
	tb_mh_detach "$from" 2>/dev/null
	tb_sleep $GAP
	tb_mh_attach "$to" 2>/dev/null
	tb_wait_log $((DURATION + 40)) "$name" "result="
}

summary() { # summary NAME: the receiver's verdict in one line
	grep 'result=' "$TB_TMP/$1.log" | tail -n 1 |
		awk '{ for (i = 2; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] } printf "%s, %s bytes verified%s\n", v["result"], v["bytes"], v["reason"] ? " (" v["reason"] ")" : "" }'
}

tb_setup 2>/dev/null
tb_shape $RATE 2>/dev/null
tb_delay $DELAY 2>/dev/null
echo "Testbed: MH --(link 1: R1 | link 2: R2)-- core --- CH, $RATE Mbit/s, $DELAY ms each way."
echo "Each act: MH sends a byte-verified TCP stream to CH for $DURATION s; at ${HANDOFF_AT} s MH loses"
echo "its address, ${GAP} s later it gets one on its other link (a hard hand-off)."
echo

echo "Act 1: plain kernel, MH $TB_MH1_4 (link 1) -> $TB_MH2_4 (link 2) ..."
transfer plain 5001 1 2
echo "Act 2: dimed on MH and CH, MH $TB_MH2_4 (link 2) -> $TB_MH1_4 (link 1) ..."
tb_dimed_start mh ihmp yes 2>/dev/null
tb_dimed_start ch ihmp yes 2>/dev/null
transfer dimed 5002 2 1

echo
echo "Goodput seen by CH, per second (hand-off at ${HANDOFF_AT} s, ${GAP} s without address):"
tb_goodput_table plain dimed
echo
echo "without dimed: $(summary plain)"
echo "with dimed:    $(summary dimed)"
echo
plain_after=$(bytes_after plain $((HANDOFF_AT + 1)))
dimed_after=$(bytes_after dimed $((HANDOFF_AT + GAP)))
echo "IHMP: MH's dimed sent $(tb_stat mh ihmp_sent_HANDOFF) HANDOFF and CH's dimed now" \
	"sends to MH at $(tb_ctl ch dump hids | awk -F'\t' '$5 != "-" { gsub(",", " and ", $5); print $5; exit }')."
if [ "$(tb_stream_field plain result)" != OK ] && [ "$plain_after" -eq 0 ] &&
	[ "$(tb_stream_field dimed result)" = OK ] && [ "$dimed_after" -gt 0 ]; then
	echo "Without dimed the connection died at the hand-off."
	echo "With dimed the connection survived the hand-off: $(tb_stream_field dimed bytes) bytes verified," \
		"$dimed_after of them after MH had its new address."
	exit 0
fi
echo "Unexpected outcome: without dimed $plain_after bytes after the hand-off, with dimed $dimed_after."
exit 1
