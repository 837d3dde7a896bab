// SPDX-License-Identifier: BSD-2-Clause
/*
 * dimectl's renderers (dimectl_render.h): records in, text out, nothing
 * else. Strings that came from the daemon (counter names, versions) are
 * escaped for JSON and made printable for text, so a bad daemon cannot
 * write terminal controls or break a JSON parser.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dime/flow.h"
#include "dimectl_render.h"

#define BOLD "\x1b[1m"
#define YELLOW "\x1b[33m"
#define BOLD_YELLOW "\x1b[1;33m"
#define RESET "\x1b[0m"

/* Longest table cell: a full address list of IPv6 addresses. */
#define CELL_MAX (CTL_ADDR_LIST_MAX * DIME_ADDR_STRLEN + 16)

/* ---- Small formatters ---- */

const char *render_proto_name(uint8_t proto, char *buf, size_t size)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	default:
		snprintf(buf, size, "%u", proto);
		return buf;
	}
}

const char *render_tcp_state_name(uint8_t proto, uint8_t state, char *buf, size_t size)
{
	static const char *const names[] = {
		[DIME_TCP_NONE] = "none",
		[DIME_TCP_SYN_SENT] = "syn-sent",
		[DIME_TCP_SYN_RECV] = "syn-recv",
		[DIME_TCP_ESTABLISHED] = "established",
		[DIME_TCP_FIN_OUT] = "fin-out",
		[DIME_TCP_FIN_IN] = "fin-in",
		[DIME_TCP_CLOSING] = "closing",
		[DIME_TCP_CLOSED] = "closed",
	};

	if (proto != IPPROTO_TCP)
		return "-";
	if (state < sizeof(names) / sizeof(names[0]))
		return names[state];
	snprintf(buf, size, "state-%u", state);
	return buf;
}

/* Printable ASCII copy for text and dump forms. */
static const char *printable(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		buf[i] = s[i] > ' ' && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* The same for free text: spaces stay, other controls become '?'. */
static const char *printable_text(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		buf[i] = s[i] >= ' ' && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* A JSON string. Bytes above 0x7f are written as \u00XX (read as
 * Latin-1), so the output is valid JSON whatever the daemon sent. */
static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void json_addr(FILE *out, const struct dime_addr *a)
{
	char buf[DIME_ADDR_STRLEN];

	json_str(out, dime_addr_fmt(a, buf, sizeof(buf)));
}

static void json_addrs(FILE *out, const struct dime_addr *a, size_t n)
{
	size_t k = 0;

	fputc('[', out);
	for (size_t i = 0; i < n; i++) {
		if (!dime_addr_is_set(&a[i]))
			continue;
		if (k++)
			fputc(',', out);
		json_addr(out, &a[i]);
	}
	fputc(']', out);
}

/* Comma-separated addresses, "-" for none (text and dump forms). */
static const char *addr_list(const struct dime_addr *a, size_t n, const char *sep, char *buf,
			     size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char one[DIME_ADDR_STRLEN];

		if (!dime_addr_is_set(&a[i]))
			continue;
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s",
					len ? sep : "", dime_addr_fmt(&a[i], one, sizeof(one)));
	}
	if (len == 0)
		snprintf(buf, size, "-");
	return buf;
}

static const char *set_list(const struct ctl_addr_list *l, const char *sep, char *buf,
			    size_t size)
{
	return addr_list(l->addr, l->n, sep, buf, size);
}

/* "192.0.2.1:80", "[2001:db8::1]:80". */
static const char *endpoint(const struct dime_addr *a, uint16_t port, char *buf, size_t size)
{
	char one[DIME_ADDR_STRLEN];

	dime_addr_fmt(a, one, sizeof(one));
	snprintf(buf, size, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", one, port);
	return buf;
}

/* Compact duration for table cells: 850ms, 3.2s, 42s, 5m07s, 2h03m, 3d04h. */
static const char *duration(uint64_t ms, char *buf, size_t size)
{
	uint64_t s = ms / 1000;

	if (ms < 1000)
		snprintf(buf, size, "%" PRIu64 "ms", ms);
	else if (ms < 10000)
		snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "s", s, ms % 1000 / 100);
	else if (s < 60)
		snprintf(buf, size, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, size, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
	return buf;
}

/* wg-style age: "1 hour, 2 minutes, 3 seconds ago". */
static const char *age_words(uint64_t ms, char *buf, size_t size)
{
	static const struct {
		const char *unit;
		uint64_t secs;
	} units[] = { { "day", 86400 }, { "hour", 3600 }, { "minute", 60 }, { "second", 1 } };
	uint64_t s = ms / 1000;
	size_t len = 0;

	if (s == 0) {
		snprintf(buf, size, "less than a second ago");
		return buf;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t v = s / units[i].secs;

		s %= units[i].secs;
		if (!v)
			continue;
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%" PRIu64 " %s%s",
					len ? ", " : "", v, units[i].unit, v == 1 ? "" : "s");
	}
	snprintf(buf + len, len < size ? size - len : 0, " ago");
	return buf;
}

/* ---- Aligned tables ---- */

typedef void (*cell_fn)(const void *rec, size_t col, char *buf, size_t size);

/* Two passes over the cells, formatting each twice, so a table needs no
 * memory beyond one cell: the first finds the column widths. */
static void print_table(FILE *out, const char *const *head, size_t ncols, const void *recs,
			size_t n, size_t recsize, cell_fn cell, bool color)
{
	size_t width[16] = { 0 };
	char buf[CELL_MAX];

	for (size_t c = 0; c < ncols; c++)
		width[c] = strlen(head[c]);
	for (size_t r = 0; r < n; r++) {
		for (size_t c = 0; c < ncols; c++) {
			cell((const char *)recs + r * recsize, c, buf, sizeof(buf));
			if (strlen(buf) > width[c])
				width[c] = strlen(buf);
		}
	}
	for (size_t c = 0; c < ncols; c++)
		fprintf(out, "%s%-*s%s", color ? BOLD : "", c + 1 < ncols ? (int)width[c] + 2 : 0,
			head[c], color ? RESET : "");
	fputc('\n', out);
	for (size_t r = 0; r < n; r++) {
		for (size_t c = 0; c < ncols; c++) {
			cell((const char *)recs + r * recsize, c, buf, sizeof(buf));
			fprintf(out, "%-*s", c + 1 < ncols ? (int)width[c] + 2 : 0, buf);
		}
		fputc('\n', out);
	}
}

/* ---- HIDs ---- */

static const char *const hid_head[] = {
	"HID", "FLOWS", "MOVED", "KEY", "REMOTE LOCATORS", "LOCAL LOCATORS",
	"ACTIVE", "UNREACHABLE", "LOCAL", "CREATED", "USED",
};

static void hid_cell(const void *rec, size_t col, char *buf, size_t size)
{
	const struct ctl_hid_rec *h = rec;

	switch (col) {
	case 0:
		snprintf(buf, size, "%u", h->hid);
		break;
	case 1:
		snprintf(buf, size, "%u", h->refs);
		break;
	case 2:
		snprintf(buf, size, "%s", h->moved ? "yes" : "no");
		break;
	case 3:
		snprintf(buf, size, "%s", h->has_key ? "yes" : "no");
		break;
	case 4:
		addr_list(h->rloc, 2, ",", buf, size);
		break;
	case 5:
		addr_list(h->lloc, 2, ",", buf, size);
		break;
	case 6:
		set_list(&h->active, ",", buf, size);
		break;
	case 7:
		set_list(&h->unreach, ",", buf, size);
		break;
	case 8:
		set_list(&h->local, ",", buf, size);
		break;
	case 9:
		duration(h->created_age_ms, buf, size);
		break;
	default:
		duration(h->used_age_ms, buf, size);
		break;
	}
}

void render_hids_text(FILE *out, const struct ctl_hid_rec *recs, size_t n, bool color)
{
	print_table(out, hid_head, sizeof(hid_head) / sizeof(hid_head[0]), recs, n, sizeof(*recs),
		    hid_cell, color);
}

static void list_begin(struct render_list *l, FILE *out, enum render_form form, const char *key)
{
	l->out = out;
	l->form = form;
	l->n = 0;
	if (form == RENDER_JSON)
		fprintf(out, "{\"%s\":[", key);
}

static void list_item(struct render_list *l)
{
	if (l->form == RENDER_JSON)
		fputs(l->n ? ",\n" : "\n", l->out);
	l->n++;
}

static void list_end(struct render_list *l)
{
	if (l->form == RENDER_JSON)
		fputs(l->n ? "\n]}\n" : "]}\n", l->out);
}

void render_hids_begin(struct render_list *l, FILE *out, enum render_form form)
{
	list_begin(l, out, form, "hids");
}

/* The members a HID object opens with, in the hids list and the summary
 * alike: the object is left open for the caller's own members. */
static void json_hid_head(FILE *out, const struct ctl_hid_rec *h)
{
	fprintf(out, "{\"hid\":%u,\"flows\":%u,\"moved\":%s,\"has_key\":%s,\"remote_locators\":",
		h->hid, h->refs, h->moved ? "true" : "false", h->has_key ? "true" : "false");
	json_addrs(out, h->rloc, 2);
	fputs(",\"local_locators\":", out);
	json_addrs(out, h->lloc, 2);
}

static void hid_json(FILE *out, const struct ctl_hid_rec *h)
{
	json_hid_head(out, h);
	fputs(",\"active\":", out);
	json_addrs(out, h->active.addr, h->active.n);
	fputs(",\"unreachable\":", out);
	json_addrs(out, h->unreach.addr, h->unreach.n);
	fputs(",\"local\":", out);
	json_addrs(out, h->local.addr, h->local.n);
	fprintf(out, ",\"created_age_ms\":%" PRIu64 ",\"used_age_ms\":%" PRIu64 "}",
		h->created_age_ms, h->used_age_ms);
}

static void hid_dump(FILE *out, const struct ctl_hid_rec *h)
{
	char b[5][CELL_MAX];

	fprintf(out, "%u\t%u\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\n", h->hid,
		h->refs, h->moved, h->has_key, addr_list(h->rloc, 2, ",", b[0], CELL_MAX),
		addr_list(h->lloc, 2, ",", b[1], CELL_MAX), set_list(&h->active, ",", b[2], CELL_MAX),
		set_list(&h->unreach, ",", b[3], CELL_MAX), set_list(&h->local, ",", b[4], CELL_MAX),
		h->created_age_ms, h->used_age_ms);
}

void render_hid(struct render_list *l, const struct ctl_hid_rec *rec)
{
	list_item(l);
	if (l->form == RENDER_JSON)
		hid_json(l->out, rec);
	else
		hid_dump(l->out, rec);
}

void render_hids_end(struct render_list *l)
{
	list_end(l);
}

/* ---- Flows ---- */

static const char *const flow_head[] = {
	"PROTO", "STATE", "LOCAL", "REMOTE", "HID", "OFFLOADED", "IDLE",
};

static void flow_cell(const void *rec, size_t col, char *buf, size_t size)
{
	const struct ctl_flow_rec *f = rec;
	char tmp[24];

	switch (col) {
	case 0:
		snprintf(buf, size, "%s", render_proto_name(f->proto, tmp, sizeof(tmp)));
		break;
	case 1:
		snprintf(buf, size, "%s", render_tcp_state_name(f->proto, f->tcp_state, tmp, sizeof(tmp)));
		break;
	case 2:
		endpoint(&f->lid, f->lport, buf, size);
		break;
	case 3:
		endpoint(&f->rid, f->rport, buf, size);
		break;
	case 4:
		snprintf(buf, size, "%u", f->hid);
		break;
	case 5:
		snprintf(buf, size, "%s", f->offloaded ? "yes" : "no");
		break;
	default:
		duration(f->idle_ms, buf, size);
		break;
	}
}

void render_flows_text(FILE *out, const struct ctl_flow_rec *recs, size_t n, bool color)
{
	print_table(out, flow_head, sizeof(flow_head) / sizeof(flow_head[0]), recs, n,
		    sizeof(*recs), flow_cell, color);
}

void render_flows_begin(struct render_list *l, FILE *out, enum render_form form)
{
	list_begin(l, out, form, "flows");
}

static void flow_json(FILE *out, const struct ctl_flow_rec *f)
{
	char p[8], s[24];

	fputs("{\"proto\":", out);
	json_str(out, render_proto_name(f->proto, p, sizeof(p)));
	fprintf(out, ",\"family\":%d,\"local\":", f->family == AF_INET6 ? 6 : 4);
	json_addr(out, &f->lid);
	fprintf(out, ",\"local_port\":%u,\"remote\":", f->lport);
	json_addr(out, &f->rid);
	fprintf(out, ",\"remote_port\":%u,\"hid\":%u,\"tcp_state\":", f->rport, f->hid);
	if (f->proto == IPPROTO_TCP)
		json_str(out, render_tcp_state_name(f->proto, f->tcp_state, s, sizeof(s)));
	else
		fputs("null", out);
	fprintf(out, ",\"offloaded\":%s,\"idle_ms\":%" PRIu64 "}",
		f->offloaded ? "true" : "false", f->idle_ms);
}

static void flow_dump(FILE *out, const struct ctl_flow_rec *f)
{
	char p[8], s[24], l[DIME_ADDR_STRLEN], r[DIME_ADDR_STRLEN];

	/* offloaded is appended after idle, so scripts that pick columns by
	 * number (awk $7, $8) keep working. */
	fprintf(out, "%s\t%s\t%u\t%s\t%u\t%u\t%s\t%" PRIu64 "\t%d\n",
		render_proto_name(f->proto, p, sizeof(p)), dime_addr_fmt(&f->lid, l, sizeof(l)),
		f->lport, dime_addr_fmt(&f->rid, r, sizeof(r)), f->rport, f->hid,
		render_tcp_state_name(f->proto, f->tcp_state, s, sizeof(s)), f->idle_ms,
		f->offloaded);
}

void render_flow(struct render_list *l, const struct ctl_flow_rec *rec)
{
	list_item(l);
	if (l->form == RENDER_JSON)
		flow_json(l->out, rec);
	else
		flow_dump(l->out, rec);
}

void render_flows_end(struct render_list *l)
{
	list_end(l);
}

/* ---- Addresses ---- */

static const char *const addr_head[] = {
	"ADDRESS", "DEVICE", "ADVERTISED", "PINNED", "FLOWS",
};

static const char *ifname_or_dash(const struct ctl_addr_rec *a, char *buf, size_t size)
{
	if (!a->ifname[0] && a->ifindex)
		snprintf(buf, size, "if%u", a->ifindex);
	else
		printable(a->ifname[0] ? a->ifname : "-", buf, size);
	return buf;
}

static void addr_cell(const void *rec, size_t col, char *buf, size_t size)
{
	const struct ctl_addr_rec *a = rec;

	switch (col) {
	case 0:
		dime_addr_fmt(&a->addr, buf, size);
		break;
	case 1:
		ifname_or_dash(a, buf, size);
		break;
	case 2:
		snprintf(buf, size, "%s", a->advertised ? "yes" : "no");
		break;
	case 3:
		snprintf(buf, size, "%s", a->pinned ? "yes" : "no");
		break;
	default:
		snprintf(buf, size, "%u", a->flows);
		break;
	}
}

void render_addrs_text(FILE *out, const struct ctl_addr_rec *recs, size_t n, bool color)
{
	print_table(out, addr_head, sizeof(addr_head) / sizeof(addr_head[0]), recs, n,
		    sizeof(*recs), addr_cell, color);
}

void render_addrs_begin(struct render_list *l, FILE *out, enum render_form form)
{
	list_begin(l, out, form, "addrs");
}

static void addr_json(FILE *out, const struct ctl_addr_rec *a)
{
	fputs("{\"address\":", out);
	json_addr(out, &a->addr);
	fprintf(out, ",\"ifindex\":%u,\"ifname\":", a->ifindex);
	if (a->ifname[0])
		json_str(out, a->ifname);
	else
		fputs("null", out);
	fprintf(out, ",\"advertised\":%s,\"pinned\":%s,\"flows\":%u}",
		a->advertised ? "true" : "false", a->pinned ? "true" : "false", a->flows);
}

static void addr_dump(FILE *out, const struct ctl_addr_rec *a)
{
	char addr[DIME_ADDR_STRLEN], name[CTL_NAME_MAX + 1];

	fprintf(out, "%s\t%u\t%s\t%d\t%d\t%u\n", dime_addr_fmt(&a->addr, addr, sizeof(addr)),
		a->ifindex, printable(a->ifname[0] ? a->ifname : "-", name, sizeof(name)),
		a->advertised, a->pinned, a->flows);
}

void render_addr(struct render_list *l, const struct ctl_addr_rec *rec)
{
	list_item(l);
	if (l->form == RENDER_JSON)
		addr_json(l->out, rec);
	else
		addr_dump(l->out, rec);
}

void render_addrs_end(struct render_list *l)
{
	list_end(l);
}

/* ---- Keys ---- */

static const char *const key_head[] = { "KEY ID", "SIGNS FOR", "FROM", "PUBLIC KEY" };

static const char *hex_id(const uint8_t *id, char *buf, size_t size)
{
	for (size_t i = 0; i < CTL_KEY_ID_LEN && 2 * i + 2 < size; i++)
		snprintf(buf + 2 * i, 3, "%02x", id[i]);
	return buf;
}

/* Standard base64 with padding: what dimed logs and peer key files hold. */
static const char *b64_pub(const uint8_t *p, char *buf, size_t size)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	if (size < 45) {
		snprintf(buf, size, "-");
		return buf;
	}
	for (size_t i = 0; i < CTL_KEY_PUB_LEN; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < CTL_KEY_PUB_LEN)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < CTL_KEY_PUB_LEN)
			v |= p[i + 2];
		buf[o++] = abc[(v >> 18) & 0x3f];
		buf[o++] = abc[(v >> 12) & 0x3f];
		buf[o++] = i + 1 < CTL_KEY_PUB_LEN ? abc[(v >> 6) & 0x3f] : '=';
		buf[o++] = i + 2 < CTL_KEY_PUB_LEN ? abc[v & 0x3f] : '=';
	}
	buf[o] = '\0';
	return buf;
}

static const char *prefix_text(const struct dime_addr *net, uint8_t len, char *buf, size_t size)
{
	char a[DIME_ADDR_STRLEN];

	snprintf(buf, size, "%s/%u", dime_addr_fmt(net, a, sizeof(a)), len);
	return buf;
}

/* "all" for the default key, else the prefixes separated by sep. */
static const char *key_prefixes(const struct ctl_lkey_rec *k, const char *sep, char *buf,
				size_t size)
{
	size_t len = 0;

	snprintf(buf, size, "all");
	for (unsigned int i = 0; i < k->n; i++) {
		char one[DIME_ADDR_STRLEN + 5];

		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s%s",
					i ? sep : "",
					prefix_text(&k->net[i], k->len[i], one, sizeof(one)));
	}
	return buf;
}

static void key_cell(const void *rec, size_t col, char *buf, size_t size)
{
	const struct ctl_lkey_rec *k = rec;

	switch (col) {
	case 0:
		hex_id(k->id, buf, size);
		break;
	case 1:
		key_prefixes(k, ",", buf, size);
		break;
	case 2:
		snprintf(buf, size, "%s", k->runtime ? "dimectl" : "dime.conf");
		break;
	default:
		b64_pub(k->pub, buf, size);
		break;
	}
}

static void key_json(FILE *out, const struct ctl_lkey_rec *k)
{
	char buf[64];

	fprintf(out, "{\"key_id\":\"%s\",\"prefixes\":[", hex_id(k->id, buf, sizeof(buf)));
	for (unsigned int i = 0; i < k->n; i++) {
		if (i)
			fputc(',', out);
		json_str(out, prefix_text(&k->net[i], k->len[i], buf, sizeof(buf)));
	}
	fprintf(out, "],\"default\":%s,\"from\":\"%s\",\"public_key\":\"%s\"}",
		k->n ? "false" : "true", k->runtime ? "dimectl" : "dime.conf",
		b64_pub(k->pub, buf, sizeof(buf)));
}

static void key_dump(FILE *out, const struct ctl_lkey_rec *k)
{
	char id[32], pub[64], list[CELL_MAX];

	fprintf(out, "%s\t%s\t%s\t%s\n", hex_id(k->id, id, sizeof(id)),
		key_prefixes(k, ",", list, sizeof(list)), k->runtime ? "dimectl" : "dime.conf",
		b64_pub(k->pub, pub, sizeof(pub)));
}

void render_keys(FILE *out, const struct ctl_lkey_rec *recs, size_t n, enum render_form form,
		 bool color)
{
	struct render_list l;

	if (form == RENDER_TEXT) {
		print_table(out, key_head, sizeof(key_head) / sizeof(key_head[0]), recs, n,
			    sizeof(*recs), key_cell, color);
		return;
	}
	list_begin(&l, out, form, "keys");
	for (size_t i = 0; i < n; i++) {
		list_item(&l);
		if (form == RENDER_JSON)
			key_json(out, &recs[i]);
		else
			key_dump(out, &recs[i]);
	}
	list_end(&l);
}

/* ---- Events ---- */

/* What an event's number means, by kind: its word in text (with a unit)
 * and its JSON key. */
struct value_label {
	const char *kind, *word, *unit, *key;
};

static const struct value_label value_labels[] = {
	{ "handoff-sent", "try", "", "try" },
	{ "handoff-acked", "after", "ms", "after_ms" },
	{ "pin-added", "flows", "", "flows" },
};

static const struct value_label *value_label(const char *kind)
{
	static const struct value_label other = { "", "value", "", "value" };

	for (size_t i = 0; i < sizeof(value_labels) / sizeof(value_labels[0]); i++)
		if (strcmp(kind, value_labels[i].kind) == 0)
			return &value_labels[i];
	return &other;
}

static bool any_addr(const struct dime_addr *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (dime_addr_is_set(&a[i]))
			return true;
	return false;
}

/* "10:15:03.123" in local time. */
static const char *time_of_day(uint64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!localtime_r(&t, &tm)) {
		snprintf(buf, size, "%" PRIu64, ms);
		return buf;
	}
	snprintf(buf, size, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(ms % 1000));
	return buf;
}

static void event_text(FILE *out, const struct ctl_event_rec *ev)
{
	const struct value_label *vl = value_label(ev->kind);
	char t[32], kind[CTL_NAME_MAX + 1], buf[CTL_TEXT_MAX + 1];

	fprintf(out, "%s %s", time_of_day(ev->time_ms, t, sizeof(t)),
		printable(ev->kind, kind, sizeof(kind)));
	if (ev->hid)
		fprintf(out, " hid %u", ev->hid);
	if (dime_addr_is_set(&ev->addr))
		fprintf(out, " %s", dime_addr_fmt(&ev->addr, buf, sizeof(buf)));
	if (ev->ifname[0])
		fprintf(out, " dev %s", printable(ev->ifname, buf, sizeof(buf)));
	if (any_addr(ev->rloc, 2))
		fprintf(out, " remote %s", addr_list(ev->rloc, 2, ",", buf, sizeof(buf)));
	if (any_addr(ev->lloc, 2))
		fprintf(out, " local %s", addr_list(ev->lloc, 2, ",", buf, sizeof(buf)));
	if (ev->has_value)
		fprintf(out, " %s %" PRIu64 "%s", vl->word, ev->value, vl->unit);
	if (ev->text[0])
		fprintf(out, ": %s", printable_text(ev->text, buf, sizeof(buf)));
	fputc('\n', out);
}

static void event_json(FILE *out, const struct ctl_event_rec *ev)
{
	fprintf(out, "{\"seq\":%" PRIu64 ",\"time_ms\":%" PRIu64 ",\"mono_ms\":%" PRIu64
		",\"event\":", ev->seq, ev->time_ms, ev->mono_ms);
	json_str(out, ev->kind);
	if (ev->hid)
		fprintf(out, ",\"hid\":%u", ev->hid);
	if (dime_addr_is_set(&ev->addr)) {
		fputs(",\"address\":", out);
		json_addr(out, &ev->addr);
	}
	if (ev->ifname[0]) {
		fputs(",\"ifname\":", out);
		json_str(out, ev->ifname);
	}
	if (any_addr(ev->rloc, 2)) {
		fputs(",\"remote_locators\":", out);
		json_addrs(out, ev->rloc, 2);
	}
	if (any_addr(ev->lloc, 2)) {
		fputs(",\"local_locators\":", out);
		json_addrs(out, ev->lloc, 2);
	}
	if (ev->has_value)
		fprintf(out, ",\"%s\":%" PRIu64, value_label(ev->kind)->key, ev->value);
	if (ev->text[0]) {
		fputs(",\"text\":", out);
		json_str(out, ev->text);
	}
	fputs("}\n", out);
}

void render_event(FILE *out, const struct ctl_event_rec *ev, enum render_form form)
{
	if (form == RENDER_JSON)
		event_json(out, ev);
	else
		event_text(out, ev);
}

/* ---- Counters and versions ---- */

void render_stats(FILE *out, const struct ctl_stat_rec *recs, size_t n, enum render_form form)
{
	char name[CTL_NAME_MAX + 1], num[24];
	size_t nw = 0, vw = 0;

	if (form == RENDER_JSON) {
		fputs("{\"stats\":{", out);
		for (size_t i = 0; i < n; i++) {
			fputs(i ? ",\n" : "\n", out);
			json_str(out, recs[i].name);
			fprintf(out, ":%" PRIu64, recs[i].value);
		}
		fputs(n ? "\n}}\n" : "}}\n", out);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = (size_t)snprintf(num, sizeof(num), "%" PRIu64, recs[i].value);

		nw = strlen(recs[i].name) > nw ? strlen(recs[i].name) : nw;
		vw = len > vw ? len : vw;
	}
	for (size_t i = 0; i < n; i++) {
		printable(recs[i].name, name, sizeof(name));
		if (form == RENDER_DUMP)
			fprintf(out, "%s\t%" PRIu64 "\n", name, recs[i].value);
		else
			fprintf(out, "%-*s  %*" PRIu64 "\n", (int)nw, name, (int)vw, recs[i].value);
	}
}

void render_version(FILE *out, const char *client, const char *daemon, enum render_form form)
{
	char buf[CTL_NAME_MAX + 1];

	if (form == RENDER_JSON) {
		fputs("{\"dimectl\":", out);
		json_str(out, client);
		fputs(",\"dimed\":", out);
		if (daemon)
			json_str(out, daemon);
		else
			fputs("null", out);
		fprintf(out, ",\"protocol\":%d}\n", CTL_VERSION);
		return;
	}
	fprintf(out, "dimectl %s\n", client);
	if (daemon)
		fprintf(out, "dimed %s\n", printable(daemon, buf, sizeof(buf)));
}

/* ---- Summary ---- */

static size_t ident_hash(uint32_t hid, const struct dime_addr *rid)
{
	return dime_addr_hash(rid, hid * 0x9e3779b9u);
}

static int summary_grow(struct summary *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64;
	struct summary_ident *slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		size_t j;

		if (!s->slot[i].hid)
			continue;
		j = ident_hash(s->slot[i].hid, &s->slot[i].rid) & (cap - 1);
		while (slot[j].hid)
			j = (j + 1) & (cap - 1);
		slot[j] = s->slot[i];
	}
	free(s->slot);
	s->slot = slot;
	s->cap = cap;
	return 0;
}

int summary_add_flow(struct summary *s, const struct ctl_flow_rec *flow)
{
	size_t j;

	if (flow->hid == 0)
		return 0;
	if ((s->n + 1) * 2 > s->cap && summary_grow(s))
		return -ENOMEM;
	j = ident_hash(flow->hid, &flow->rid) & (s->cap - 1);
	while (s->slot[j].hid) {
		if (s->slot[j].hid == flow->hid && dime_addr_eq(&s->slot[j].rid, &flow->rid)) {
			s->slot[j].flows++;
			return 0;
		}
		j = (j + 1) & (s->cap - 1);
	}
	s->slot[j] = (struct summary_ident){ .hid = flow->hid, .rid = flow->rid, .flows = 1 };
	s->n++;
	return 0;
}

void summary_free(struct summary *s)
{
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

static int addr_cmp(const struct dime_addr *a, const struct dime_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->a.u8, b->a.u8, 16);
}

/* By host, then most flows first, then address. */
static int ident_cmp(const void *x, const void *y)
{
	const struct summary_ident *a = x, *b = y;

	if (a->hid != b->hid)
		return a->hid < b->hid ? -1 : 1;
	if (a->flows != b->flows)
		return a->flows > b->flows ? -1 : 1;
	return addr_cmp(&a->rid, &b->rid);
}

/* Most recently used first, then by HID. */
static int host_cmp(const void *x, const void *y)
{
	const struct ctl_hid_rec *a = x, *b = y;

	if (a->used_age_ms != b->used_age_ms)
		return a->used_age_ms < b->used_age_ms ? -1 : 1;
	return a->hid < b->hid ? -1 : a->hid > b->hid;
}

/* The hash slots become a sorted array of s->n idents. */
static void summary_sort(struct summary *s)
{
	size_t k = 0;

	for (size_t i = 0; i < s->cap; i++)
		if (s->slot[i].hid)
			s->slot[k++] = s->slot[i];
	if (k)
		qsort(s->slot, k, sizeof(*s->slot), ident_cmp);
	s->cap = k;
}

/* The idents of one host: a range of the sorted array. */
static const struct summary_ident *host_idents(const struct summary *s, uint32_t hid, size_t *n)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->slot[mid].hid < hid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (*n = 0; lo + *n < s->n && s->slot[lo + *n].hid == hid; (*n)++)
		;
	return s->slot ? s->slot + lo : NULL;
}

static void summary_line(FILE *out, const char *label, const char *value, bool color)
{
	fprintf(out, "  %s%s%s:%*s%s\n", color ? BOLD : "", label, color ? RESET : "",
		(int)(sizeof("remote locators") - strlen(label)), "", value);
}

/* Summary lines say "(none)" where tables and dumps say "-". */
static const char *or_none(const char *list)
{
	return strcmp(list, "-") == 0 ? "(none)" : list;
}

static void idents_text(const struct summary_ident *id, size_t n, char *buf, size_t size)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		char a[DIME_ADDR_STRLEN];

		len += (size_t)snprintf(buf + len, len < size ? size - len : 0,
					"%s%s (%" PRIu64 " flow%s)", i ? ", " : "",
					dime_addr_fmt(&id[i].rid, a, sizeof(a)), id[i].flows,
					id[i].flows == 1 ? "" : "s");
	}
}

static void host_text(FILE *out, const struct ctl_hid_rec *h, const struct summary_ident *id,
		      size_t nid, bool color)
{
	char buf[CELL_MAX * 2];

	fprintf(out, "%shid%s: %s%u%s\n", color ? BOLD_YELLOW : "", color ? RESET : "",
		color ? YELLOW : "", h->hid, color ? RESET : "");
	summary_line(out, "remote locators", or_none(addr_list(h->rloc, 2, ", ", buf, sizeof(buf))),
		     color);
	summary_line(out, "local locators", or_none(addr_list(h->lloc, 2, ", ", buf, sizeof(buf))),
		     color);
	if (nid) {
		idents_text(id, nid, buf, sizeof(buf));
		summary_line(out, "identifiers", buf, color);
	}
	if (h->unreach.n)
		summary_line(out, "unreachable", set_list(&h->unreach, ", ", buf, sizeof(buf)), color);
	snprintf(buf, sizeof(buf), "%u", h->refs);
	summary_line(out, "flows", buf, color);
	if (h->moved)
		summary_line(out, "moved", "yes", color);
	if (h->has_key)
		summary_line(out, "key", "(hidden)", color);
	summary_line(out, "last used", age_words(h->used_age_ms, buf, sizeof(buf)), color);
}

static void host_json(FILE *out, const struct ctl_hid_rec *h, const struct summary_ident *id,
		      size_t nid)
{
	json_hid_head(out, h);
	fputs(",\"identifiers\":[", out);
	for (size_t i = 0; i < nid; i++) {
		fputs(i ? ",{\"address\":" : "{\"address\":", out);
		json_addr(out, &id[i].rid);
		fprintf(out, ",\"flows\":%" PRIu64 "}", id[i].flows);
	}
	fputs("],\"unreachable\":", out);
	json_addrs(out, h->unreach.addr, h->unreach.n);
	fprintf(out, ",\"used_age_ms\":%" PRIu64 "}", h->used_age_ms);
}

void render_summary(FILE *out, struct ctl_hid_rec *hids, size_t n, struct summary *s,
		    enum render_form form, bool color)
{
	struct render_list l;

	summary_sort(s);
	if (n)
		qsort(hids, n, sizeof(*hids), host_cmp);
	list_begin(&l, out, form, "hosts");
	if (form != RENDER_JSON && n == 0)
		fputs("no hosts\n", out);
	for (size_t i = 0; i < n; i++) {
		size_t nid;
		const struct summary_ident *id = host_idents(s, hids[i].hid, &nid);

		list_item(&l);
		if (form == RENDER_JSON) {
			host_json(out, &hids[i], id, nid);
		} else {
			if (i)
				fputc('\n', out);
			host_text(out, &hids[i], id, nid, color);
		}
	}
	list_end(&l);
}
