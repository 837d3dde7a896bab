/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The pure half of dime-delayline: the FIFO of held packet ids with the time
 * each becomes due, the sleep computation, packet-id sequence accounting and
 * the parsers for the command line and /proc/net/netfilter/nfnetlink_queue.
 * No sockets and no clock: time is a parameter (nanoseconds on any monotonic
 * scale), so the unit suite drives it with a fake clock.
 */
#ifndef DIME_DELAYLINE_CORE_H
#define DIME_DELAYLINE_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Largest accepted delay: longer ones only make the kernel queue overflow. */
#define DL_DELAY_MAX_MS 60000
/* A release this much after the due time counts as late. */
#define DL_LATE_NS 1000000

struct dl_entry {
	uint64_t due_ns;
	uint32_t id;
	uint32_t len;	/* packet length in bytes, 0 if unknown */
};

/*
 * Ring of held packets in arrival order. The capacity doubles on demand up to
 * `limit` (a power of two), so an idle delay line stays small while a full
 * kernel queue (maxlen entries) always fits.
 */
struct dl_fifo {
	struct dl_entry *ring;
	uint32_t cap;	/* power of two */
	uint32_t limit;	/* power of two, cap never exceeds it */
	uint32_t head;
	uint32_t count;
};

/* What one release handed back: everything a single batch verdict covers. */
struct dl_batch {
	uint32_t count;
	uint32_t last_id;
	uint64_t bytes;
	/* Release time minus due time over the released packets. */
	int64_t err_min_ns;
	int64_t err_max_ns;
	int64_t err_sum_ns;
	uint32_t late;	/* released more than DL_LATE_NS after due */
};

/* Packet-id bookkeeping; ids are per queue and wrap at 2^32. */
struct dl_seq {
	bool started;
	uint32_t last;
	uint64_t gaps;		/* ids skipped: packets the kernel never delivered */
	uint64_t backwards;	/* ids not after the previous one: never expected */
};

/*
 * Running estimate of how late a timed wake-up comes (timer slack, idle
 * exit, a vCPU being scheduled back). The loop sleeps that much less and
 * releases packets due within that window, so the hold error centres on 0.
 */
struct dl_lat {
	int64_t est_ns;
};

/* The estimate never exceeds this: a wake-up later than it is an outlier. */
#define DL_LAT_MAX_NS 1000000

/* One line of /proc/net/netfilter/nfnetlink_queue. */
struct dl_kstats {
	uint32_t queue;
	uint32_t portid;
	uint32_t total;		/* packets waiting for a verdict */
	uint32_t dropped;	/* queue full (maxlen reached) */
	uint32_t user_dropped;	/* netlink socket full */
	uint32_t id_sequence;
};

int dl_fifo_init(struct dl_fifo *f, uint32_t max_entries);
void dl_fifo_fini(struct dl_fifo *f);
int dl_fifo_push(struct dl_fifo *f, uint32_t id, uint32_t len, uint64_t due_ns);
const struct dl_entry *dl_fifo_head(const struct dl_fifo *f);
uint32_t dl_fifo_release(struct dl_fifo *f, uint64_t now_ns, uint64_t early_ns,
			 struct dl_batch *b);
uint32_t dl_fifo_drain(struct dl_fifo *f, struct dl_batch *b);
bool dl_fifo_wait(const struct dl_fifo *f, uint64_t now_ns, uint64_t early_ns,
		  struct timespec *ts);

void dl_seq_note(struct dl_seq *s, uint32_t id);
void dl_lat_note(struct dl_lat *l, int64_t late_ns);

int dl_parse_delay(const char *text, uint64_t *delay_ns);
int dl_parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out);
int dl_parse_kstats_line(const char *line, struct dl_kstats *out);

#endif
