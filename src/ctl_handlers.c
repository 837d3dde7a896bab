// SPDX-License-Identifier: BSD-2-Clause
/*
 * The control requests' handlers: turn the daemon's tables and counters
 * into reply frames, one frame per call (ctl_job_next_frame, control.h).
 * No sockets here; control.c moves the frames.
 *
 * Listings resume from a cursor between frames, and the loop runs other
 * events in between, so a long listing is not a snapshot: an entry added
 * or removed meanwhile may or may not appear, but none appears twice.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dime/control.h"
#include "dime/flow.h"
#include "dime/hid.h"
#include "dime/log.h"
#include "dime/version.h"

_Static_assert(DIME_HID_SET_MAX <= CTL_ADDR_LIST_MAX, "a HID set must fit a control record");

static uint64_t age(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static size_t finish(uint8_t *buf, struct ctl_job *job, enum ctl_result result, size_t body,
		     bool more)
{
	struct ctl_hdr hdr = {
		.version = CTL_VERSION,
		.flags = CTL_F_REPLY | (more ? CTL_F_MORE : 0),
		.type = job->req.type,
		.result = (uint16_t)result,
		.len = (uint32_t)(result == CTL_OK ? body : 0),
	};

	ctl_hdr_put(buf, &hdr);
	job->done = !more;
	return CTL_HDR_LEN + hdr.len;
}

static void copy_set(struct ctl_addr_list *out, const struct dime_addr_set *set)
{
	out->n = set->n;
	memcpy(out->addr, set->addr, set->n * sizeof(set->addr[0]));
}

static void hid_record(struct ctl_hid_rec *rec, const struct dime_hid_entry *e, uint64_t now)
{
	memset(rec, 0, sizeof(*rec));
	rec->hid = e->hid;
	rec->refs = e->refs;
	rec->moved = e->moved;
	rec->has_key = e->has_key;
	rec->rloc[CTL_AF4] = e->rloc[DIME_AF4];
	rec->rloc[CTL_AF6] = e->rloc[DIME_AF6];
	rec->lloc[CTL_AF4] = e->lloc[DIME_AF4];
	rec->lloc[CTL_AF6] = e->lloc[DIME_AF6];
	copy_set(&rec->active, &e->active);
	copy_set(&rec->unreach, &e->unreach);
	copy_set(&rec->local, &e->local);
	rec->created_age_ms = age(now, e->created_ms);
	rec->used_age_ms = age(now, e->used_ms);
}

static void flow_record(struct ctl_flow_rec *rec, const struct dime_flow *f, uint64_t now)
{
	memset(rec, 0, sizeof(*rec));
	rec->proto = f->proto;
	rec->family = f->lid.family;
	rec->tcp_state = f->tcp_state;
	rec->lport = f->lport;
	rec->rport = f->rport;
	rec->lid = f->lid;
	rec->rid = f->rid;
	rec->hid = f->hid;
	rec->idle_ms = age(now, f->last_ms);
	rec->offloaded = f->offloaded;
}

/* A record the writer refuses for any reason but space would not fit in
 * any frame either: log it and skip it rather than stall the listing. */
static void skip_record(const char *what, uint32_t id, int err)
{
	log_warn_e(err, "control: %s %u cannot be encoded, left out of the listing", what, id);
}

static size_t frame_hids(struct ctl_job *job, const struct ctl_backend *be, void *ctx,
			 uint8_t *buf)
{
	struct dime_hid_table *t = be->hids ? be->hids(ctx) : NULL;
	uint64_t now = be->now_ms(ctx);
	struct ctl_writer w;
	struct ctl_hid_rec rec;
	uint32_t hid;

	ctl_writer_init(&w, buf + CTL_HDR_LEN, CTL_REPLY_BODY_MAX);
	if (!t)
		return finish(buf, job, CTL_OK, 0, false);
	while ((hid = dime_hid_next(t, job->cursor)) != DIME_HID_NONE) {
		int err;

		hid_record(&rec, dime_hid_get(t, hid), now);
		err = ctl_put_hid_rec(&w, &rec);
		if (err == -ENOSPC)
			return finish(buf, job, CTL_OK, w.len, true);
		if (err)
			skip_record("hid", hid, err);
		job->cursor = hid;
	}
	return finish(buf, job, CTL_OK, w.len, false);
}

static size_t frame_flows(struct ctl_job *job, const struct ctl_backend *be, void *ctx,
			  uint8_t *buf)
{
	struct dime_flow_table *t = be->flows ? be->flows(ctx) : NULL;
	uint64_t now = be->now_ms(ctx);
	struct ctl_writer w;
	struct ctl_flow_rec rec;
	const struct dime_flow *f;
	uint32_t cursor = job->cursor;

	ctl_writer_init(&w, buf + CTL_HDR_LEN, CTL_REPLY_BODY_MAX);
	if (!t)
		return finish(buf, job, CTL_OK, 0, false);
	while ((f = dime_flow_iter(t, &cursor)) != NULL) {
		int err;

		flow_record(&rec, f, now);
		err = ctl_put_flow_rec(&w, &rec);
		if (err == -ENOSPC)
			return finish(buf, job, CTL_OK, w.len, true);
		if (err)
			skip_record("flow of hid", f->hid, err);
		job->cursor = cursor;
	}
	return finish(buf, job, CTL_OK, w.len, false);
}

struct stat_emit {
	struct ctl_writer *w;
	int err;
};

static int emit_stat(void *emit_ctx, const char *name, uint64_t value)
{
	struct stat_emit *e = emit_ctx;
	int err = ctl_put_stat(e->w, name, value);

	if (err && !e->err)
		e->err = err;
	return err;
}

/* The control server's own counters, after the daemon's. */
static int server_stats(const struct ctl_server_stats *st, struct stat_emit *e)
{
	if (!st)
		return 0;
	emit_stat(e, "ctl_monitors", st->monitors);
	emit_stat(e, "ctl_monitor_events", st->monitor_events);
	emit_stat(e, "ctl_monitor_sent", st->monitor_sent);
	emit_stat(e, "ctl_monitor_dropped", st->monitor_dropped);
	emit_stat(e, "ctl_monitor_refused", st->monitor_refused);
	emit_stat(e, "ctl_monitor_bad_events", st->monitor_bad_events);
	return e->err;
}

static size_t frame_stats(struct ctl_job *job, const struct ctl_backend *be, void *ctx,
			  uint8_t *buf)
{
	struct ctl_writer w;
	struct stat_emit e = { .w = &w };
	int err;

	ctl_writer_init(&w, buf + CTL_HDR_LEN, CTL_REPLY_BODY_MAX);
	err = be->stats ? be->stats(ctx, emit_stat, &e) : 0;
	if (!err)
		err = e.err;
	if (!err)
		err = server_stats(job->server, &e);
	if (err) {
		log_warn_e(err, "control: stats: counters cannot be sent");
		return finish(buf, job, CTL_E_INTERNAL, 0, false);
	}
	return finish(buf, job, CTL_OK, w.len, false);
}

static size_t frame_version(struct ctl_job *job, uint8_t *buf)
{
	struct ctl_writer w;

	ctl_writer_init(&w, buf + CTL_HDR_LEN, CTL_REPLY_BODY_MAX);
	if (ctl_put_version(&w, DIME_VERSION))
		return finish(buf, job, CTL_E_INTERNAL, 0, false);
	return finish(buf, job, CTL_OK, w.len, false);
}

/* ---- SHOW_ADDRS ---- */

struct addr_collect {
	struct ctl_addr_rec *recs;	/* CTL_ADDRS_MAX */
	uint32_t n;
};

static int collect_addr(void *emit_ctx, const struct ctl_addr_rec *rec)
{
	struct addr_collect *ac = emit_ctx;

	if (!dime_addr_is_set(&rec->addr) || !memchr(rec->ifname, 0, sizeof(rec->ifname)))
		return -EINVAL;
	if (ac->n == CTL_ADDRS_MAX)
		return -ENOSPC;
	ac->recs[ac->n] = *rec;
	ac->recs[ac->n].flows = 0;
	ac->n++;
	return 0;
}

static int addr_cmp(const struct dime_addr *a, const struct dime_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->a.u8, b->a.u8, sizeof(a->a.u8));
}

/* By address (IPv4 first), then real before pinned, then interface. */
static int addr_rec_cmp(const void *x, const void *y)
{
	const struct ctl_addr_rec *a = x, *b = y;
	int c = addr_cmp(&a->addr, &b->addr);

	if (c)
		return c;
	if (a->pinned != b->pinned)
		return a->pinned ? 1 : -1;
	return a->ifindex < b->ifindex ? -1 : a->ifindex > b->ifindex;
}

/* The first record of the sorted array with this address, or -1. */
static long find_addr(const struct ctl_addr_rec *recs, uint32_t n, const struct dime_addr *a)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (addr_cmp(&recs[mid].addr, a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && addr_cmp(&recs[lo].addr, a) == 0 ? (long)lo : -1;
}

/* One pass over the flow table; each record of an address gets the count
 * of flows whose local identifier it is. */
static void count_flows(struct ctl_addr_rec *recs, uint32_t n, struct dime_flow_table *t)
{
	const struct dime_flow *f;
	uint32_t cursor = 0;

	if (!t || !n)
		return;
	while ((f = dime_flow_iter(t, &cursor)) != NULL) {
		long i = find_addr(recs, n, &f->lid);

		if (i >= 0)
			recs[i].flows++;
	}
	for (uint32_t i = 1; i < n; i++)
		if (dime_addr_eq(&recs[i].addr, &recs[i - 1].addr))
			recs[i].flows = recs[i - 1].flows;
}

/* At most CTL_ADDRS_MAX records: always one frame. */
static size_t frame_addrs(struct ctl_job *job, const struct ctl_backend *be, void *ctx,
			  uint8_t *buf)
{
	struct addr_collect ac = { .recs = calloc(CTL_ADDRS_MAX, sizeof(*ac.recs)) };
	struct ctl_writer w;
	int err;

	if (!be->addrs) {
		free(ac.recs);
		return finish(buf, job, CTL_E_UNKNOWN_COMMAND, 0, false);
	}
	if (!ac.recs)
		return finish(buf, job, CTL_E_INTERNAL, 0, false);
	err = be->addrs(ctx, collect_addr, &ac);
	if (err == -ENOSPC)
		log_warnx("control: show-addrs: more than %d addresses; listing the first",
			  CTL_ADDRS_MAX);
	else if (err)
		log_warn_e(err, "control: show-addrs: the address list cannot be sent");
	if (err && err != -ENOSPC) {
		free(ac.recs);
		return finish(buf, job, CTL_E_INTERNAL, 0, false);
	}
	if (ac.n)
		qsort(ac.recs, ac.n, sizeof(*ac.recs), addr_rec_cmp);
	count_flows(ac.recs, ac.n, be->flows ? be->flows(ctx) : NULL);
	ctl_writer_init(&w, buf + CTL_HDR_LEN, CTL_REPLY_BODY_MAX);
	err = 0;
	for (uint32_t i = 0; i < ac.n && !err; i++)
		err = ctl_put_addr_rec(&w, &ac.recs[i]);
	free(ac.recs);
	if (err) {
		log_warn_e(err, "control: show-addrs: an address cannot be encoded");
		return finish(buf, job, CTL_E_INTERNAL, 0, false);
	}
	return finish(buf, job, CTL_OK, w.len, false);
}

/* The backend logs the change itself (it knows the host); a refusal is
 * logged there too. */
static size_t frame_set_locator(struct ctl_job *job, const struct ctl_backend *be, void *ctx,
				uint8_t *buf)
{
	const struct ctl_request *req = &job->req;
	int err;

	if (!be->set_locator)
		return finish(buf, job, CTL_E_UNKNOWN_COMMAND, 0, false);
	err = be->set_locator(ctx, &req->peer, dime_addr_is_set(&req->remote) ? &req->remote : NULL,
			      dime_addr_is_set(&req->local) ? &req->local : NULL, be->now_ms(ctx));
	return finish(buf, job, ctl_result_from_errno(err), 0, false);
}

/* The outcome goes back; the details (each error with file:line) are in
 * the journal, logged once there by the reload itself. */
static size_t frame_reload(struct ctl_job *job, const struct ctl_backend *be, void *ctx,
			   uint8_t *buf)
{
	int err;

	if (!be->reload)
		return finish(buf, job, CTL_E_UNKNOWN_COMMAND, 0, false);
	err = be->reload(ctx);
	return finish(buf, job, err == -EINVAL ? CTL_E_CONFIG : ctl_result_from_errno(err), 0, false);
}

/* ---- IHMP keys ---- */

static enum ctl_result key_result(int err)
{
	switch (err) {
	case -EOPNOTSUPP:
		return CTL_E_IHMP_OFF;
	case -EEXIST:
		return CTL_E_KEY_BOUND;
	case -ENOENT:
		return CTL_E_NO_SUCH_KEY;
	default:
		return ctl_result_from_errno(err);
	}
}

/* Handing dimed a private key needs uid 0 itself, not dimed's user: the
 * key file dimectl read was root's (docs/security.md 5). The reply is the
 * key's record: its id and the list it is bound to now. */
static size_t frame_set_local_key(struct ctl_job *job, const struct ctl_backend *be, void *ctx,
				  uint8_t *buf)
{
	struct ctl_set_local_key *k = &job->req.key;
	struct ctl_lkey_rec rec = { .runtime = true, .n = k->n };
	struct ctl_writer w;
	int err;

	if (!job->root) {
		explicit_bzero(k, sizeof(*k));
		log_notice("control: set-local-key from a client whose uid is not 0: refused");
		return finish(buf, job, CTL_E_NEED_ROOT, 0, false);
	}
	if (!be->set_local_key) {
		explicit_bzero(k, sizeof(*k));
		return finish(buf, job, CTL_E_UNKNOWN_COMMAND, 0, false);
	}
	err = be->set_local_key(ctx, k, rec.id, rec.pub);
	explicit_bzero(k->seed, sizeof(k->seed));
	if (err)
		return finish(buf, job, key_result(err), 0, false);
	memcpy(rec.net, k->net, sizeof(rec.net));
	memcpy(rec.len, k->len, sizeof(rec.len));
	ctl_writer_init(&w, buf + CTL_HDR_LEN, CTL_REPLY_BODY_MAX);
	if (!k->remove && ctl_put_lkey_rec(&w, &rec))
		return finish(buf, job, CTL_E_INTERNAL, 0, false);
	return finish(buf, job, CTL_OK, w.len, false);
}

static int emit_lkey(void *emit_ctx, const struct ctl_lkey_rec *rec)
{
	return ctl_put_lkey_rec(emit_ctx, rec);
}

/* At most a few dozen keys: always one frame. */
static size_t frame_keys(struct ctl_job *job, const struct ctl_backend *be, void *ctx,
			 uint8_t *buf)
{
	struct ctl_writer w;
	int err;

	if (!be->local_keys)
		return finish(buf, job, CTL_E_UNKNOWN_COMMAND, 0, false);
	ctl_writer_init(&w, buf + CTL_HDR_LEN, CTL_REPLY_BODY_MAX);
	err = be->local_keys(ctx, emit_lkey, &w);
	if (err == -EOPNOTSUPP)
		return finish(buf, job, CTL_OK, 0, false);
	if (err) {
		log_warn_e(err, "control: show-keys: the key list cannot be sent");
		return finish(buf, job, CTL_E_INTERNAL, 0, false);
	}
	return finish(buf, job, CTL_OK, w.len, false);
}

/* State changes are an operator's; a refused attempt is worth a line. */
static size_t refuse(struct ctl_job *job, uint8_t *buf)
{
	log_notice("control: %s from a client that is neither root nor dimed's user: refused",
		   ctl_type_name(job->req.type));
	return finish(buf, job, CTL_E_PERMISSION, 0, false);
}

size_t ctl_job_next_frame(struct ctl_job *job, const struct ctl_backend *be, void *ctx,
			  uint8_t *buf)
{
	if (ctl_type_name(job->req.type) && (job->req.type & CTL_T_CHANGES_STATE) &&
	    !job->may_change)
		return refuse(job, buf);
	switch (job->req.type) {
	case CTL_T_VERSION:
		return frame_version(job, buf);
	case CTL_T_STATS:
		return frame_stats(job, be, ctx, buf);
	case CTL_T_SHOW_HIDS:
		return frame_hids(job, be, ctx, buf);
	case CTL_T_SHOW_FLOWS:
		return frame_flows(job, be, ctx, buf);
	case CTL_T_SHOW_ADDRS:
		return frame_addrs(job, be, ctx, buf);
	case CTL_T_SHOW_KEYS:
		return frame_keys(job, be, ctx, buf);
	case CTL_T_SET_LOCATOR:
		return frame_set_locator(job, be, ctx, buf);
	case CTL_T_RELOAD:
		return frame_reload(job, be, ctx, buf);
	case CTL_T_SET_LOCAL_KEY:
		return frame_set_local_key(job, be, ctx, buf);
	default:
		return finish(buf, job, CTL_E_UNKNOWN_COMMAND, 0, false);
	}
}
