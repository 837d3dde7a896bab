// SPDX-License-Identifier: BSD-2-Clause
/*
 * The configuration file (see conf.h and dime.conf(5)). One table,
 * `directives`, names every directive with its type, range, default and
 * help text; parsing, printing, the shipped template and conf_to_daemon()
 * all walk it, so a directive exists in exactly one place and its defaults
 * are dimed's defaults.
 *
 * The parser is strict and keeps going: every line is checked, every error
 * kept, and the result is handed over only when there is none. Values are
 * written back in their canonical form (largest exact unit), which the
 * parser reads to the same value, so `dimed -n -v` output re-parses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dime/conf.h"
#include "dime/control.h"
#include "dime/daemon.h"
#include "dime/flow.h"
#include "dime/hid.h"
#include "dime/ihmp_sign.h"
#include "dime/ihmp_wire.h"
#include "dime/log.h"
#include "dime/nfq.h"

enum conf_type {
	T_PATH,		/* absolute path, char[CONF_PATH_MAX] */
	T_UINT,		/* uint32_t, decimal or 0x hex, printed decimal */
	T_HEX,		/* uint32_t, printed hex */
	T_BOOL,		/* yes / no */
	T_LOGLEVEL,	/* int: err, warning, notice, info, debug */
	T_DURATION,	/* uint64_t ms: N[ms|s|m|h], bare N is seconds */
	T_SIZE,		/* uint64_t bytes: N[K|M|G] */
	T_WORD,		/* uint32_t: the index of one of the directive's words */
	T_IFLIST,	/* interface name patterns, comma-separated, char[CONF_IFLIST_MAX] */
};

struct directive {
	const char *name;
	enum conf_type type;
	size_t off;		/* of the value in struct dime_conf */
	uint64_t min, max;	/* numbers, durations (ms), sizes (bytes) */
	uint64_t def;		/* every type but T_PATH */
	uint64_t step;		/* durations: the value must be a multiple (ms) */
	const char *def_str;	/* T_PATH, T_IFLIST */
	const char *const *words;	/* T_WORD: NULL-terminated */
	const char *help;
};

/* offsetof, refusing at compile time a field whose type is not the one the
 * directive's type stores (a table typo would otherwise write past it). */
#define OFF(field, T)                                                                      \
	(offsetof(struct dime_conf, field) +                                               \
	 0 * sizeof(char[__builtin_types_compatible_p(__typeof__(((struct dime_conf *)0)->field), \
						      T) ? 1 : -1]))

#define SEC 1000ull
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define KIB 1024ull
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

#define D_UINT(f, lo, hi, d) .type = T_UINT, .off = OFF(f, uint32_t), .min = lo, .max = hi, .def = d
#define D_HEX(f, lo, hi, d) .type = T_HEX, .off = OFF(f, uint32_t), .min = lo, .max = hi, .def = d
#define D_BOOL(f, d) .type = T_BOOL, .off = OFF(f, bool), .def = d
#define D_SIZE(f, lo, hi, d) .type = T_SIZE, .off = OFF(f, uint64_t), .min = lo, .max = hi, .def = d
#define D_WORD(f, w, d)                                                                    \
	.type = T_WORD, .off = OFF(f, uint32_t), .words = w, .max = sizeof(w) / sizeof(w[0]) - 2, \
	.def = d
#define D_TIMEOUT(f, d)                                                                    \
	.type = T_DURATION, .off = OFF(f, uint64_t), .min = 1 * SEC, .max = 720 * HOUR,   \
	.def = d, .step = SEC

/* In enum ihmp_auth_mode order (conf.c parses them itself, so that the
 * parser links nothing but itself and log.c). */
static const char *const auth_words[] = { "off", "opportunistic", "required", NULL };
_Static_assert(IHMP_AUTH_OFF == 0 && IHMP_AUTH_OPPORTUNISTIC == 1 && IHMP_AUTH_REQUIRED == 2,
	       "auth_words follows enum ihmp_auth_mode");

static const struct directive directives[CONF_KEY_COUNT] = {
	[CONF_CONTROL_SOCKET] = {
		"control-socket", .type = T_PATH, .off = OFF(control_socket, char[CONF_PATH_MAX]),
		.def_str = CTL_SOCKET_PATH,
		.help = "UNIX socket that dimectl talks to (the -s option overrides it)" },
	[CONF_STATE_FILE] = {
		"state-file", .type = T_PATH, .off = OFF(state_file, char[CONF_PATH_MAX]),
		.def_str = "/run/dime/dimed.state",
		.help = "Where dimed keeps what a restart after a crash needs (default: the control socket's path with .state for .sock)" },
	[CONF_IGNORE_INTERFACES] = {
		"ignore-interfaces", .type = T_IFLIST,
		.off = OFF(ignore_interfaces, char[CONF_IFLIST_MAX]),
		.def_str = "docker*,virbr*,br-*,lxcbr*,cni*,flannel*",
		.help = "Interfaces whose addresses are never advertised to peers: names or patterns with * and ?, comma-separated, or none" },
	[CONF_QUEUE_OUT] = {
		"queue-out", D_UINT(queue_out, 0, 65535, 5100),
		.help = "NFQUEUE number for outbound packets of moved hosts" },
	[CONF_QUEUE_IN] = {
		"queue-in", D_UINT(queue_in, 0, 65535, 5101),
		.help = "NFQUEUE number for inbound packets of moved hosts" },
	[CONF_IHMP_PORT] = {
		"ihmp-port", D_UINT(ihmp_port, 1, 65535, IHMP_PORT_DEFAULT),
		.help = "UDP port of the IHMP control protocol; its packets are never queued" },
	[CONF_IHMP] = {
		"ihmp", D_BOOL(ihmp, 1),
		.help = "Run IHMP, so peers learn our address changes and we theirs (no: locators only by dimectl set-locator)" },
	[CONF_HOLD_TIME] = {
		"hold-time", .type = T_DURATION, .off = OFF(hold_time, uint64_t), .min = 1 * SEC,
		.max = 1 * HOUR, .def = 30 * SEC, .step = SEC,
		.help = "How long a peer is kept after we lost every address reaching it; then its connections get an error" },
	[CONF_IHMP_RTO] = {
		"ihmp-rto", .type = T_DURATION, .off = OFF(ihmp_rto, uint64_t), .min = 50,
		.max = 60 * SEC, .def = 1 * SEC, .step = 1,
		.help = "First retransmission timeout of an IHMP request; it doubles on every retry" },
	[CONF_HELLO_RETRIES] = {
		"hello-retries", D_UINT(hello_retries, 1, 10, 3),
		.help = "HELLO transmissions before a silent peer is taken for a host without dimed" },
	[CONF_HANDOFF_RETRIES] = {
		"handoff-retries", D_UINT(handoff_retries, 1, 12, 6),
		.help = "HANDOFF transmissions (each to every known address of the peer) before giving up" },
	[CONF_IHMP_AUTH] = {
		"ihmp-auth", D_WORD(ihmp_auth, auth_words, IHMP_AUTH_OPPORTUNISTIC),
		.help = "What a received IHMP message must carry: off (nothing checked), opportunistic (a signature by the peer's key when we have one), required (always)" },
	[CONF_IHMP_KEY] = {
		"ihmp-key", .type = T_PATH, .off = OFF(ihmp_key, char[CONF_PATH_MAX]),
		.def_str = "/etc/dime/ihmp.key",
		.help = "Our Ed25519 private key (PEM, root's, mode 0600), for every local address; everything IHMP sends is signed with it. Missing: we send unsigned, unless ihmp-auth is required. May be given again as \"ihmp-key PATH ADDR|PREFIX...\" (up to 8 lines of up to 16 addresses or prefixes each): a key for messages from those addresses only, the longest prefix winning" },
	[CONF_IHMP_PEER_KEYS] = {
		"ihmp-peer-keys", .type = T_PATH, .off = OFF(ihmp_peer_keys, char[CONF_PATH_MAX]),
		.def_str = "/etc/dime/peers",
		.help = "Directory of peers' public keys, one per file named ADDRESS.pub or ADDRESS_PREFIXLEN.pub; missing: no peer keys" },
	[CONF_IHMP_TOFU] = {
		"ihmp-tofu", D_BOOL(ihmp_tofu, 1),
		.help = "Trust on first use: a peer without a key in ihmp-peer-keys whose first HELLO is signed with the key it carries gets that key bound until dimed forgets the peer" },
	[CONF_IHMP_RATE_LIMIT] = {
		"ihmp-rate-limit", D_UINT(ihmp_rate_limit, 0, 1000000, 50),
		.help = "IHMP messages per second taken from one source (/32, or /64 for IPv6), in bursts of twice that; 0 turns every IHMP rate limit off" },
	[CONF_IHMP_RATE_LIMIT_GLOBAL] = {
		"ihmp-rate-limit-global", D_UINT(ihmp_rate_limit_global, 0, 1000000, 1000),
		.help = "IHMP messages per second taken from all sources together, in bursts of twice that; 0: no global limit" },
	[CONF_IHMP_PATH_VALIDATION] = {
		"ihmp-path-validation", D_BOOL(ihmp_path_validation, 1),
		.help = "Send a peer's flows to a new address only once it echoed our probe from there; until then at most three times what it sent us (no: as soon as IHMP says so)" },
	[CONF_FWMARK] = {
		"fwmark", D_HEX(fwmark, 1, UINT32_MAX, 0x4d000000),
		.help = "Firewall mark bits of packets dimed sends itself; they are never queued" },
	[CONF_MAX_HOSTS] = {
		"max-hosts", D_UINT(max_hosts, 1, DIME_HID_CAPACITY_MAX, 65536),
		.help = "Size of the host table: peers and local identities at once" },
	[CONF_MAX_FLOWS] = {
		"max-flows", D_UINT(max_flows, 1, DIME_FLOW_CAPACITY_MAX, 1u << 20),
		.help = "Size of the flow table: TCP, UDP and ICMP flows at once" },
	[CONF_QUEUE_LENGTH] = {
		"queue-length", D_UINT(queue_length, 1, NFQIO_MAXLEN_MAX, NFQIO_MAXLEN_DEFAULT),
		.help = "Packets each kernel queue holds before the kernel drops more" },
	[CONF_QUEUE_RCVBUF] = {
		"queue-rcvbuf", D_SIZE(queue_rcvbuf, 64 * KIB, 1 * GIB, NFQIO_RCVBUF_DEFAULT),
		.help = "Receive buffer of each queue socket" },
	[CONF_IPV6] = {
		"ipv6", D_BOOL(ipv6, 1),
		.help = "Handle IPv6 as well as IPv4" },
	[CONF_MANAGE_SYSCTLS] = {
		"manage-sysctls", D_BOOL(manage_sysctls, 1),
		.help = "Adjust rp_filter and the arp_* sysctls for moved addresses; restored at exit" },
	[CONF_OFFLOAD] = {
		"offload", D_BOOL(offload, 1),
		.help = "Let the kernel rewrite steady moved TCP/UDP flows (nftables table inet dimed)" },
	[CONF_TRACK_CONNECTIONS] = {
		"track-connections", D_BOOL(track_connections, 0),
		.help = "Make the kernel track connections (conntrack) even when nothing else here needs it, so flows of unconnected UDP sockets are known too; costs a busy flow about a tenth of its goodput" },
	[CONF_LOG_LEVEL] = {
		"log-level", .type = T_LOGLEVEL, .off = OFF(log_level, int), .def = LOG_LEVEL_INFO,
		.help = "Most verbose priority logged (the -l option overrides it)" },
	[CONF_FLOW_TIMEOUT_TCP_ESTABLISHED] = {
		"flow-timeout-tcp-established", D_TIMEOUT(flow_timeout_tcp_established, 2 * HOUR),
		.help = "Idle time after which an established TCP flow is forgotten" },
	[CONF_FLOW_TIMEOUT_TCP_TRANSITORY] = {
		"flow-timeout-tcp-transitory", D_TIMEOUT(flow_timeout_tcp_transitory, 2 * MIN),
		.help = "Idle time of TCP flows opening or closing (every other state)" },
	[CONF_FLOW_TIMEOUT_UDP] = {
		"flow-timeout-udp", D_TIMEOUT(flow_timeout_udp, 3 * MIN),
		.help = "Idle time after which a UDP flow is forgotten" },
	[CONF_FLOW_TIMEOUT_ICMP] = {
		"flow-timeout-icmp", D_TIMEOUT(flow_timeout_icmp, 30 * SEC),
		.help = "Idle time after which an ICMP echo flow is forgotten" },
};

/* ---- errors ------------------------------------------------------------ */

struct parser {
	const char *filename;
	struct conf_errors *errs;
	bool bad[CONF_KEY_COUNT];	/* a line for it was rejected */
};

static void __attribute__((format(printf, 3, 4)))
report(struct parser *p, unsigned line, const char *fmt, ...)
{
	struct conf_errors *e = p->errs;
	char *m;
	int n;
	va_list ap;

	if (e->count++ >= CONF_ERRORS_MAX)
		return;
	m = e->msg[e->count - 1];
	if (line)
		n = snprintf(m, CONF_ERROR_LEN, "%s:%u: ", p->filename, line);
	else
		n = snprintf(m, CONF_ERROR_LEN, "%s: ", p->filename);
	if (n < 0 || (size_t)n >= CONF_ERROR_LEN)
		return;
	va_start(ap, fmt);
	vsnprintf(m + n, CONF_ERROR_LEN - (size_t)n, fmt, ap);
	va_end(ap);
}

/* User text quoted back in a message: bounded, and bytes that are not
 * printable ASCII escaped so a message stays one readable line. */
#define SHOW_MAX 48

static const char *show(const char *s, char buf[SHOW_MAX * 4 + 4])
{
	size_t o = 0, i;

	for (i = 0; s[i] && i < SHOW_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f)
			buf[o++] = (char)ch;
		else
			o += (size_t)sprintf(buf + o, "\\x%02x", ch);
	}
	if (s[i])
		o += (size_t)sprintf(buf + o, "...");
	buf[o] = '\0';
	return buf;
}

void conf_errors_init(struct conf_errors *errs)
{
	errs->count = 0;
}

void conf_errors_print(const struct conf_errors *errs, FILE *out)
{
	unsigned kept = errs->count < CONF_ERRORS_MAX ? errs->count : CONF_ERRORS_MAX;

	for (unsigned i = 0; i < kept; i++)
		fprintf(out, "%s\n", errs->msg[i]);
	if (errs->count > kept)
		fprintf(out, "(%u more errors not shown)\n", errs->count - kept);
}

/* ---- values: canonical text ------------------------------------------------ */

struct unit {
	const char *suffix;
	uint64_t mult;
};

/* Largest first: formatting takes the first that divides exactly. */
static const struct unit duration_units[] = {
	{ "h", HOUR }, { "m", MIN }, { "s", SEC }, { "ms", 1 }, { NULL, 0 },
};
static const struct unit size_units[] = {
	{ "G", GIB }, { "M", MIB }, { "K", KIB }, { "", 1 }, { NULL, 0 },
};

static void fmt_units(char *buf, size_t len, uint64_t v, const struct unit *u)
{
	while (u[1].suffix && (v == 0 || v % u->mult))
		u++;
	snprintf(buf, len, "%llu%s", (unsigned long long)(v / u->mult), u->suffix);
}

#define VALUE_LEN (CONF_PATH_MAX + 16)

static void fmt_number(const struct directive *d, uint64_t v, char *buf, size_t len)
{
	switch (d->type) {
	case T_HEX:
		snprintf(buf, len, "0x%llx", (unsigned long long)v);
		break;
	case T_DURATION:
		fmt_units(buf, len, v, duration_units);
		break;
	case T_SIZE:
		fmt_units(buf, len, v, size_units);
		break;
	case T_BOOL:
		snprintf(buf, len, "%s", v ? "yes" : "no");
		break;
	case T_LOGLEVEL:
		snprintf(buf, len, "%s", log_level_name((enum log_level)v));
		break;
	case T_WORD:
		snprintf(buf, len, "%s", v <= d->max ? d->words[v] : "?");
		break;
	default:
		snprintf(buf, len, "%llu", (unsigned long long)v);
		break;
	}
}

static void *field(struct dime_conf *c, const struct directive *d)
{
	return (char *)c + d->off;
}

static const void *cfield(const struct dime_conf *c, const struct directive *d)
{
	return (const char *)c + d->off;
}

static uint64_t get_number(const struct dime_conf *c, const struct directive *d)
{
	const void *f = cfield(c, d);

	switch (d->type) {
	case T_UINT:
	case T_HEX:
	case T_WORD:
		return *(const uint32_t *)f;
	case T_BOOL:
		return *(const bool *)f;
	case T_LOGLEVEL:
		return (uint64_t)*(const int *)f;
	default:
		return *(const uint64_t *)f;
	}
}

static void put_number(struct dime_conf *c, const struct directive *d, uint64_t v)
{
	void *f = field(c, d);

	switch (d->type) {
	case T_UINT:
	case T_HEX:
	case T_WORD:
		*(uint32_t *)f = (uint32_t)v;
		break;
	case T_BOOL:
		*(bool *)f = v != 0;
		break;
	case T_LOGLEVEL:
		*(int *)f = (int)v;
		break;
	default:
		*(uint64_t *)f = v;
		break;
	}
}

static void fmt_value(const struct dime_conf *c, const struct directive *d, char *buf, size_t len)
{
	if (d->type == T_PATH || d->type == T_IFLIST)
		snprintf(buf, len, "%s", (const char *)cfield(c, d));
	else
		fmt_number(d, get_number(c, d), buf, len);
}

/* "a, b or c" */
static void fmt_words(const struct directive *d, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (uint64_t i = 0; i <= d->max && o < len; i++) {
		const char *sep = i == 0 ? "" : i == d->max ? " or " : ", ";

		o += (size_t)snprintf(buf + o, len - o, "%s%s", sep, d->words[i]);
	}
}

/* What a directive accepts, for messages and the template. */
static void fmt_range(const struct directive *d, char *buf, size_t len)
{
	char lo[32], hi[32];

	switch (d->type) {
	case T_PATH:
		snprintf(buf, len, "an absolute path of at most %u bytes", CONF_PATH_MAX - 1);
		return;
	case T_IFLIST:
		snprintf(buf, len, "none, or up to %u interface names or patterns (letters, digits, "
			 "- _ . * ?), comma-separated", CONF_IFPATTERNS_MAX);
		return;
	case T_BOOL:
		snprintf(buf, len, "yes or no");
		return;
	case T_LOGLEVEL:
		snprintf(buf, len, "err, warning, notice, info or debug");
		return;
	case T_WORD:
		fmt_words(d, buf, len);
		return;
	default:
		fmt_number(d, d->min, lo, sizeof(lo));
		fmt_number(d, d->max, hi, sizeof(hi));
		snprintf(buf, len, "%s..%s", lo, hi);
		return;
	}
}

/* ---- values: parsing ------------------------------------------------------ */

/* Digits (decimal, or hex after 0x when hex is allowed) at the start of s.
 * Returns the number of characters used, 0 when there is no number;
 * *overflow when it does not fit 64 bits. */
static size_t scan_u64(const char *s, bool hex_ok, uint64_t *v, bool *overflow)
{
	unsigned base = 10;
	size_t i = 0, start;

	*v = 0;
	*overflow = false;
	if (hex_ok && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	start = i;
	for (;; i++) {
		unsigned digit;
		char ch = s[i];

		if (ch >= '0' && ch <= '9')
			digit = (unsigned)(ch - '0');
		else if (base == 16 && ch >= 'a' && ch <= 'f')
			digit = (unsigned)(ch - 'a' + 10);
		else if (base == 16 && ch >= 'A' && ch <= 'F')
			digit = (unsigned)(ch - 'A' + 10);
		else
			break;
		if (*v > (UINT64_MAX - digit) / base)
			*overflow = true;
		else
			*v = *v * base + digit;
	}
	return i == start ? 0 : i;
}

enum verdict { V_OK, V_MALFORMED, V_RANGE, V_STEP };

static enum verdict parse_scaled(const char *s, const struct unit *units, const char *bare,
				 uint64_t *v)
{
	bool overflow;
	size_t n = scan_u64(s, false, v, &overflow);

	if (n == 0)
		return V_MALFORMED;
	if (s[n] == '\0')
		s = bare;
	else
		s += n;
	for (const struct unit *u = units; u->suffix; u++) {
		if (strcmp(s, u->suffix) != 0)
			continue;
		if (overflow || *v > UINT64_MAX / u->mult)
			return V_RANGE;
		*v *= u->mult;
		return V_OK;
	}
	return V_MALFORMED;
}

static enum verdict parse_number(const struct directive *d, const char *s, uint64_t *v)
{
	enum verdict r;
	bool overflow;
	size_t n;

	switch (d->type) {
	case T_DURATION:
		r = parse_scaled(s, duration_units, "s", v);
		break;
	case T_SIZE:
		r = parse_scaled(s, size_units, "", v);
		break;
	case T_BOOL:
		if (strcmp(s, "yes") && strcmp(s, "no"))
			return V_MALFORMED;
		*v = strcmp(s, "yes") == 0;
		return V_OK;
	case T_LOGLEVEL:
		if (log_level_parse(s) < 0)
			return V_MALFORMED;
		*v = (uint64_t)log_level_parse(s);
		return V_OK;
	case T_WORD:
		for (*v = 0; *v <= d->max; (*v)++)
			if (strcmp(s, d->words[*v]) == 0)
				return V_OK;
		return V_MALFORMED;
	default:
		n = scan_u64(s, true, v, &overflow);
		if (n == 0 || s[n])
			return V_MALFORMED;
		r = overflow ? V_RANGE : V_OK;
		break;
	}
	if (r != V_OK)
		return r;
	if (*v < d->min || *v > d->max)
		return V_RANGE;
	if (d->step && *v % d->step)
		return V_STEP;
	return V_OK;
}

static const char *malformed_hint(const struct directive *d)
{
	switch (d->type) {
	case T_DURATION:
		return "a duration ";
	case T_SIZE:
		return "a size ";
	case T_UINT:
	case T_HEX:
		return "a number ";
	default:
		return "";
	}
}

static const char *unit_hint(const struct directive *d)
{
	switch (d->type) {
	case T_DURATION:
		return " (a number with ms, s, m or h; seconds without)";
	case T_SIZE:
		return " (bytes, or a number with K, M or G)";
	default:
		return "";
	}
}

static bool is_control(unsigned char ch)
{
	return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if (is_control((unsigned char)*s))
			return true;
	return false;
}

/* "none", or comma-separated patterns of interface names (at most
 * IFNAMSIZ-1 characters each, the characters Linux allows in practice plus
 * the glob * and ?), no empty one. */
static int set_iflist(struct dime_conf *c, const struct directive *d, const char *s, char *why,
		      size_t whylen)
{
	char shown[SHOW_MAX * 4 + 4];
	unsigned n = 0;
	size_t len = strlen(s), start = 0;

	if (len >= CONF_IFLIST_MAX) {
		snprintf(why, whylen, "\"%s\" must be at most %u bytes long, got %zu", d->name,
			 CONF_IFLIST_MAX - 1, len);
		return -EINVAL;
	}
	if (strcmp(s, "none") != 0) {
		for (size_t i = 0; i <= len; i++) {
			char ch = s[i];

			if (ch != ',' && ch != '\0') {
				if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				      (ch >= '0' && ch <= '9') || strchr("-_.*?", ch))) {
					snprintf(why, whylen, "\"%s\": '%c' cannot be in an interface name, got \"%s\"",
						 d->name, is_control((unsigned char)ch) ? '?' : ch, show(s, shown));
					return -EINVAL;
				}
				continue;
			}
			if (i == start || i - start > 15 || ++n > CONF_IFPATTERNS_MAX) {
				snprintf(why, whylen, "\"%s\" must be none or up to %u comma-separated "
					 "names of 1..15 characters, got \"%s\"", d->name,
					 CONF_IFPATTERNS_MAX, show(s, shown));
				return -EINVAL;
			}
			start = i + 1;
		}
	}
	memcpy(field(c, d), s, len + 1);
	return 0;
}

/* Store value s for d into c, or explain why not into why. */
static int set_value(struct dime_conf *c, const struct directive *d, const char *s, char *why,
		     size_t whylen)
{
	char range[96], shown[SHOW_MAX * 4 + 4];
	uint64_t v;

	if (d->type == T_IFLIST)
		return set_iflist(c, d, s, why, whylen);
	if (d->type == T_PATH) {
		if (s[0] != '/') {
			snprintf(why, whylen, "\"%s\" must be an absolute path, got \"%s\"", d->name,
				 show(s, shown));
			return -EINVAL;
		}
		/* A value from the command line must print back as one word. */
		if (strpbrk(s, " \t#") || has_control(s)) {
			snprintf(why, whylen, "\"%s\" cannot hold blanks, '#' or control characters, got \"%s\"",
				 d->name, show(s, shown));
			return -EINVAL;
		}
		if (strlen(s) >= CONF_PATH_MAX) {
			snprintf(why, whylen, "\"%s\" must be at most %u bytes long, got %zu", d->name,
				 CONF_PATH_MAX - 1, strlen(s));
			return -EINVAL;
		}
		memcpy(field(c, d), s, strlen(s) + 1);
		return 0;
	}
	fmt_range(d, range, sizeof(range));
	switch (parse_number(d, s, &v)) {
	case V_OK:
		put_number(c, d, v);
		return 0;
	case V_RANGE:
		snprintf(why, whylen, "\"%s\" must be %s, got %s", d->name, range, show(s, shown));
		return -EINVAL;
	case V_STEP:
		snprintf(why, whylen, "\"%s\" must be a whole number of seconds, got %s", d->name,
			 show(s, shown));
		return -EINVAL;
	default:
		snprintf(why, whylen, "\"%s\" must be %s%s%s, got \"%s\"", d->name,
			 malformed_hint(d), range, unit_hint(d), show(s, shown));
		return -EINVAL;
	}
}

/* ---- lines ------------------------------------------------------------ */

static const struct directive *lookup(const char *name)
{
	for (size_t i = 0; i < CONF_KEY_COUNT; i++)
		if (strcmp(directives[i].name, name) == 0)
			return &directives[i];
	return NULL;
}

/* Edit distance, capped: names are short, and only 0..2 matters. */
static unsigned distance(const char *a, const char *b)
{
	unsigned row[64], la = (unsigned)strlen(a), lb = (unsigned)strlen(b);

	if (la >= 64 || lb >= 64)
		return 99;
	for (unsigned j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned i = 1; i <= la; i++) {
		unsigned diag = row[0], tmp;

		row[0] = i;
		for (unsigned j = 1; j <= lb; j++) {
			unsigned best = diag + (a[i - 1] != b[j - 1]);

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			diag = tmp;
		}
	}
	return row[lb];
}

static void unknown_directive(struct parser *p, unsigned line, const char *name)
{
	char shown[SHOW_MAX * 4 + 4];
	const char *near = NULL;
	unsigned best = 3;

	/* Past the errors kept, the message would be dropped anyway. */
	for (size_t i = 0; i < CONF_KEY_COUNT && p->errs->count < CONF_ERRORS_MAX; i++) {
		size_t la = strlen(name), lb = strlen(directives[i].name);
		unsigned dist;

		/* The distance is at least the difference in length. */
		if (la > lb + 2 || lb > la + 2)
			continue;
		dist = distance(name, directives[i].name);

		if (dist < best) {
			best = dist;
			near = directives[i].name;
		}
	}
	if (near)
		report(p, line, "unknown directive \"%s\" (did you mean \"%s\"?)", show(name, shown),
		       near);
	else
		report(p, line, "unknown directive \"%s\"", show(name, shown));
}

/* A directive and its value, or ihmp-key, its path and its addresses;
 * and one too many. */
#define MAX_WORDS (2 + CONF_KEY_PREFIXES_MAX + 1)

/* Split at blanks, up to a '#'. Returns the number of words (all of them,
 * though only MAX_WORDS are kept). */
static unsigned split(char *s, char *word[MAX_WORDS])
{
	unsigned n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			return n;
		if (n < MAX_WORDS)
			word[n] = s;
		n++;
		while (*s && *s != ' ' && *s != '\t' && *s != '#')
			s++;
		if (*s == '#') {
			*s = '\0';
			return n;
		}
		if (*s)
			*s++ = '\0';
	}
}

/* ADDR or ADDR/LEN, host bits zero; a bare address is a /32 or /128. */
static int parse_prefix(const char *s, struct dime_addr *net, uint8_t *len)
{
	char text[INET6_ADDRSTRLEN + 4];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned bits, max;
	uint64_t v;
	bool overflow;

	if (alen >= sizeof(text))
		return -EINVAL;
	memcpy(text, s, alen);
	text[alen] = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, text, net->a.u8) == 1)
		net->family = AF_INET;
	else if (inet_pton(AF_INET6, text, net->a.u8) == 1)
		net->family = AF_INET6;
	else
		return -EINVAL;
	max = net->family == AF_INET ? 32 : 128;
	bits = max;
	if (slash) {
		size_t n = scan_u64(slash + 1, false, &v, &overflow);

		if (n == 0 || n > 3 || slash[1 + n] || overflow || v > max ||
		    (slash[1] == '0' && n > 1))
			return -EINVAL;
		bits = (unsigned)v;
	}
	for (unsigned b = bits; b < max; b++)
		if (net->a.u8[b / 8] & (0x80 >> (b % 8)))
			return -EINVAL;
	*len = (uint8_t)bits;
	return 0;
}

static bool bound_has(const struct conf_bound_key *b, const struct dime_addr *net, uint8_t len)
{
	for (unsigned i = 0; i < b->n; i++)
		if (b->len[i] == len && dime_addr_eq(&b->net[i], net))
			return true;
	return false;
}

/* The line of an earlier ihmp-key that binds net/len, or 0. */
static unsigned bound_line(const struct dime_conf *c, const struct dime_addr *net, uint8_t len)
{
	for (unsigned i = 0; i < c->n_bound_keys; i++)
		if (bound_has(&c->bound_keys[i], net, len))
			return c->bound_keys[i].line;
	return 0;
}

/* "ihmp-key PATH ADDR|PREFIX...": appended to c's bound keys (n > 2). */
static void parse_bound_key(struct parser *p, struct dime_conf *c, unsigned line, char **word,
			    unsigned n)
{
	const struct directive *d = &directives[CONF_IHMP_KEY];
	struct conf_bound_key b = { .line = line };
	char why[CONF_ERROR_LEN], shown[SHOW_MAX * 4 + 4];
	struct dime_conf tmp;
	bool ok = true;

	if (n > 2 + CONF_KEY_PREFIXES_MAX) {
		report(p, line, "\"%s\" binds a key to at most %u addresses or prefixes, got more",
		       d->name, CONF_KEY_PREFIXES_MAX);
		return;
	}
	if (c->n_bound_keys == CONF_BOUND_KEYS_MAX) {
		report(p, line, "\"%s\" with addresses may be given at most %u times", d->name,
		       CONF_BOUND_KEYS_MAX);
		return;
	}
	if (set_value(&tmp, d, word[1], why, sizeof(why)) < 0) {
		report(p, line, "%s", why);
		ok = false;
	}
	for (unsigned i = 2; i < n; i++) {
		struct dime_addr net;
		uint8_t len;
		unsigned other;

		if (parse_prefix(word[i], &net, &len) < 0) {
			report(p, line, "\"%s\": \"%s\" is not an address or prefix (ADDR or "
			       "ADDR/LEN, host bits zero)", d->name, show(word[i], shown));
			ok = false;
		} else if (bound_has(&b, &net, len)) {
			report(p, line, "\"%s\": %s is given twice", d->name, show(word[i], shown));
			ok = false;
		} else if ((other = bound_line(c, &net, len)) != 0) {
			report(p, line, "\"%s\": %s is already bound to a key on line %u",
			       d->name, show(word[i], shown), other);
			ok = false;
		} else {
			b.net[b.n] = net;
			b.len[b.n++] = len;
		}
	}
	if (!ok)
		return;
	memcpy(b.path, tmp.ihmp_key, sizeof(b.path));
	c->bound_keys[c->n_bound_keys++] = b;
}

static void parse_words(struct parser *p, struct dime_conf *c, unsigned line, char **word,
			unsigned n)
{
	const struct directive *d = lookup(word[0]);
	char why[CONF_ERROR_LEN];
	enum conf_key key;

	if (!d) {
		unknown_directive(p, line, word[0]);
		return;
	}
	key = (enum conf_key)(d - directives);
	if (key == CONF_IHMP_KEY && n > 2) {
		parse_bound_key(p, c, line, word, n);
		return;
	}
	if (c->line[key]) {
		report(p, line, "\"%s\" is already set on line %u", d->name, c->line[key]);
		return;
	}
	c->line[key] = line;
	if (n != 2) {
		p->bad[key] = true;
		if (n == 1)
			report(p, line, "\"%s\" needs a value", d->name);
		else
			report(p, line, "\"%s\" takes one value, got %u", d->name, n - 1);
		return;
	}
	if (set_value(c, d, word[1], why, sizeof(why)) < 0) {
		p->bad[key] = true;
		report(p, line, "%s", why);
		return;
	}
	c->set[key] = true;
}

/* One line without its newline, len <= CONF_LINE_MAX. */
static void parse_line(struct parser *p, struct dime_conf *c, unsigned line, const char *text,
		       size_t len)
{
	char buf[CONF_LINE_MAX + 1], *word[MAX_WORDS];
	unsigned n;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (is_control(ch)) {
			report(p, line, "control character 0x%02x in column %zu", ch, i + 1);
			return;
		}
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	n = split(buf, word);
	if (n)
		parse_words(p, c, line, word, n);
}

/* ---- settings that must agree ----------------------------------------------- */

/* Where a setting's value came from, for a message naming two of them. */
static void origin(const struct dime_conf *c, enum conf_key key, char *buf, size_t len)
{
	if (!c->set[key])
		snprintf(buf, len, "default");
	else if (c->line[key])
		snprintf(buf, len, "line %u", c->line[key]);
	else
		snprintf(buf, len, "command line");
}

/* The setting to blame: the one set last (a default is never blamed). */
static enum conf_key later(const struct dime_conf *c, enum conf_key a, enum conf_key b)
{
	if (!c->set[b])
		return a;
	if (!c->set[a])
		return b;
	return c->line[b] >= c->line[a] ? b : a;
}

static void check_queues(struct parser *p, const struct dime_conf *c)
{
	enum conf_key blame = later(c, CONF_QUEUE_OUT, CONF_QUEUE_IN);
	enum conf_key other = blame == CONF_QUEUE_OUT ? CONF_QUEUE_IN : CONF_QUEUE_OUT;
	char where[32];

	if (c->queue_out != c->queue_in)
		return;
	origin(c, other, where, sizeof(where));
	report(p, c->line[blame], "\"%s\" must differ from \"%s\" (%s), both are %u",
	       directives[blame].name, directives[other].name, where, c->queue_out);
}

static void check_tcp_timeouts(struct parser *p, const struct dime_conf *c)
{
	const enum conf_key est = CONF_FLOW_TIMEOUT_TCP_ESTABLISHED;
	const enum conf_key trans = CONF_FLOW_TIMEOUT_TCP_TRANSITORY;
	enum conf_key blame = later(c, est, trans);
	char e[VALUE_LEN], t[VALUE_LEN], where[32];

	if (c->flow_timeout_tcp_established >= c->flow_timeout_tcp_transitory)
		return;
	fmt_value(c, &directives[est], e, sizeof(e));
	fmt_value(c, &directives[trans], t, sizeof(t));
	origin(c, blame == est ? trans : est, where, sizeof(where));
	if (blame == est)
		report(p, c->line[blame], "\"%s\" (%s) must not be shorter than \"%s\" (%s, %s)",
		       directives[est].name, e, directives[trans].name, t, where);
	else
		report(p, c->line[blame], "\"%s\" (%s) must not be longer than \"%s\" (%s, %s)",
		       directives[trans].name, t, directives[est].name, e, where);
}

/* Checked on the effective values; skipped when a line involved was
 * rejected, since its default would stand in and mislead. */
static void check_cross(struct parser *p, const struct dime_conf *parsed)
{
	struct dime_conf c = *parsed;

	conf_apply_defaults(&c);
	if (!p->bad[CONF_QUEUE_OUT] && !p->bad[CONF_QUEUE_IN])
		check_queues(p, &c);
	if (!p->bad[CONF_FLOW_TIMEOUT_TCP_ESTABLISHED] && !p->bad[CONF_FLOW_TIMEOUT_TCP_TRANSITORY])
		check_tcp_timeouts(p, &c);
}

/* ---- the API ------------------------------------------------------------ */

void conf_init(struct dime_conf *c)
{
	memset(c, 0, sizeof(*c));
}

int conf_parse(const char *text, size_t len, const char *filename, struct dime_conf *out,
	       struct conf_errors *errs)
{
	struct parser p = { .filename = filename, .errs = errs };
	struct dime_conf c;
	unsigned line = 0;
	size_t pos = 0;

	conf_errors_init(errs);
	if (len > CONF_FILE_MAX) {
		report(&p, 0, "file is larger than %u bytes", CONF_FILE_MAX);
		return -EINVAL;
	}
	conf_init(&c);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;

		line++;
		/* Files edited on other systems end lines with CR LF. */
		if (n && text[end - 1] == '\r')
			n--;
		if (n > CONF_LINE_MAX)
			report(&p, line, "line is longer than %u bytes", CONF_LINE_MAX);
		else
			parse_line(&p, &c, line, text + pos, n);
		pos = end + 1;
	}
	check_cross(&p, &c);
	if (errs->count)
		return -EINVAL;
	*out = c;
	return 0;
}

int conf_set(struct dime_conf *c, const char *name, const char *value, const char *origin_name,
	     struct conf_errors *errs)
{
	struct parser p = { .filename = origin_name, .errs = errs };
	const struct directive *d = lookup(name);
	char why[CONF_ERROR_LEN];
	struct dime_conf n = *c;
	unsigned before = errs->count;
	enum conf_key key;

	if (!d)
		return -ENOENT;
	key = (enum conf_key)(d - directives);
	if (set_value(&n, d, value, why, sizeof(why)) < 0) {
		report(&p, 0, "%s", why);
		return -EINVAL;
	}
	n.set[key] = true;
	n.line[key] = 0;
	check_cross(&p, &n);
	if (errs->count != before)
		return -EINVAL;
	*c = n;
	return 0;
}

/* Next to the control socket (.sock -> .state), so two daemons with two
 * sockets never share one. The control socket's default is in place by
 * now: it comes first in the table. */
static void state_file_default(struct dime_conf *c)
{
	const char *p = c->control_socket;
	size_t n = strlen(p);

	if (n > 5 && strcmp(p + n - 5, ".sock") == 0)
		n -= 5;
	if (n + 7 > CONF_PATH_MAX - 1)
		n = CONF_PATH_MAX - 1 - 6;
	snprintf(c->state_file, CONF_PATH_MAX, "%.*s.state", (int)n, p);
}

void conf_apply_defaults(struct dime_conf *c)
{
	for (size_t i = 0; i < CONF_KEY_COUNT; i++) {
		const struct directive *d = &directives[i];

		if (c->set[i])
			continue;
		if (i == CONF_STATE_FILE)
			state_file_default(c);
		else if (d->type == T_PATH)
			snprintf(field(c, d), CONF_PATH_MAX, "%s", d->def_str);
		else if (d->type == T_IFLIST)
			snprintf(field(c, d), CONF_IFLIST_MAX, "%s", d->def_str);
		else
			put_number(c, d, d->def);
	}
}

bool conf_is_set(const struct dime_conf *c, enum conf_key key)
{
	return (unsigned)key < CONF_KEY_COUNT && c->set[key];
}

const char *conf_key_name(enum conf_key key)
{
	return (unsigned)key < CONF_KEY_COUNT ? directives[key].name : NULL;
}

static uint32_t ms_to_s(uint64_t ms)
{
	return (uint32_t)(ms / SEC);
}

/* The one place conf's units meet the daemon's: all ranges were checked at
 * parse time, so every narrowing here is exact. */
static void to_daemon_config(const struct dime_conf *c, struct dimed_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->queue_out = (uint16_t)c->queue_out;
	cfg->queue_in = (uint16_t)c->queue_in;
	cfg->ihmp_port = (uint16_t)c->ihmp_port;
	cfg->ihmp = c->ihmp;
	cfg->hold_ms = (uint32_t)c->hold_time;
	cfg->ihmp_rto_ms = (uint32_t)c->ihmp_rto;
	cfg->hello_tries = (uint8_t)c->hello_retries;
	cfg->handoff_tries = (uint8_t)c->handoff_retries;
	cfg->mark = c->fwmark;
	cfg->hid_capacity = c->max_hosts;
	cfg->flow_capacity = c->max_flows;
	cfg->nfq_maxlen = c->queue_length;
	cfg->nfq_rcvbuf = (uint32_t)c->queue_rcvbuf;
	cfg->ipv6 = c->ipv6;
	cfg->manage_sysctls = c->manage_sysctls;
	cfg->offload = c->offload;
	cfg->track_connections = c->track_connections;
	cfg->ihmp_auth = (uint8_t)c->ihmp_auth;
	cfg->ihmp_rate = c->ihmp_rate_limit;
	cfg->ihmp_rate_global = c->ihmp_rate_limit_global;
	cfg->ihmp_tofu = c->ihmp_tofu;
	cfg->ihmp_path_validation = c->ihmp_path_validation;
}

/* A path setting: into the caller's struct when set, else the table's
 * default, never into conf_to_daemon's copy. */
static const char *path_of(const struct dime_conf *c, enum conf_key key)
{
	return c->set[key] ? (const char *)cfield(c, &directives[key]) : directives[key].def_str;
}

void conf_to_daemon(const struct dime_conf *c, struct dimed_config *cfg,
		    struct dime_flow_timeouts *timeouts, int *log_level)
{
	struct dime_conf e = *c;

	conf_apply_defaults(&e);
	if (cfg) {
		to_daemon_config(&e, cfg);
		cfg->ctl_path = path_of(c, CONF_CONTROL_SOCKET);
		/* Derived values live in the caller's struct only when set. */
		cfg->state_path = c->set[CONF_STATE_FILE] ? c->state_file : NULL;
		cfg->ignore_interfaces = c->set[CONF_IGNORE_INTERFACES]
						 ? c->ignore_interfaces
						 : directives[CONF_IGNORE_INTERFACES].def_str;
		cfg->ihmp_key_path = path_of(c, CONF_IHMP_KEY);
		cfg->ihmp_peer_keys_dir = path_of(c, CONF_IHMP_PEER_KEYS);
		cfg->ihmp_bound_keys = c->bound_keys;
		cfg->ihmp_bound_keys_n = c->n_bound_keys;
	}
	if (timeouts) {
		timeouts->tcp_established = ms_to_s(e.flow_timeout_tcp_established);
		timeouts->tcp_transitory = ms_to_s(e.flow_timeout_tcp_transitory);
		timeouts->udp = ms_to_s(e.flow_timeout_udp);
		timeouts->icmp = ms_to_s(e.flow_timeout_icmp);
	}
	if (log_level)
		*log_level = e.log_level;
}

/* Wide enough for the longest name, so values line up. */
#define NAME_WIDTH 28

/* "ihmp-key PATH PREFIX..." lines, prefixes always with their length so
 * the output re-parses to the same bindings. */
static void print_bound_keys(const struct dime_conf *c, FILE *out)
{
	for (unsigned i = 0; i < c->n_bound_keys; i++) {
		const struct conf_bound_key *b = &c->bound_keys[i];

		fprintf(out, "%-*s %s", NAME_WIDTH, directives[CONF_IHMP_KEY].name, b->path);
		for (unsigned j = 0; j < b->n; j++) {
			char a[INET6_ADDRSTRLEN];

			inet_ntop(b->net[j].family, b->net[j].a.u8, a, sizeof(a));
			fprintf(out, " %s/%u", a, b->len[j]);
		}
		fputc('\n', out);
	}
}

void conf_print(const struct dime_conf *c, FILE *out)
{
	struct dime_conf e = *c;
	char value[VALUE_LEN];

	conf_apply_defaults(&e);
	for (size_t i = 0; i < CONF_KEY_COUNT; i++) {
		fmt_value(&e, &directives[i], value, sizeof(value));
		fprintf(out, "%-*s %s\n", NAME_WIDTH, directives[i].name, value);
		if (i == CONF_IHMP_KEY)
			print_bound_keys(c, out);
	}
}

void conf_print_template(FILE *out)
{
	struct dime_conf e;
	char value[VALUE_LEN], range[96];

	conf_init(&e);
	conf_apply_defaults(&e);
	fprintf(out, "# /etc/dime/dime.conf: configuration of dimed, the DIME host mobility daemon.\n"
		     "# See dime.conf(5).\n"
		     "#\n"
		     "# dimed runs without this file. Every directive is listed below, commented\n"
		     "# out, with its default value: remove the '#' and change the value to set\n"
		     "# it. Check the file with \"dimed -n\"; \"dimed -n -v\" prints the effective\n"
		     "# configuration. dimed refuses to start when the file has any error.\n"
		     "#\n"
		     "# Generated from the directive table in src/conf.c (a unit test keeps the\n"
		     "# two equal).\n");
	for (size_t i = 0; i < CONF_KEY_COUNT; i++) {
		const struct directive *d = &directives[i];

		fmt_value(&e, d, value, sizeof(value));
		fmt_range(d, range, sizeof(range));
		fprintf(out, "\n# %s.\n# Accepts %s%s.\n#%s %s\n", d->help, range, unit_hint(d), d->name,
			value);
	}
}

/* ---- reading the file ------------------------------------------------------ */

/* The daemon runs as root and acts on this file: someone who can change it
 * controls what dimed queues and rewrites. */
static bool safe_owner(const struct stat *st)
{
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return false;
	return st->st_uid == 0 || st->st_uid == geteuid();
}

static int read_all(int fd, char *buf, size_t cap, size_t *len)
{
	*len = 0;
	while (*len < cap) {
		ssize_t n = read(fd, buf + *len, cap - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

static int load_fd(int fd, const char *path, struct parser *p, struct dime_conf *out)
{
	struct stat st;
	char *buf;
	size_t len;
	int err;

	if (fstat(fd, &st) < 0) {
		err = -errno;
		report(p, 0, "cannot stat: %s", strerror(-err));
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		report(p, 0, "not a regular file");
		return -EINVAL;
	}
	if (!safe_owner(&st)) {
		report(p, 0, "refusing a file that others than root can write (owner uid %u, mode %04o): "
			     "chown root and chmod go-w it",
		       (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	/* One byte more than allowed, to tell "exactly at the limit" from
	 * "larger" whatever st_size said (the file may be growing). */
	buf = malloc(CONF_FILE_MAX + 1);
	if (!buf) {
		report(p, 0, "out of memory");
		return -ENOMEM;
	}
	err = read_all(fd, buf, CONF_FILE_MAX + 1, &len);
	if (err < 0)
		report(p, 0, "cannot read: %s", strerror(-err));
	else
		err = conf_parse(buf, len, path, out, p->errs);
	free(buf);
	return err;
}

int conf_load(const char *path, bool missing_ok, struct dime_conf *out,
	      struct conf_errors *errs)
{
	struct parser p = { .filename = path, .errs = errs };
	int fd, err;

	conf_errors_init(errs);
	/* O_NONBLOCK: a FIFO in its place must not hang start-up. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT && missing_ok) {
			conf_init(out);
			return 0;
		}
		report(&p, 0, "cannot open: %s", strerror(-err));
		return err;
	}
	err = load_fd(fd, path, &p, out);
	close(fd);
	return err;
}
