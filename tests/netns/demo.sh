#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The demo behind scripts/demo: a TCP transfer from MH to CH through a
# 100 Mbit/s, 15 ms (one way) path, and a hard hand-off in the middle of it
# (MH loses its address on link 1; 3 s later it gets one on link 2).
#
# This build has no working dimed yet, so the demo shows the problem dimed
# solves: the kernel keeps the socket bound to the vanished address, every
# segment it sends or is sent is lost, and the connection never resumes.
# Exit status 0 means the demo ran and showed exactly that.
set -eu
. "$(dirname "$0")/lib.sh"

RATE=100 DELAY=15 DURATION=12 HANDOFF_AT=4 GAP=3

tb_setup 2>/dev/null
tb_shape $RATE 2>/dev/null
tb_delay $DELAY 2>/dev/null
echo "Testbed: MH --(link 1: R1 | link 2: R2)-- core --- CH, $RATE Mbit/s, $DELAY ms each way."
echo "MH sends a byte-verified TCP stream to CH for $DURATION s from $TB_MH1_4 (link 1)."
echo "At ${HANDOFF_AT} s MH loses link 1; ${GAP} s later it gets $TB_MH2_4 on link 2 (hard hand-off)."
echo

tb_stream_recv ch rx --tcp 5001 -t $((DURATION + 10)) -i 5
tb_bg mh tx "$(TB_DSTREAM)" send --tcp -c $TB_CH_4 -p 5001 -B $TB_MH1_4 -t $DURATION >/dev/null
tb_wait_log 5 rx " t=1 "
tb_sleep $((HANDOFF_AT - 1))
tb_handoff hard $GAP 1 2 2>/dev/null
echo "   (hand-off done: MH now has $TB_MH2_4 on link 2)"
tb_wait_log $((DURATION + 15)) rx "result="
tb_wait_log 10 tx "result=\|stalled"

echo
echo "Goodput seen by CH, per second:"
tb_goodput_table rx
echo

before=$(awk -v h=$HANDOFF_AT '/ t=/ { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == "t") t = a[2]; if (a[1] == "bytes") b = a[2] } if (t <= h) s += b } END { print s + 0 }' "$TB_TMP/rx.log")
after=$(awk -v h=$HANDOFF_AT '/ t=/ { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == "t") t = a[2]; if (a[1] == "bytes") b = a[2] } if (t > h + 1) s += b } END { print s + 0 }' "$TB_TMP/rx.log")
result=$(tb_stream_field rx result)
echo "Receiver: $(grep 'result=' "$TB_TMP/rx.log" | tail -n 1 | sed 's/^dstream: //')"
echo "Sender:   $(grep -E 'result=|stalled' "$TB_TMP/tx.log" | tail -n 1 | sed 's/^dstream: //')"
echo
if [ "$result" != OK ] && [ "$after" -eq 0 ]; then
	echo "Without dimed the connection died at the hand-off: $before bytes verified before it,"
	echo "none after, although MH had a working address again ${GAP} s later."
	echo "dimed's job is to keep this connection alive (see README.md for the status)."
	exit 0
fi
echo "Unexpected: the plain-kernel connection carried $after bytes after the hand-off (result $result)."
exit 1
