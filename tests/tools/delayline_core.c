// SPDX-License-Identifier: BSD-2-Clause
/*
 * The pure half of dime-delayline (see delayline_core.h): FIFO of held
 * packets, sleep computation, id accounting and text parsers. The delay is
 * the same for every packet and packets are pushed in arrival order, so due
 * times never decrease along the ring and the head is always the next packet
 * to release; no heap or timer wheel is needed.
 */
#include "delayline_core.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define DL_FIFO_INITIAL_CAP 1024u
#define DL_FIFO_LIMIT_MAX (1u << 31)

static uint32_t round_up_pow2(uint32_t v)
{
	uint32_t p = 1;

	while (p < v && p < DL_FIFO_LIMIT_MAX)
		p <<= 1;
	return p;
}

int dl_fifo_init(struct dl_fifo *f, uint32_t max_entries)
{
	if (max_entries == 0)
		return -EINVAL;
	f->limit = round_up_pow2(max_entries);
	f->cap = f->limit < DL_FIFO_INITIAL_CAP ? f->limit : DL_FIFO_INITIAL_CAP;
	f->head = 0;
	f->count = 0;
	f->ring = calloc(f->cap, sizeof(*f->ring));
	return f->ring ? 0 : -ENOMEM;
}

void dl_fifo_fini(struct dl_fifo *f)
{
	free(f->ring);
	f->ring = NULL;
	f->cap = 0;
	f->count = 0;
}

/* Double the ring, unrolling the wrapped part so the order is kept. */
static int fifo_grow(struct dl_fifo *f)
{
	uint32_t ncap = f->cap * 2;
	struct dl_entry *n;
	uint32_t i;

	if (f->cap >= f->limit)
		return -ENOBUFS;
	n = malloc((size_t)ncap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (i = 0; i < f->count; i++)
		n[i] = f->ring[(f->head + i) & (f->cap - 1)];
	free(f->ring);
	f->ring = n;
	f->cap = ncap;
	f->head = 0;
	return 0;
}

int dl_fifo_push(struct dl_fifo *f, uint32_t id, uint32_t len, uint64_t due_ns)
{
	struct dl_entry *e;
	int err;

	if (f->count == f->cap) {
		err = fifo_grow(f);
		if (err)
			return err;
	}
	e = &f->ring[(f->head + f->count) & (f->cap - 1)];
	e->due_ns = due_ns;
	e->id = id;
	e->len = len;
	f->count++;
	return 0;
}

const struct dl_entry *dl_fifo_head(const struct dl_fifo *f)
{
	return f->count ? &f->ring[f->head] : NULL;
}

static void batch_reset(struct dl_batch *b)
{
	b->count = 0;
	b->last_id = 0;
	b->bytes = 0;
	b->err_min_ns = INT64_MAX;
	b->err_max_ns = INT64_MIN;
	b->err_sum_ns = 0;
	b->late = 0;
}

static void fifo_pop_into(struct dl_fifo *f, struct dl_batch *b)
{
	const struct dl_entry *e = &f->ring[f->head];

	b->count++;
	b->last_id = e->id;
	b->bytes += e->len;
	f->head = (f->head + 1) & (f->cap - 1);
	f->count--;
}

/*
 * Pops every packet due at or before now + early_ns. The small early window
 * saves a second wake-up for a packet due a few microseconds later, at the
 * price of releasing it that much early (a negative error).
 */
uint32_t dl_fifo_release(struct dl_fifo *f, uint64_t now_ns, uint64_t early_ns,
			 struct dl_batch *b)
{
	batch_reset(b);
	while (f->count && f->ring[f->head].due_ns <= now_ns + early_ns) {
		int64_t err = (int64_t)(now_ns - f->ring[f->head].due_ns);

		if (err < b->err_min_ns)
			b->err_min_ns = err;
		if (err > b->err_max_ns)
			b->err_max_ns = err;
		b->err_sum_ns += err;
		if (err > DL_LATE_NS)
			b->late++;
		fifo_pop_into(f, b);
	}
	return b->count;
}

/* Pops everything regardless of due time (shutdown); no timing figures. */
uint32_t dl_fifo_drain(struct dl_fifo *f, struct dl_batch *b)
{
	batch_reset(b);
	while (f->count)
		fifo_pop_into(f, b);
	b->err_min_ns = b->err_max_ns = 0;
	return b->count;
}

/*
 * How long to sleep: false if nothing is held (sleep until a packet comes),
 * otherwise *ts is the time until the head is due less early_ns (the window
 * dl_fifo_release uses), zero if that moment has passed.
 */
bool dl_fifo_wait(const struct dl_fifo *f, uint64_t now_ns, uint64_t early_ns,
		  struct timespec *ts)
{
	const struct dl_entry *h = dl_fifo_head(f);
	uint64_t left;

	if (!h)
		return false;
	left = h->due_ns > now_ns + early_ns ? h->due_ns - early_ns - now_ns : 0;
	ts->tv_sec = (time_t)(left / 1000000000u);
	ts->tv_nsec = (long)(left % 1000000000u);
	return true;
}

/*
 * The kernel numbers a queue's packets 1, 2, 3, ... and takes the number
 * before it tries to hand the packet to us, so a skipped id is a packet that
 * was dropped because our socket was full. Serial-number arithmetic keeps
 * the wrap at 2^32 harmless.
 */
void dl_seq_note(struct dl_seq *s, uint32_t id)
{
	uint32_t delta;

	if (!s->started) {
		s->started = true;
		s->last = id;
		return;
	}
	delta = id - s->last;
	if (delta == 0 || delta > UINT32_MAX / 2) {
		s->backwards++;
		return;
	}
	s->gaps += delta - 1;
	s->last = id;
}

/*
 * An exponentially weighted mean (gain 1/8) of samples clipped to twice the
 * estimate plus 100 us: it settles within a few dozen wake-ups, and the rare
 * multi-millisecond wake-up of a virtual machine does not drag it up.
 */
void dl_lat_note(struct dl_lat *l, int64_t late_ns)
{
	int64_t clip = 2 * l->est_ns + 100000;

	if (late_ns < 0)
		late_ns = 0;
	if (late_ns > clip)
		late_ns = clip;
	l->est_ns += (late_ns - l->est_ns) / 8;
	if (l->est_ns > DL_LAT_MAX_NS)
		l->est_ns = DL_LAT_MAX_NS;
}

/* Milliseconds, fractional allowed ("20", "0.5"), 0..DL_DELAY_MAX_MS. */
int dl_parse_delay(const char *text, uint64_t *delay_ns)
{
	char *end;
	double ms;

	if (!text || !*text)
		return -EINVAL;
	errno = 0;
	ms = strtod(text, &end);
	if (errno || *end || end == text || !isfinite(ms))
		return -EINVAL;
	if (ms < 0.0 || ms > DL_DELAY_MAX_MS)
		return -ERANGE;
	*delay_ns = (uint64_t)(ms * 1e6 + 0.5);
	return 0;
}

int dl_parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!text || *text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

/*
 * Kernel format (nfnetlink_queue.c, seq_show): queue_num peer_portid
 * queue_total copy_mode copy_range queue_dropped queue_user_dropped
 * id_sequence 1.
 */
int dl_parse_kstats_line(const char *line, struct dl_kstats *out)
{
	unsigned int q, portid, total, mode, range, dropped, udropped, idseq;

	if (sscanf(line, "%u %u %u %u %u %u %u %u", &q, &portid, &total, &mode,
		   &range, &dropped, &udropped, &idseq) != 8)
		return -EINVAL;
	out->queue = q;
	out->portid = portid;
	out->total = total;
	out->dropped = dropped;
	out->user_dropped = udropped;
	out->id_sequence = idseq;
	return 0;
}
