#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# dimed's kernel-side steering (rules.c, ipset.c), for real, in the MH
# namespace of the testbed (topology in lib.sh), driven by dime-rules-probe:
#   1. install creates the chains and the ten hash:ip sets but no jump;
#      the first set member of a family puts DIME-IN first in raw
#      PREROUTING and DIME-OUT first in mangle OUTPUT (IPv4 and IPv6); the
#      host's own rules are kept, and conntrack tracks the namespace only
#      when asked (track-connections);
#   1b. steering on demand: each jump (per family, to DIME-IN and to
#      DIME-OUT) goes in with the first member of a set its chain matches
#      and out RULES_IDLE_MS after the last went, the others stay; the base
#      chain iptables-nft made for it goes too when left empty, never when
#      it holds a rule of the host;
#   2. pairs are counted: a column entry stays while any pair uses it;
#   3. the rules do what they say: a steered packet with no queue reader
#      is dropped (never delivered un-rewritten), while loopback, dimed's
#      mark bit and the IHMP port pass;
#   4. a crashed run's rules and sets (and a stale set of the wrong type)
#      are cleaned by the next install; an install that cannot clean fails
#      and leaves nothing; errors name the set and the address;
#   5. remove leaves iptables-save exactly as it was before install, no
#      chain, rule or set of ours; a second remove is harmless;
#   6. a batch of 20000 pairs is timed.
set -eu
. "$(dirname "$0")/lib.sh"

PROBE=$TB_BUILD_DIR/tests/tools/dime-rules-probe
MARK=0x40000000
IHMP=4010
ALL_SETS="dime-out4-l dime-out4-r dime-odst4 dime-in4-r dime-in4-l dime-out6-l dime-out6-r dime-odst6 dime-in6-r dime-in6-l"
# The inbound lanes' sets (rules.h), eight per family.
ALL_SETS="$ALL_SETS $(for v in 4 6; do for k in 0 1 2 3 4 5 6 7; do printf 'dime-in%s-r%s ' $v $k; done; done)"

probe() { tb_exec mh "$PROBE" "$@"; }

# save NODE 4|6: the rule set without comments and counters, comparable
# across time.
save() {
	local t=iptables
	[ "$2" = 6 ] && t=ip6tables
	tb_exec "$1" "$t-save" | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]/[0:0]/'
}

# pkts 4|6 TABLE TEXT: packet counter of the rule whose save line contains TEXT.
pkts() {
	local t=iptables
	[ "$1" = 6 ] && t=ip6tables
	tb_exec mh "$t-save" -c -t "$2" | grep -F -- "$3" | head -n 1 | sed 's/^\[\([0-9]*\):.*/\1/'
}

# first_rule TABLE CHAIN FILE: the first rule of CHAIN in TABLE of a save.
first_rule() { sed -n "/^\*$1\$/,/^COMMIT/p" "$3" | grep -m1 -- "^-A $2 "; }

ihmp_in_counted() { [ "$(pkts 4 raw "--dport $IHMP -j RETURN")" -gt "$1" ]; }

reaches() { tb_exec mh ping -n -q -c 1 -W 1 "$@" >/dev/null 2>&1; }

# The host's own rules, which dimed must neither disturb nor outrank.
host_rules() {
	local t
	for t in iptables ip6tables; do
		tb_exec mh $t -t raw -A PREROUTING -p tcp --dport 9 -j ACCEPT
		tb_exec mh $t -t mangle -A OUTPUT -p tcp --dport 9 -j MARK --set-mark 0x1
		tb_exec mh $t -A INPUT -p tcp --dport 9 -j ACCEPT
	done
}

check_install() {
	local v chain sets
	probe install ipv6=1 qout=3 qin=4 port=$IHMP mark=$MARK >/dev/null
	for v in 4 6; do
		save mh $v | grep -q -- "-j DIME-" && tb_fail "IPv$v: a jump to our chains before anything is steered"
		save mh $v | grep -q -- "^:DIME-IN " || tb_fail "IPv$v: chain DIME-IN not created"
	done
	probe install ipv6=1 qout=3 qin=4 port=$IHMP mark=$MARK , odst-add $TB_CH_ALT_4 , odst-add $TB_CH_ALT_6 \
		, add-pair in $TB_CH_ALT_4 $TB_MH2_4 , add-pair in $TB_CH_ALT_6 $TB_MH2_6 \
		, expect-steering 4 on on , expect-steering 6 on on >/dev/null || tb_fail "install: steering did not go on"
	for v in 4 6; do
		save mh $v >"$TB_TMP/installed$v"
		[ "$(first_rule raw PREROUTING "$TB_TMP/installed$v")" = "-A PREROUTING -j DIME-IN" ] ||
			tb_fail "IPv$v: DIME-IN is not the first rule of raw PREROUTING: $(grep PREROUTING "$TB_TMP/installed$v")"
		[ "$(first_rule mangle OUTPUT "$TB_TMP/installed$v")" = "-A OUTPUT -j DIME-OUT" ] ||
			tb_fail "IPv$v: DIME-OUT is not the first rule of mangle OUTPUT"
		grep -q -- "-A DIME-IN -m set --match-set dime-in$v-r src -m set --match-set dime-in$v-l dst -j NFQUEUE --queue-num 4$" "$TB_TMP/installed$v" ||
			tb_fail "IPv$v: inbound queue rule missing"
		grep -q -- "-A DIME-IN -d .* -m set --match-set dime-in$v-r0 src -j NFQUEUE --queue-num 4$" "$TB_TMP/installed$v" ||
			tb_fail "IPv$v: inbound lane rule missing"
		grep -q -- "-A DIME-OUT -m set --match-set dime-odst$v dst -j NFQUEUE --queue-num 3$" "$TB_TMP/installed$v" ||
			tb_fail "IPv$v: odst queue rule missing"
		grep -q -- "--queue-bypass" "$TB_TMP/installed$v" && tb_fail "IPv$v: a rule fails open (--queue-bypass)"
		for chain in "raw -A PREROUTING -p tcp -m tcp --dport 9 -j ACCEPT" \
			"mangle -A OUTPUT -p tcp -m tcp --dport 9 -j MARK --set-xmark 0x1/0xffffffff" \
			"filter -A INPUT -p tcp -m tcp --dport 9 -j ACCEPT"; do
			sed -n "/^\*${chain%% *}/,/^COMMIT/p" "$TB_TMP/installed$v" | grep -qxF -- "${chain#* }" ||
				tb_fail "IPv$v: host rule lost: $chain"
		done
	done
	sets=$(tb_exec mh ipset list -n | sort | tr '\n' ' ')
	[ "$sets" = "$(echo $ALL_SETS | tr ' ' '\n' | sort | tr '\n' ' ')" ] || tb_fail "sets: $sets"
	tb_exec mh ipset list dime-out6-r | grep -q "^Type: hash:ip$" || tb_fail "dime-out6-r is not hash:ip"
	tb_exec mh ipset list dime-out6-r | grep -q "family inet6" || tb_fail "dime-out6-r is not IPv6"
	# dimed learns flows from the socket table: by default nothing of ours
	# makes the kernel track connections (a busy flow would pay for it);
	# with track-connections one rule does, although no rule of the host
	# needs conntrack.
	reaches $TB_CH_4 || tb_fail "MH cannot reach CH with the rules installed and empty sets"
	grep -q conntrack "$TB_TMP/installed4" "$TB_TMP/installed6" && tb_fail "a rule needs conntrack by default"
	if command -v conntrack >/dev/null; then
		tb_exec mh conntrack -L 2>/dev/null | grep -q "dst=$TB_CH_4" &&
			tb_fail "conntrack tracks the namespace after a default install"
		probe remove >/dev/null
		probe install ipv6=1 qout=3 qin=4 port=$IHMP mark=$MARK track=1 >/dev/null
		reaches $TB_CH_4 || tb_fail "MH cannot reach CH with track=1"
		tb_exec mh conntrack -L 2>/dev/null | grep -q "dst=$TB_CH_4" ||
			tb_fail "conntrack does not track the namespace after an install with track=1"
	else
		tb_log "install: conntrack(8) not installed, tracking not checked"
	fi
	tb_log "install: no jump until a member, then DIME-IN/DIME-OUT first in raw/mangle (IPv4, IPv6), 26 hash:ip sets, host rules kept, conntrack only with track-connections"
}

# jumps NODE 4|6: how many jumps to our chains that family has.
jumps() { tb_exec "$1" "ip${2/4/}tables-save" 2>/dev/null | grep -c -- "-j DIME-" || true; }
# base_chain NODE 4|6 TABLE CHAIN: whether nft sees that base chain.
base_chain() { tb_exec "$1" nft list chain "ip${2/4/}" "$3" "$4" >/dev/null 2>&1; }

check_on_demand() {
	local node=$1 p="tb_exec $1 $PROBE" M C M6 C6
	if [ "$node" = mh ]; then M=$TB_MH1_4 C=$TB_CH_4 M6=$TB_MH1_6 C6=$TB_CH_6
	else M=$TB_CH_4 C=$TB_MH1_4 M6=$TB_CH_6 C6=$TB_MH1_6; fi
	# One process throughout: the counts live in it. Each chain's jump
	# follows its own sets: outbound pairs and odst for DIME-OUT, inbound
	# pairs for DIME-IN; it leaves after the quiet time and not before.
	$p install ipv6=1 , expect-steering 4 off off , expect-steering 6 off off \
		, add-pair out $M $C , expect-steering 4 off on , add-pair in $C $M , expect-steering 4 on on \
		, add-pair out $M6 $C6 , expect-steering 6 off on , sh "[ \$(iptables-save | grep -c -- '-j DIME-') = 2 ]" \
		, del-pair out $M $C , idle 1000 , del-pair in $C $M , idle 2000 , expect-steering 4 on on \
		, idle 3001 , expect-steering 4 on off , idle 3900 , expect-steering 4 on off \
		, idle 4001 , expect-steering 4 off off , expect-steering 6 off on \
		, sh "! iptables-save | grep -q -- '-j DIME-'" , sh "[ \$(ip6tables-save | grep -c -- '-A OUTPUT -j DIME-OUT') = 1 ]" \
		, odst-add $C , expect-steering 4 off on , sh "iptables-save | grep -q -- '-A OUTPUT -j DIME-OUT'" \
		, odst-add $C , odst-del $C , idle 10000 , idle 12000 , expect-steering 4 off off \
		, add-pair in $C $M , idle 20000 , idle 30000 , expect-steering 4 on off \
		>"$TB_TMP/demand-$node.log" 2>&1 || tb_fail "on demand ($node): $(tail -n 3 "$TB_TMP/demand-$node.log")"
	[ "$(jumps "$node" 4)" = 1 ] || tb_fail "on demand ($node): IPv4 jump to DIME-IN not back after the last add"
	[ "$(jumps "$node" 6)" = 1 ] || tb_fail "on demand ($node): IPv6 jump to DIME-OUT went with IPv4's"
	$p install ipv6=1 , add-pair out $M6 $C6 , del-pair out $M6 $C6 , idle 0 , idle 2000 \
		, expect-steering 6 off off >>"$TB_TMP/demand-$node.log" 2>&1 || tb_fail "on demand ($node): IPv6 did not go off"
	grep -q "chains pruned [1-9]" "$TB_TMP/demand-$node.log" || [ "$node" = mh ] ||
		tb_fail "on demand ($node): no empty base chain pruned: $(grep '^idle' "$TB_TMP/demand-$node.log" | tail -n 1)"
	if [ "$node" = mh ]; then
		# The host's own rules keep their chains.
		base_chain mh 4 raw PREROUTING && base_chain mh 4 mangle OUTPUT ||
			tb_fail "on demand: a base chain holding host rules was deleted"
	else
		for v in 4 6; do
			! base_chain ch $v raw PREROUTING && ! base_chain ch $v mangle OUTPUT ||
				tb_fail "on demand: IPv$v base chains left on CH after steering went off"
		done
	fi
	tb_exec "$node" "$PROBE" remove >/dev/null
	local gone="off after 2 s quiet, the host's base chains kept"
	[ "$node" = mh ] || gone="off after 2 s quiet, empty base chains deleted"
	tb_log "on demand ($node): each jump only while its chain's sets have members; $gone"
}

check_pairs() {
	local M=$TB_MH1_4 C=$TB_CH_4 A=$TB_CH_ALT_4
	probe install ipv6=1 \
		, add-pair out $M $C , add-pair out $M $A , add-pair in $C $M \
		, expect-pair out $M $C present , expect-pair out $M $A present \
		, del-pair out $M $C \
		, expect-ip dime-out4-l $M present , expect-ip dime-out4-r $C absent , expect-ip dime-out4-r $A present \
		, del-pair out $M $A , expect-ip dime-out4-l $M absent , expect-pair in $C $M present \
		, add-pair out $TB_MH1_6 $TB_CH_6 , expect-pair out $TB_MH1_6 $TB_CH_6 present \
		, counted >"$TB_TMP/pairs.log" 2>&1 || tb_fail "pairs: $(tail -n 3 "$TB_TMP/pairs.log")"
	grep -q "^counted: 4$" "$TB_TMP/pairs.log" || tb_fail "pairs: wrong count: $(tail -n 1 "$TB_TMP/pairs.log")"
	# A pair never added cannot be deleted, and mixed families are refused.
	probe install , del-pair out $M $C >/dev/null 2>&1 && tb_fail "pairs: del of an unknown pair succeeded"
	probe install , add-pair out $M $TB_CH_6 >/dev/null 2>&1 && tb_fail "pairs: mixed families accepted"
	probe install ipv6=0 , add-pair out $TB_MH1_6 $TB_CH_6 >/dev/null 2>&1 && tb_fail "pairs: IPv6 accepted with ipv6=0"
	# The kernel's view agrees with the probe's (ipset(8) as the referee).
	probe install ipv6=1 , add-pair out $M $C , add-pair in $C $M >/dev/null
	tb_exec mh ipset test dime-out4-l $M 2>/dev/null || tb_fail "pairs: ipset(8) does not see $M in dime-out4-l"
	tb_exec mh ipset test dime-in4-r0 $C 2>/dev/null || tb_fail "pairs: ipset(8) does not see $C in lane dime-in4-r0"
	tb_exec mh ipset test dime-in4-l $M 2>/dev/null || tb_fail "pairs: ipset(8) does not see $M in dime-in4-l"
	# A kernel refusal (the remote column swapped for a full set) undoes
	# the add: the local address keeps its old count, the new one is not
	# counted, and a batch that fails entirely leaves nothing behind.
	probe install , add-pair out $M $C , sh "ipset create dime-t-full hash:ip maxelem 1 && ipset add dime-t-full 198.51.100.99 && ipset swap dime-out4-r dime-t-full" \
		, counted , fails add-pair out $M $A , counted , fails add-pair out 192.0.2.77 $A , counted \
		, expect-ip dime-out4-l $M present , expect-ip dime-out4-l 192.0.2.77 absent \
		, del-pair out $M $C , counted , expect-ip dime-out4-l $M absent >"$TB_TMP/refused.log" 2>&1 ||
		tb_fail "pairs: refused adds: $(tail -n 3 "$TB_TMP/refused.log")"
	[ "$(grep -c "set is full" "$TB_TMP/refused.log")" = 2 ] || tb_fail "pairs: refusal not reported: $(cat "$TB_TMP/refused.log")"
	[ "$(grep '^counted' "$TB_TMP/refused.log" | tr '\n' ' ')" = "counted: 2 counted: 2 counted: 2 counted: 0 " ] ||
		tb_fail "pairs: counts after refusals: $(grep '^counted' "$TB_TMP/refused.log" | tr '\n' ' ')"
	tb_exec mh ipset destroy dime-t-full
	tb_log "pairs: counted per column, deleted with their last pair, refused adds undone, checked with ipset(8)"
}

check_steering() {
	local before after
	probe install ipv6=1 port=$IHMP mark=$MARK >/dev/null
	reaches $TB_CH_4 || tb_fail "steering: no baseline reachability"

	# Outbound pair: the echo request is queued, no reader: dropped.
	probe install ipv6=1 port=$IHMP mark=$MARK , add-pair out $TB_MH1_4 $TB_CH_4 >/dev/null
	reaches $TB_CH_4 && tb_fail "steering: a steered packet was delivered with nobody reading the queue"
	[ "$(pkts 4 mangle "dime-out4-r dst -j NFQUEUE")" -gt 0 ] || tb_fail "steering: out pair rule never matched"
	# dimed's own packets carry the mark bit and pass.
	reaches -m $((MARK)) $TB_CH_4 || tb_fail "steering: a packet with dimed's mark was queued"
	# IHMP from its port passes; from another port it is queued.
	before=$(pkts 4 mangle "--sport $IHMP -j RETURN")
	probe udp-send $IHMP $TB_CH_4 9999 >/dev/null
	after=$(pkts 4 mangle "--sport $IHMP -j RETURN")
	[ "$after" -gt "$before" ] || tb_fail "steering: IHMP datagram not exempted ($before -> $after)"
	tb_exec mh ipset del dime-out4-r $TB_CH_4
	reaches $TB_CH_4 || tb_fail "steering: still dropped after the pair's entry went"

	# Outbound destination set, IPv6; loopback is never steered.
	probe install ipv6=1 , odst-add $TB_CH_6 , odst-add ::1 >/dev/null
	reaches $TB_CH_6 && tb_fail "steering: IPv6 packet to an odst address delivered"
	reaches ::1 || tb_fail "steering: loopback was steered"
	probe install ipv6=1 , odst-add $TB_CH_6 , odst-del $TB_CH_6 >/dev/null
	reaches $TB_CH_6 || tb_fail "steering: odst-del did not release $TB_CH_6"

	# Inbound pair: the echo reply is queued in raw PREROUTING and dropped;
	# IHMP to its port from the same peer is exempt.
	probe install ipv6=1 , add-pair in $TB_CH_4 $TB_MH1_4 >/dev/null
	reaches $TB_CH_4 && tb_fail "steering: inbound steered reply delivered"
	[ "$(pkts 4 raw "dime-in4-r0 src -j NFQUEUE")" -gt 0 ] || tb_fail "steering: in pair's lane rule never matched"
	before=$(pkts 4 raw "--dport $IHMP -j RETURN")
	tb_exec ch "$PROBE" udp-send 5555 $TB_MH1_4 $IHMP >/dev/null
	tb_wait_for 2 "IHMP to MH exempted" ihmp_in_counted "$before"
	tb_log "steering: pairs and odst queue (and drop without a reader); lo, mark $MARK and IHMP port $IHMP pass"
}

check_stale() {
	local n v
	# A crashed run: rules and entries left behind, then a new install.
	probe install ipv6=1 , add-pair out $TB_MH1_4 $TB_CH_4 , odst-add $TB_CH_4 >/dev/null
	probe install ipv6=1 >"$TB_TMP/stale.log" 2>&1 || tb_fail "stale: reinstall failed: $(cat "$TB_TMP/stale.log")"
	grep -q "removed leftovers of an earlier run" "$TB_TMP/stale.log" || tb_fail "stale: leftovers not reported"
	for v in 4 6; do
		n=$(save mh $v | grep -c -- "-j DIME-" || true)
		[ "$n" = 0 ] || tb_fail "stale: IPv$v has $n jumps to our chains after reinstall, want none (nothing steered yet)"
	done
	probe install ipv6=1 , add-pair out $TB_MH1_4 $TB_CH_4 , add-pair in $TB_CH_4 $TB_MH2_4 \
		, add-pair out $TB_MH1_6 $TB_CH_6 , add-pair in $TB_CH_6 $TB_MH2_6 >/dev/null
	probe install ipv6=1 , add-pair out $TB_MH1_4 $TB_CH_4 , add-pair in $TB_CH_4 $TB_MH2_4 \
		, add-pair out $TB_MH1_6 $TB_CH_6 , add-pair in $TB_CH_6 $TB_MH2_6 >/dev/null
	for v in 4 6; do
		n=$(save mh $v | grep -c -- "-j DIME-" || true)
		[ "$n" = 2 ] || tb_fail "stale: IPv$v has $n jumps to our chains after a reinstall that steers, want 2"
	done
	tb_exec mh ipset test dime-odst4 $TB_CH_4 2>/dev/null && tb_fail "stale: old set entries survived the reinstall"
	# A stale set of another type is replaced.
	probe remove >/dev/null
	tb_exec mh ipset create dime-odst4 hash:net
	probe install >/dev/null || tb_fail "stale: a stale hash:net dime-odst4 blocked the install"
	tb_exec mh ipset list dime-odst4 | grep -q "^Type: hash:ip$" || tb_fail "stale: dime-odst4 kept the wrong type"
	# One that a foreign rule holds cannot go: install fails and leaves nothing.
	probe remove >/dev/null
	tb_exec mh ipset create dime-odst4 hash:net
	tb_exec mh iptables -A INPUT -m set --match-set dime-odst4 src -j ACCEPT
	probe install >"$TB_TMP/busy.log" 2>&1 && tb_fail "stale: install succeeded over a set held by a foreign rule"
	grep -q "dime-odst4" "$TB_TMP/busy.log" || tb_fail "stale: the error does not name the set: $(cat "$TB_TMP/busy.log")"
	save mh 4 | grep -q "DIME-" && tb_fail "stale: a failed install left rules"
	tb_exec mh iptables -D INPUT -m set --match-set dime-odst4 src -j ACCEPT
	tb_exec mh ipset destroy dime-odst4
	tb_log "stale: crashed run cleaned (one jump per chain, empty sets), wrong-type set replaced, held set fails cleanly"
}

check_errors() {
	# A full set: the message names the set, the address and the cause.
	probe create dime-t-tiny inet 2 , add-ip dime-t-tiny 192.0.2.1 , add-ip dime-t-tiny 192.0.2.2 \
		, add-ip dime-t-tiny 192.0.2.3 >"$TB_TMP/full.log" 2>&1 && tb_fail "errors: a third element fit in maxelem 2"
	grep -q "ipset dime-t-tiny: add 192.0.2.3: set is full" "$TB_TMP/full.log" ||
		tb_fail "errors: unclear message: $(cat "$TB_TMP/full.log")"
	# Re-creating the same set reuses (and empties) it; another type is refused.
	probe create dime-t-tiny inet 2 , expect-ip dime-t-tiny 192.0.2.1 absent >/dev/null ||
		tb_fail "errors: an existing set of the same type was not reused"
	probe create dime-t-tiny inet6 >"$TB_TMP/exist.log" 2>&1 && tb_fail "errors: a family clash was accepted"
	grep -q "exists as hash:ip family inet, not hash:ip family inet6" "$TB_TMP/exist.log" || tb_fail "errors: $(cat "$TB_TMP/exist.log")"
	probe add-ip dime-t-none 192.0.2.1 >"$TB_TMP/none.log" 2>&1 && tb_fail "errors: add to a missing set succeeded"
	grep -q "dime-t-none: add 192.0.2.1: set does not exist" "$TB_TMP/none.log" || tb_fail "errors: $(cat "$TB_TMP/none.log")"
	probe destroy dime-t-tiny , destroy dime-t-tiny >/dev/null || tb_fail "errors: destroy is not idempotent"
	tb_log "errors: full set, missing set and type clash reported with set and address"
}

check_bench() {
	probe install ipv6=1 , bench-pairs 20000 >"$TB_TMP/bench.log" 2>&1 || tb_fail "bench: $(cat "$TB_TMP/bench.log")"
	tb_log "bench: $(grep bench-pairs "$TB_TMP/bench.log")"
}

# CH's NFQUEUE rules' packet counts, summed.
queued() {
	tb_exec ch iptables-save -c -t raw |
		awk '/-j NFQUEUE/ { gsub(/[][]/, "", $1); split($1, c, ":"); s += c[1] } END { print s + 0 }'
}

# Inbound pairs are exact (lanes): CH multihomed (C, A), MH known by two
# addresses (M1, M2). Pairs (M2, C) and (M1, A) must not match (M1, C),
# the identifier pair of a flow that never moved, as the two columns did.
check_lanes() {
	local M1=$TB_MH1_4 M2=$TB_MH2_4 C=$TB_CH_4 A=$TB_CH_ALT_4 n before
	tb_ch_add_alt
	tb_exec ch "$PROBE" install , add-pair in $M2 $C , add-pair in $M1 $A \
		, expect-pair in $M2 $C present , expect-pair in $M1 $A present \
		, expect-pair in $M1 $C absent , expect-pair in $M2 $A absent >"$TB_TMP/lanes.log" 2>&1 ||
		tb_fail "lanes: $(tail -n 3 "$TB_TMP/lanes.log")"
	[ "$(grep -c '(lane)' "$TB_TMP/lanes.log")" = 4 ] || tb_fail "lanes: pairs not in lanes: $(cat "$TB_TMP/lanes.log")"
	n=$(tb_exec ch iptables-save -t raw | grep -c -- "-A DIME-IN -d .* -m set --match-set dime-in4-r[0-7] src -j NFQUEUE" || true)
	[ "$n" = 2 ] || tb_fail "lanes: $n lane rules in DIME-IN, want 2"
	before=$(queued)
	tb_exec mh bash -c "echo unmoved >/dev/udp/$C/9"
	sleep 0.3
	[ "$(queued)" = "$before" ] || tb_fail "lanes: a packet $M1 -> $C (no pair) was queued"
	tb_exec mh bash -c "echo lane >/dev/udp/$A/9"
	sleep 0.3
	[ "$(queued)" -gt "$before" ] || tb_fail "lanes: a packet $M1 -> $A (a lane's pair) was not queued"
	# A lane whose pairs went is unbound after the idle time, in the same
	# process (the probe's rules_idle), and its rule goes.
	tb_exec ch "$PROBE" install , add-pair in $M2 $C , del-pair in $M2 $C , idle 0 , idle 1000 \
		, sh "iptables-save -t raw | grep -q 'match-set dime-in4-r0 src'" , idle 2100 \
		, fails sh "iptables-save -t raw | grep -q 'match-set dime-in4-r0 src'" >"$TB_TMP/unbind.log" 2>&1 ||
		tb_fail "lanes: unbinding: $(tail -n 3 "$TB_TMP/unbind.log")"
	tb_exec ch "$PROBE" remove >/dev/null
	ip -n "$(tb_ns ch)" addr del $A/25 dev eth0
	ip -n "$(tb_ns ch)" -6 addr del $TB_CH_ALT_6/64 dev eth0
	tb_log "lanes: inbound pairs exact (no identifier pair matched across two multihomed hosts), unbound when idle"
}

check_remove() {
	local v n
	probe install ipv6=1 , add-pair out $TB_MH1_4 $TB_CH_4 >/dev/null
	probe remove >/dev/null || tb_fail "remove failed"
	for v in 4 6; do
		save mh $v >"$TB_TMP/after$v"
		diff -u "$TB_TMP/before$v" "$TB_TMP/after$v" >&2 ||
			tb_fail "remove: IPv$v rules differ from before install"
	done
	n=$(tb_exec mh ipset list -n | grep -c '^dime-' || true)
	[ "$n" = 0 ] || tb_fail "remove: $n sets left"
	probe remove >/dev/null || tb_fail "remove: a second remove failed"
	probe remove-stale >"$TB_TMP/nostale.log" 2>&1 || tb_fail "remove-stale on a clean namespace failed"
	grep -q "leftovers" "$TB_TMP/nostale.log" && tb_fail "remove-stale reported leftovers in a clean namespace"
	# A namespace that never had rules: nothing of ours stays (iptables-nft
	# keeps the raw and mangle tables it had to create, empty).
	tb_exec ch "$PROBE" install ipv6=1 , remove >/dev/null || tb_fail "remove: install+remove on CH failed"
	for v in 4 6; do
		save ch $v | grep -q "DIME-" && tb_fail "remove: IPv$v chain left on CH"
	done
	[ -z "$(tb_exec ch ipset list -n)" ] || tb_fail "remove: sets left on CH"
	tb_log "remove: iptables-save (IPv4, IPv6) as before install, no sets, idempotent"
}

[ -x "$PROBE" ] || { echo "SKIP: $PROBE not built" >&2; exit 77; }
command -v ipset >/dev/null || { echo "SKIP: ipset(8) not installed" >&2; exit 77; }
tb_setup
host_rules
save mh 4 >"$TB_TMP/before4"
save mh 6 >"$TB_TMP/before6"
check_install
check_on_demand mh
check_on_demand ch
check_pairs
check_steering
check_stale
check_errors
check_bench
check_lanes
check_remove
tb_log "PASS: rules and ipsets"
