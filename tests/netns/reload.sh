#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Configuration reload (SIGHUP), dimed on MH of the usual testbed (lib.sh):
#  1. a changed hold-time and flow timeout take effect, a changed ipv6 is
#     reported as needing a restart;
#  2. a file with errors changes nothing: every error is logged with
#     file:line, the daemon keeps running and answering, and a later good
#     file is taken again;
#  3. dimectl reload takes the same path and reports the outcome;
#  4. SIGTERM afterwards still stops it cleanly.
set -eu
. "$(dirname "$0")/lib.sh"

DIMED=$TB_BUILD_DIR/src/dimed
DIMECTL=$TB_BUILD_DIR/src/dimectl

tb_setup
CONF=$TB_TMP/dime.conf
LOG=$TB_TMP/dimed-mh.log
printf 'hold-time 30s\nflow-timeout-udp 3m\n' >"$CONF"
tb_bg mh dimed-mh "$DIMED" -f "$CONF" -u root -l info -s "$TB_TMP/mh.sock" >/dev/null
tb_wait_for 10 "dimed to answer" "$DIMECTL" -s "$TB_TMP/mh.sock" version
pid=$(pgrep -f "dimed -f $CONF" | head -n 1)
[ -n "$pid" ] || tb_fail "dimed is not running"

# 1. applied and restart-only changes
printf 'hold-time 10s\nflow-timeout-udp 1m\nipv6 no\n' >"$CONF"
kill -HUP "$pid"
tb_wait_log 10 dimed-mh "reload: done"
grep -q "reload: IHMP now .*hold-time 10s" "$LOG" || tb_fail "new hold-time not applied"
grep -q "reload: flow timeouts now .* 60s (UDP)" "$LOG" || tb_fail "new UDP timeout not applied"
grep -q "reload: ipv6 changed: takes effect when dimed restarts" "$LOG" ||
	tb_fail "ipv6 change not reported as restart-only"

# 2. a broken file changes nothing
printf 'hold-time 5s\nhold-tme 3s\nqueue-out 99999\n' >"$CONF"
kill -HUP "$pid"
tb_wait_log 10 dimed-mh "not reloaded, the running configuration stays: 2 errors"
grep -q "dime.conf:2: unknown directive \"hold-tme\"" "$LOG" || tb_fail "line 2's error not logged"
grep -q "dime.conf:3: " "$LOG" || tb_fail "line 3's error not logged"
grep -q "hold-time 5s" "$LOG" && tb_fail "a value from the broken file was applied"
kill -0 "$pid" || tb_fail "dimed died on a broken file"
"$DIMECTL" -s "$TB_TMP/mh.sock" stats >/dev/null || tb_fail "dimed stopped answering"

# ... and a good file afterwards is taken again
printf 'hold-time 20s\n' >"$CONF"
kill -HUP "$pid"
tb_wait_for 10 "the third reload" grep -q "hold-time 20s" "$LOG"

# dimectl reload takes the same path and tells its caller the outcome.
printf 'hold-time 25s\n' >"$CONF"
out=$("$DIMECTL" -s "$TB_TMP/mh.sock" reload) || tb_fail "dimectl reload failed on a good file"
[ "$out" = "configuration reloaded" ] || tb_fail "dimectl reload said: $out"
grep -q "hold-time 25s" "$LOG" || tb_fail "dimectl reload did not apply the file"
printf 'hold-time 5\nbogus 1\n' >"$CONF"
if out=$("$DIMECTL" -s "$TB_TMP/mh.sock" reload 2>&1); then
	tb_fail "dimectl reload succeeded on a broken file"
fi
echo "$out" | grep -q "configuration file has errors" || tb_fail "dimectl reload said: $out"
grep -q "hold-time 5s" "$LOG" && tb_fail "a value from the broken file was applied"

# 4. clean stop
kill -TERM "$pid"
tb_wait_for 10 "dimed to exit" bash -c "! kill -0 $pid 2>/dev/null"
grep -q "stopped" "$LOG" || tb_fail "dimed did not stop cleanly"
if grep -E "AddressSanitizer|LeakSanitizer|runtime error" "$LOG"; then
	tb_fail "sanitizer report"
fi
tb_log "reload: applied, refused and re-applied as expected"
