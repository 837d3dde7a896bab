#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The demo behind scripts/demo, in two acts on one testbed (lib.sh): a
# byte-verified TCP transfer from MH to CH through a 100 Mbit/s path with
# 15 ms each way, and a hard hand-off in the middle of it (MH loses its
# address, and 3 s later gets one on its other link).
#   Act 1, plain kernel: the connection dies at the hand-off.
#   Act 2, dimed on MH and CH: the connection survives. IHMP (the protocol
#   that tells the peer) is not built yet, so the demo tells both daemons
#   the new locator by hand during the gap, with dimectl set-locator.
# Exit status 0 means both acts showed what they should.
set -eu
. "$(dirname "$0")/lib.sh"

RATE=100 DELAY=15 DURATION=10 HANDOFF_AT=3 GAP=3
DIMED=$TB_BUILD_DIR/src/dimed
DIMECTL=$TB_BUILD_DIR/src/dimectl

ctl() { # ctl NODE ARGS...
	local node=$1
	shift
	tb_exec "$node" "$DIMECTL" -s "$TB_TMP/$node.sock" "$@"
}

# bytes_after NAME SECOND: bytes the receiver verified after that second.
bytes_after() {
	awk -v h="$2" '/ t=/ { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == "t") t = a[2]; if (a[1] == "bytes") b = a[2] } if (t > h) s += b } END { print s + 0 }' "$TB_TMP/$1.log"
}

# transfer NAME PORT FROM TO [dimed]: one act. MH sends from its address on
# link FROM; at HANDOFF_AT it loses it, GAP s later it is on link TO.
transfer() {
	local name=$1 port=$2 from=$3 to=$4 with=${5:-}
	tb_stream_recv ch "$name" --tcp "$port" -t $((DURATION + 15)) -i 6
	tb_bg mh "$name-tx" "$(TB_DSTREAM)" send --tcp -c $TB_CH_4 -p "$port" -B "$(tb_mh_addr4 "$from")" \
		-t $DURATION >/dev/null
	tb_wait_log 5 "$name" " t=1 "
	tb_sleep $((HANDOFF_AT - 1))
	tb_mh_detach "$from" 2>/dev/null
	if [ -n "$with" ]; then
		ctl ch set-locator "$(tb_mh_addr4 "$from")" remote "$(tb_mh_addr4 "$to")" >/dev/null
		ctl mh set-locator $TB_CH_4 local "$(tb_mh_addr4 "$to")" >/dev/null
	fi
	tb_sleep $GAP
	tb_mh_attach "$to" 2>/dev/null
	tb_wait_log $((DURATION + 20)) "$name" "result="
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
tb_bg mh dimed-mh "$DIMED" -s "$TB_TMP/mh.sock" >/dev/null
tb_bg ch dimed-ch "$DIMED" -s "$TB_TMP/ch.sock" >/dev/null
tb_wait_for 10 "dimed on MH" ctl mh version
tb_wait_for 10 "dimed on CH" ctl ch version
transfer dimed 5002 2 1 dimed

echo
echo "Goodput seen by CH, per second (hand-off at ${HANDOFF_AT} s, ${GAP} s without address):"
tb_goodput_table plain dimed
echo
echo "without dimed: $(summary plain)"
echo "with dimed:    $(summary dimed)"
echo
plain_after=$(bytes_after plain $((HANDOFF_AT + 1)))
dimed_after=$(bytes_after dimed $((HANDOFF_AT + GAP)))
if [ "$(tb_stream_field plain result)" != OK ] && [ "$plain_after" -eq 0 ] &&
	[ "$(tb_stream_field dimed result)" = OK ] && [ "$dimed_after" -gt 0 ]; then
	echo "The connection survived the hand-off with dimed: $(tb_stream_field dimed bytes) bytes verified,"
	echo "$dimed_after of them after MH had its new address. Without dimed it died."
	exit 0
fi
echo "Unexpected outcome: without dimed $plain_after bytes after the hand-off, with dimed $dimed_after."
exit 1
