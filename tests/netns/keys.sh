#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Keys at run time, end to end (docs/security.md 5): `dimectl set-local-key`
# changes the key MH signs with, without a restart, and a key rotation
# (two keys in CH's file for MH) carries a hand-off across it.
#
#   1. MH signs with mh1; CH requires signatures and knows mh1 and mh2 for
#      MH's prefixes (two lines in one peer file: a rotation in progress).
#      A TCP stream from MH to CH runs throughout, byte-verified.
#   2. `dimectl set-local-key mh2.key all` on MH: `dimectl show keys`
#      names it (and `-j` is valid JSON).
#   3. A key file others can read is refused by dimectl; nothing changes.
#   4. A hard hand-off: the HANDOFF on the wire carries mh2's key id, CH
#      verifies it, and the stream survives.
#
# Topology in lib.sh; dimed on MH and CH with IHMP.
set -eu
. "$(dirname "$0")/lib.sh"

FORGE=$TB_BUILD_DIR/tests/tools/dime-ihmpforge
MH1=$TB_MH1_4 MH2=$TB_MH2_4 CH=$TB_CH_4

tb_setup
KEYS=$TB_TMP/keys
mkdir -m 755 "$KEYS" "$KEYS/mh-peers" "$KEYS/ch-peers"
for who in mh1 mh2 mh3 ch; do
	"$FORGE" keygen --out "$KEYS/$who.key" --pub "$KEYS/$who.pub" >/dev/null
done
install -m 644 "$KEYS/ch.pub" "$KEYS/mh-peers/$CH.pub"
# One file per MH prefix, each with both of MH's keys.
for net in "${MH1%.*}.0_25" "${MH2%.*}.0_25"; do
	cat "$KEYS/mh1.pub" "$KEYS/mh2.pub" >"$KEYS/ch-peers/$net.pub"
	chmod 644 "$KEYS/ch-peers/$net.pub"
done
stat_gt() { [ "$(tb_stat "$1" "$2")" -gt "$3" ]; }

tb_dimed_start mh ihmp yes ihmp-auth required ihmp-key "$KEYS/mh1.key" ihmp-peer-keys "$KEYS/mh-peers"
tb_dimed_start ch ihmp yes ihmp-auth required ihmp-key "$KEYS/ch.key" ihmp-peer-keys "$KEYS/ch-peers"
tb_stream_recv ch rx --tcp 6101 -t 60 -i 20
tb_bg mh tx "$(TB_DSTREAM)" send --tcp -c "$CH" -p 6101 -B "$MH1" -t 25 -r 10 >/dev/null
tb_wait_log 10 rx " t=1 "
tb_wait_for 10 "CH to verify MH's HELLO" stat_gt ch ihmp_verified 0

# 2. Rotate to mh2 at run time. dimectl prints the key's id; the
#    messages MH signs from now on carry it on the wire (captured in the
#    core, which forwards between MH and CH).
tb_bg core cap "$FORGE" capture --if ch --dst "$CH" --seconds 30 --out "$TB_TMP/cap.bin" >/dev/null
tb_wait_log 5 cap "^ready"
out=$(tb_ctl mh set-local-key "$KEYS/mh2.key" all) || tb_fail "set-local-key mh2: $out"
tb_log "set-local-key: $out"
id2=$(tb_ctl mh dump keys | awk -v pub="$(cat "$KEYS/mh2.pub")" 'index($0, pub) { print $1 }')
[ -n "$id2" ] || tb_fail "dimectl dump keys does not list mh2: $(tb_ctl mh dump keys)"
tb_ctl mh -j show keys | python3 -m json.tool >/dev/null || tb_fail "dimectl -j show keys is not JSON"
echo "$out" | grep -q "$id2" || tb_fail "set-local-key did not print the key's id $id2"

# 3. Refused: a key file others can read. Nothing changes.
install -m 644 "$KEYS/mh3.key" "$KEYS/readable.key"
if tb_ctl mh set-local-key "$KEYS/readable.key" all 2>"$TB_TMP/refused.txt"; then
	tb_fail "set-local-key took a key file others can read"
fi
tb_log "refused as it should: $(cat "$TB_TMP/refused.txt")"
tb_ctl mh dump keys | grep -q "^$id2" || tb_fail "a refused key replaced the current one"

# 4. A hard hand-off: its HANDOFF is signed with mh2, and CH (which knows
#    both of MH's keys) verifies it; the stream carries on.
verified=$(tb_stat ch ihmp_verified)
wrong=$(tb_stat ch ihmp_drop_wrong_key)
tb_handoff hard 1 1 2
tb_wait_log 15 dimed-mh "HANDOFF acknowledged"
[ "$(tb_stat ch ihmp_verified)" -gt "$verified" ] || tb_fail "CH verified nothing MH signed with mh2"
[ "$(tb_stat ch ihmp_drop_wrong_key)" = "$wrong" ] || tb_fail "CH refused a message signed with mh2"
tb_wait_log 30 cap "type=HANDOFF src=$MH2"
grep "type=HANDOFF src=$MH2" "$TB_TMP/cap.log" | grep -q "keyid=$id2" ||
	tb_fail "MH's HANDOFF is not signed with mh2 ($id2): $(grep HANDOFF "$TB_TMP/cap.log")"

tb_wait_log 60 rx "result="
tb_log "rx: $(grep 'result=' "$TB_TMP/rx.log" | tail -n 1)"
[ "$(tb_stream_field rx result)" = OK ] || tb_fail "the stream did not survive the key change and the move"
tb_dimed_stop mh
tb_dimed_stop ch
tb_dimed_check_log mh
tb_dimed_check_log ch
tb_log "keys: set-local-key at run time and a rotation across a hand-off work"
