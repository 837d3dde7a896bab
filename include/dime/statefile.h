/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dimed's state file (/run/dime/state): what a dimed restarted after
 * kill -9 needs so that flows already moved by a hand-off keep going
 * instead of being flushed. Per foreign host: its active, unreachable and
 * local address sets, the remote identifiers its flows bound, the
 * preferred locators, and whether IHMP is established with it; and the
 * identifiers dimed pinned on lo.
 *
 * The module works on its own structures (struct state), never on the
 * HID table: the daemon copies out before writing and in after reading.
 * statefile_format() and statefile_parse() are pure (memory in, memory
 * out); statefile_write() and statefile_read() are the only I/O.
 *
 * Format, version 1: text, one item per line, every line ending in "\n",
 * tokens separated by one space, printable ASCII only, at most
 * STATE_LINE_MAX bytes a line. In this order:
 *
 *	dime-state 1
 *	time 1764238503123		CLOCK_REALTIME ms when written
 *	host 1 ihmp 1			hosts numbered from 1; ihmp 0 or 1
 *	active 198.51.100.7		then per host, in this order, each
 *	unreach 203.0.113.9		kind of line repeated or absent:
 *	local 192.0.2.1			active, unreach, local, bound
 *	bound 203.0.113.9		(STATE_SET_MAX, STATE_SET_MAX,
 *	rloc 198.51.100.7		STATE_SET_MAX, STATE_BOUND_MAX), rloc
 *	lloc 192.0.2.1			and lloc (one per family each)
 *	host 2 ihmp 0
 *	...
 *	pin 192.0.2.1			after the last host, STATE_PINS_MAX
 *	end 2 1				hosts and pins: the file is complete
 *
 * The parser is strict: anything else is refused with "NAME:LINE:
 * message" and nothing is returned, so a damaged file is never half
 * applied. Beyond the syntax it checks what the HID table would refuse:
 * no address twice in a set; none both active and unreachable; rloc a
 * member of active and lloc of local; a host has some remote address
 * (active, unreachable or bound); no remote address owned by two hosts
 * (local addresses are ours and may be shared); no unspecified address;
 * no pin twice. statefile_format() checks the same rules first, so dimed
 * never writes a file it would refuse to read.
 */
#ifndef DIME_STATEFILE_H
#define DIME_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"

#define STATE_VERSION 1
#define STATE_PATH "/run/dime/state"
#define STATE_HOSTS_MAX 65536		/* the default max-hosts */
#define STATE_SET_MAX 8			/* = DIME_HID_SET_MAX */
#define STATE_BOUND_MAX 16		/* remote identifiers per host */
#define STATE_PINS_MAX 256		/* = LOCALADDR_MAX */
#define STATE_LINE_MAX 128		/* bytes, the newline included */
#define STATE_FILE_MAX (64u << 20)	/* bytes */
#define STATE_ERR_MAX 256		/* enough for any message below */

struct state_set {
	uint32_t n;
	struct dime_addr addr[STATE_SET_MAX];
};

struct state_host {
	bool ihmp;			/* IHMP established with the peer */
	struct dime_addr rloc[2];	/* DIME_AF4, DIME_AF6; family 0: none */
	struct dime_addr lloc[2];
	struct state_set active, unreach, local;
	uint32_t nbound;
	struct dime_addr bound[STATE_BOUND_MAX];
};

struct state {
	uint64_t time_ms;		/* CLOCK_REALTIME when written */
	uint32_t nhosts;
	struct state_host *hosts;	/* the parser allocates; state_free() */
	uint32_t npins;
	struct dime_addr pins[STATE_PINS_MAX];
};

/* Free what statefile_parse()/statefile_read() allocated; st is then
 * empty. Safe on a zeroed state. */
void state_free(struct state *st);

/* The rules of the format, on a structure: 0, or -EINVAL with the first
 * broken rule in err ("host 3: rloc 198.51.100.7 is not an active
 * address"). */
int statefile_check(const struct state *st, char *err, size_t errsize);

/* The text of st in *out (malloc'ed, not NUL-terminated), *len bytes.
 * 0, -EINVAL (statefile_check failed; err says why), -EFBIG (above
 * STATE_FILE_MAX), -ENOMEM. */
int statefile_format(const struct state *st, char **out, size_t *len, char *err,
		     size_t errsize);

/* Parse exactly len bytes (name only labels messages). 0 with *st filled
 * (state_free() it), or -EINVAL with "name:line: message" in err and *st
 * empty, or -ENOMEM. */
int statefile_parse(const char *buf, size_t len, const char *name, struct state *st, char *err,
		    size_t errsize);

/*
 * Write st to path atomically: the text goes to path.tmp (mode 0600,
 * created or truncated, never through a symbolic link), which is synced,
 * renamed over path, and the directory synced, so after a crash path
 * holds either the old state or the new one, whole. 0 or -errno with
 * "path: what failed" in err; path.tmp is removed on failure. Logs
 * nothing: the caller logs err once.
 */
int statefile_write(const char *path, const struct state *st, char *err, size_t errsize);

/*
 * Read and parse path. 0, or -errno with the reason in err: -ENOENT (no
 * state file: a first start), -ELOOP (a symbolic link), -EINVAL (not a
 * regular file, or it does not parse), -EPERM (writable by group or
 * others: not trusted), -EFBIG (above STATE_FILE_MAX), others from the
 * system. *st is empty on any error. Logs nothing.
 */
int statefile_read(const char *path, struct state *st, char *err, size_t errsize);

#endif
