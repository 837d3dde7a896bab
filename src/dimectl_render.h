/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dimectl's output forms, as pure functions from control protocol records
 * to text on a FILE: aligned text for people (colour only when asked),
 * tab-separated "dump" lines for scripts, and JSON. The golden tests drive
 * them from fixed records; dimectl.c only fetches records and picks a form.
 *
 * Text tables need every record before the first line (to align columns);
 * JSON and dump lists stream, one record at a time, so dumping a large
 * flow table needs no memory in dimectl.
 */
#ifndef DIME_DIMECTL_RENDER_H
#define DIME_DIMECTL_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dime/ctl_proto.h"

enum render_form {
	RENDER_TEXT,
	RENDER_JSON,
	RENDER_DUMP,
};

/* A list being streamed in JSON or dump form. */
struct render_list {
	FILE *out;
	enum render_form form;
	size_t n;
};

void render_hids_begin(struct render_list *l, FILE *out, enum render_form form);
void render_hid(struct render_list *l, const struct ctl_hid_rec *rec);
void render_hids_end(struct render_list *l);

void render_flows_begin(struct render_list *l, FILE *out, enum render_form form);
void render_flow(struct render_list *l, const struct ctl_flow_rec *rec);
void render_flows_end(struct render_list *l);

/* Aligned text tables. */
void render_hids_text(FILE *out, const struct ctl_hid_rec *recs, size_t n, bool color);
void render_flows_text(FILE *out, const struct ctl_flow_rec *recs, size_t n, bool color);

/* The host's own addresses, in the order given (dimed sorts them). */
void render_addrs_text(FILE *out, const struct ctl_addr_rec *recs, size_t n, bool color);
void render_addrs_begin(struct render_list *l, FILE *out, enum render_form form);
void render_addr(struct render_list *l, const struct ctl_addr_rec *rec);
void render_addrs_end(struct render_list *l);

/*
 * One event of `dimectl monitor` on one line: in text the local time of
 * day with milliseconds, the kind and its fields; in JSON one object per
 * line (JSON Lines), only the fields the event carries.
 */
void render_event(FILE *out, const struct ctl_event_rec *ev, enum render_form form);

/*
 * Our IHMP keys (dimectl show keys, and the answer to set-local-key): id,
 * the addresses or prefixes each signs for ("all" for the default key),
 * where it came from (dime.conf, or dimectl: lost at restart) and the
 * public key in base64. Never a private key: dimed does not send them.
 */
void render_keys(FILE *out, const struct ctl_lkey_rec *recs, size_t n, enum render_form form,
		 bool color);

/* Counters in any form, in the order given. */
void render_stats(FILE *out, const struct ctl_stat_rec *recs, size_t n, enum render_form form);

/* daemon is NULL when dimed could not be asked. */
void render_version(FILE *out, const char *client, const char *daemon, enum render_form form);

/*
 * The summary ("dimectl show"): per host, its locators, the identifiers
 * its flows bound and how many flows each. Flows are folded into a
 * summary one by one, so the flow table is never held whole.
 */
struct summary_ident {
	uint32_t hid;
	struct dime_addr rid;
	uint64_t flows;
};

struct summary {
	struct summary_ident *slot;	/* open addressing; hid 0 marks empty */
	size_t n, cap;
};

/* 0 or -ENOMEM. */
int summary_add_flow(struct summary *s, const struct ctl_flow_rec *flow);
void summary_free(struct summary *s);

/* Hosts most recently used first. Sorts hids in place and consumes s
 * (only summary_free may follow). */
void render_summary(FILE *out, struct ctl_hid_rec *hids, size_t n, struct summary *s,
		    enum render_form form, bool color);

/* Names for a protocol number and a TCP state ("tcp", "established"). */
const char *render_proto_name(uint8_t proto, char *buf, size_t size);
const char *render_tcp_state_name(uint8_t proto, uint8_t state, char *buf, size_t size);

#endif
