// SPDX-License-Identifier: BSD-2-Clause
/*
 * dime-ihmpforge: the attacker of the namespace security scenario
 * (tests/netns/attack.sh) and of bench/ihmp_flood.sh. It builds IHMP
 * messages with dimed's own encoder and signer (ihmp_wire.h, ihmp_sign.h),
 * so a forged message is exactly as well formed as a genuine one and a drop
 * can only be for the reason the test means.
 *
 *   dime-ihmpforge keygen --out PRIV --pub PUB
 *   dime-ihmpforge handoff --dst B --host-id H --new N --old O [--src A [--spoof]]
 *                          [--key FILE] [--seq S] [--counter C] [--type T] [--count N]
 *   dime-ihmpforge flood --dst B --host-id H --rate R --seconds S [--own A]
 *                        [--spoof-net CIDR]... [--own-share PCT] [--key FILE]
 *                        [--mix G,U,S]
 *   dime-ihmpforge capture --if IFNAME --out FILE --seconds S [--count N] [--dst B] [--type T]
 *   dime-ihmpforge replay --in FILE [--count N]
 *
 * keygen writes an Ed25519 private key (PEM, mode 0600, never overwriting)
 * and its public key in the base64 form an ihmp-peer-keys file holds.
 * handoff sends one message (HANDOFF by default; --type takes any request
 * type name that carries NEW and OLD), signed with --key when given, with a
 * counter from the wall clock in microseconds unless --counter says
 * otherwise. With --src and --spoof it goes out through a raw socket with
 * the IP source A whatever the namespace's addresses; with --src alone from
 * a UDP socket bound to A (IP_FREEBIND), without --src from wherever the
 * kernel chooses. flood sends R datagrams per second for S seconds (both
 * bounded: at most 200,000/s and 120 s), paced every millisecond: garbage
 * of several kinds, well-formed unsigned HANDOFFs naming HOST_ID H, and
 * HANDOFFs signed with --key (pre-signed at start: a signature costs about
 * 70 us, the pacing budget 20 us), in the proportions of --mix (default
 * 1,1,1), each from --own (--own-share percent, default 20) or a random
 * address of one of the --spoof-net prefixes. capture records, on one
 * interface of the namespace it runs in (an on-path router), the IHMP
 * datagrams (UDP destination port 5150, byte 0 = version 1) to --dst of
 * --type into FILE (a 2-byte big-endian length, then the IP packet, per
 * datagram); replay sends them again, source address and all, through a
 * raw socket.
 *
 * Output is for scripts: "key=value" lines on stdout ("ready" once a
 * capture listens; a final "sent ...", "flood ...", "captured ...",
 * "replayed ..." line). Exit 0, 1 on a failure, 2 on a usage error.
 * SIGINT and SIGTERM end a flood or a capture early. IPv4 and IPv6.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dime/addr.h"
#include "dime/ihmp_sign.h"
#include "dime/ihmp_wire.h"

#define NS		1000000000ull
#define US		1000ull
#define PKT_MAX		(40 + 8 + IHMP_MSG_MAX)
#define BATCH		128
#define POOL		256
#define SIGNED_POOL	64
#define NETS_MAX	8
#define RATE_MAX	200000.0
#define SECONDS_MAX	120.0
#define COUNT_MAX	100000u
#define UDP_PROTO	17

enum cmd { CMD_NONE, CMD_KEYGEN, CMD_HANDOFF, CMD_FLOOD, CMD_CAPTURE, CMD_REPLAY };

struct net {
	struct dime_addr base;
	unsigned int len;
};

struct opts {
	enum cmd cmd;
	struct dime_addr src, dst, host_id, new_addr, old_addr, own;
	bool spoof;
	const char *key, *out, *in, *pub, *ifname;
	uint16_t port;
	long seq;			/* -1: random */
	uint64_t counter;		/* 0: wall clock */
	uint8_t type;			/* 0: any (capture), else an IHMP type */
	unsigned int count;
	double rate, seconds;
	struct net nets[NETS_MAX];
	unsigned int n_nets, own_share;
	unsigned int mix[3];		/* garbage, unsigned, signed */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: the flood needs cheap numbers, not secret ones (the nonces of
 * genuine messages are what must be unpredictable, not an attacker's). */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static void rnd_seed(void)
{
	if (getrandom(&rng_state, sizeof(rng_state), 0) != sizeof(rng_state) || rng_state == 0)
		rng_state = now_ns(CLOCK_MONOTONIC) | 1;
}

/* ---- arguments --------------------------------------------------------------- */

static int usage(void)
{
	fprintf(stderr,
		"usage: dime-ihmpforge keygen --out PRIV --pub PUB\n"
		"       dime-ihmpforge handoff --dst B --host-id H --new N --old O [--src A [--spoof]]\n"
		"                      [--key FILE] [--seq S] [--counter C] [--type T] [--count N]\n"
		"       dime-ihmpforge flood --dst B --host-id H --rate R --seconds S [--own A]\n"
		"                      [--spoof-net CIDR]... [--own-share PCT] [--key FILE] [--mix G,U,S]\n"
		"       dime-ihmpforge capture --if IF --out FILE --seconds S [--count N] [--dst B] [--type T]\n"
		"       dime-ihmpforge replay --in FILE [--count N]\n");
	return 2;
}

static int parse_addr(const char *text, struct dime_addr *a, const char *what)
{
	if (dime_addr_parse(a, text) < 0) {
		fprintf(stderr, "dime-ihmpforge: %s: not an address: \"%s\"\n", what, text);
		return -EINVAL;
	}
	return 0;
}

static int parse_net(const char *text, struct net *n)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	char *end;
	unsigned long len;

	if (!slash || (size_t)(slash - text) >= sizeof(buf))
		goto bad;
	memcpy(buf, text, (size_t)(slash - text));
	buf[slash - text] = '\0';
	if (dime_addr_parse(&n->base, buf) < 0)
		goto bad;
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno || *end || end == slash + 1 || len > dime_addr_len(&n->base) * 8)
		goto bad;
	n->len = (unsigned int)len;
	return 0;
bad:
	fprintf(stderr, "dime-ihmpforge: --spoof-net: not a prefix: \"%s\"\n", text);
	return -EINVAL;
}

static int parse_num(const char *text, double lo, double hi, double *out, const char *what)
{
	char *end;

	errno = 0;
	*out = strtod(text, &end);
	if (errno || *end || end == text || *out < lo || *out > hi) {
		fprintf(stderr, "dime-ihmpforge: %s: a number from %g to %g, not \"%s\"\n", what, lo,
			hi, text);
		return -EINVAL;
	}
	return 0;
}

static int parse_type(const char *text, uint8_t *out)
{
	for (unsigned int t = 1; t <= IHMP_TYPE_MAX; t++) {
		if (strcasecmp(text, ihmp_type_name(t)) == 0) {
			*out = (uint8_t)t;
			return 0;
		}
	}
	fprintf(stderr, "dime-ihmpforge: --type: unknown IHMP type \"%s\"\n", text);
	return -EINVAL;
}

static int parse_mix(const char *text, unsigned int mix[3])
{
	if (sscanf(text, "%u,%u,%u", &mix[0], &mix[1], &mix[2]) != 3 || mix[0] > 1000 ||
	    mix[1] > 1000 || mix[2] > 1000 || mix[0] + mix[1] + mix[2] == 0) {
		fprintf(stderr, "dime-ihmpforge: --mix: three weights G,U,S (0-1000), not \"%s\"\n",
			text);
		return -EINVAL;
	}
	return 0;
}

static enum cmd parse_cmd(const char *s)
{
	static const struct { const char *name; enum cmd cmd; } cmds[] = {
		{ "keygen", CMD_KEYGEN }, { "handoff", CMD_HANDOFF }, { "flood", CMD_FLOOD },
		{ "capture", CMD_CAPTURE }, { "replay", CMD_REPLAY },
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(s, cmds[i].name) == 0)
			return cmds[i].cmd;
	return CMD_NONE;
}

static int parse_opt(int c, const char *arg, struct opts *o)
{
	double v;

	switch (c) {
	case 'a': return parse_addr(arg, &o->src, "--src");
	case 'd': return parse_addr(arg, &o->dst, "--dst");
	case 'H': return parse_addr(arg, &o->host_id, "--host-id");
	case 'n': return parse_addr(arg, &o->new_addr, "--new");
	case 'o': return parse_addr(arg, &o->old_addr, "--old");
	case 'w': return parse_addr(arg, &o->own, "--own");
	case 'S': o->spoof = true; return 0;
	case 'k': o->key = arg; return 0;
	case 'O': o->out = arg; return 0;
	case 'I': o->in = arg; return 0;
	case 'P': o->pub = arg; return 0;
	case 'i': o->ifname = arg; return 0;
	case 'T': return parse_type(arg, &o->type);
	case 'm': return parse_mix(arg, o->mix);
	case 'N':
		if (o->n_nets == NETS_MAX) {
			fprintf(stderr, "dime-ihmpforge: at most %d --spoof-net\n", NETS_MAX);
			return -E2BIG;
		}
		return parse_net(arg, &o->nets[o->n_nets++]);
	case 'q':
		if (parse_num(arg, 0, 65535, &v, "--seq") < 0)
			return -EINVAL;
		o->seq = (long)v;
		return 0;
	case 'c':
		if (parse_num(arg, 1, 1.8e19, &v, "--counter") < 0)
			return -EINVAL;
		o->counter = strtoull(arg, NULL, 10);
		return 0;
	case 'C':
		if (parse_num(arg, 1, COUNT_MAX, &v, "--count") < 0)
			return -EINVAL;
		o->count = (unsigned int)v;
		return 0;
	case 'r': return parse_num(arg, 1, RATE_MAX, &o->rate, "--rate");
	case 's': return parse_num(arg, 0.01, SECONDS_MAX, &o->seconds, "--seconds");
	case 'p':
		if (parse_num(arg, 1, 100, &v, "--own-share") < 0)
			return -EINVAL;
		o->own_share = (unsigned int)v;
		return 0;
	case 'u':
		if (parse_num(arg, 1, 65535, &v, "--port") < 0)
			return -EINVAL;
		o->port = (uint16_t)v;
		return 0;
	default: return -EINVAL;
	}
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "src", 1, 0, 'a' }, { "dst", 1, 0, 'd' }, { "host-id", 1, 0, 'H' },
		{ "new", 1, 0, 'n' }, { "old", 1, 0, 'o' }, { "own", 1, 0, 'w' },
		{ "spoof", 0, 0, 'S' }, { "key", 1, 0, 'k' }, { "out", 1, 0, 'O' },
		{ "in", 1, 0, 'I' }, { "pub", 1, 0, 'P' }, { "if", 1, 0, 'i' },
		{ "type", 1, 0, 'T' }, { "mix", 1, 0, 'm' }, { "spoof-net", 1, 0, 'N' },
		{ "seq", 1, 0, 'q' }, { "counter", 1, 0, 'c' }, { "count", 1, 0, 'C' },
		{ "rate", 1, 0, 'r' }, { "seconds", 1, 0, 's' }, { "own-share", 1, 0, 'p' },
		{ "port", 1, 0, 'u' }, { 0, 0, 0, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->port = IHMP_PORT_DEFAULT;
	o->seq = -1;
	o->own_share = 20;
	o->mix[0] = o->mix[1] = o->mix[2] = 1;
	if (argc < 2 || (o->cmd = parse_cmd(argv[1])) == CMD_NONE)
		return -EINVAL;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1)
		if (parse_opt(c, optarg, o) < 0)
			return -EINVAL;
	if (optind != argc)
		return -EINVAL;
	return 0;
}

/* ---- IP and UDP by hand (raw sockets) ------------------------------------------ */

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t acc)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/* The UDP checksum over the pseudo-header of the IP packet pkt, whose UDP
 * header starts at udp_off; written into the packet. A captured packet may
 * carry a partial checksum (offloaded on the veth it was seen on), so a
 * replay always recomputes it. */
static void udp_fix_csum(uint8_t *pkt, size_t udp_off, size_t udp_len)
{
	uint32_t acc;
	uint16_t c;

	pkt[udp_off + 6] = pkt[udp_off + 7] = 0;
	if ((pkt[0] >> 4) == 4)
		acc = sum16(pkt + 12, 8, 0);
	else
		acc = sum16(pkt + 8, 32, 0);
	acc += UDP_PROTO + (uint32_t)udp_len;
	acc = sum16(pkt + udp_off, udp_len, acc);
	c = fold(acc);
	if (c == 0)
		c = 0xffff;
	pkt[udp_off + 6] = (uint8_t)(c >> 8);
	pkt[udp_off + 7] = (uint8_t)c;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* IP + UDP + payload into pkt (PKT_MAX bytes); returns the length, 0 when
 * the families differ or the payload is too long. */
static size_t build_packet(uint8_t *pkt, const struct dime_addr *src, uint16_t sport,
			   const struct dime_addr *dst, uint16_t dport, const uint8_t *pl,
			   size_t len)
{
	size_t ip_len = dst->family == AF_INET6 ? 40 : 20;
	size_t udp_len = 8 + len;

	if (src->family != dst->family || len > IHMP_MSG_MAX)
		return 0;
	memset(pkt, 0, ip_len + 8);
	if (dst->family == AF_INET) {
		pkt[0] = 0x45;
		put16(pkt + 2, (uint16_t)(ip_len + udp_len));
		put16(pkt + 4, (uint16_t)rnd());
		pkt[6] = 0x40;	/* DF */
		pkt[8] = 64;
		pkt[9] = UDP_PROTO;
		memcpy(pkt + 12, src->a.u8, 4);
		memcpy(pkt + 16, dst->a.u8, 4);
		put16(pkt + 10, fold(sum16(pkt, 20, 0)));
	} else {
		pkt[0] = 0x60;
		put16(pkt + 4, (uint16_t)udp_len);
		pkt[6] = UDP_PROTO;
		pkt[7] = 64;
		memcpy(pkt + 8, src->a.u8, 16);
		memcpy(pkt + 24, dst->a.u8, 16);
	}
	put16(pkt + ip_len, sport);
	put16(pkt + ip_len + 2, dport);
	put16(pkt + ip_len + 4, (uint16_t)udp_len);
	memcpy(pkt + ip_len + 8, pl, len);
	udp_fix_csum(pkt, ip_len, udp_len);
	return ip_len + udp_len;
}

/* A send-only raw socket that takes whole IP packets (IPPROTO_RAW implies
 * IP_HDRINCL; for IPv6 it is set explicitly, as older kernels need). */
static int raw_open(int family)
{
	int fd = socket(family, SOCK_RAW, IPPROTO_RAW), one = 1;

	if (fd < 0) {
		fprintf(stderr, "dime-ihmpforge: raw socket: %s (root needed)\n", strerror(errno));
		return -1;
	}
#ifdef IPV6_HDRINCL
	if (family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof(one));
#endif
	(void)one;
	return fd;
}

/* The destination of a raw packet: port 0 (a raw IPv6 socket refuses any
 * other than its protocol). */
static socklen_t raw_dest(const uint8_t *pkt, struct sockaddr_storage *ss)
{
	struct dime_addr d;

	if ((pkt[0] >> 4) == 4)
		dime_addr_from_v4(&d, pkt + 16);
	else
		dime_addr_from_v6(&d, pkt + 24);
	return dime_addr_to_sockaddr(&d, 0, ss);
}

static int raw_send(int fd, const uint8_t *pkt, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = raw_dest(pkt, &ss);

	if (sendto(fd, pkt, len, 0, (struct sockaddr *)&ss, sl) < 0)
		return -errno;
	return 0;
}

/* ---- messages ------------------------------------------------------------------ */

static uint64_t wall_us(void)
{
	return now_ns(CLOCK_REALTIME) / US;
}

static int load_key(const char *path, struct ihmp_key **key)
{
	char why[IHMP_KEY_ERR_MAX];
	int err;

	*key = NULL;
	if (!path)
		return 0;
	if ((err = ihmp_key_load_private(path, key, why, sizeof(why))) < 0)
		fprintf(stderr, "dime-ihmpforge: %s\n", why);
	return err;
}

/* A HANDOFF-like request (type carries NEW and OLD, or only one of them)
 * with a random nonce, encoded and, with key, signed with counter. */
static int encode_request(uint8_t type, uint16_t seq, const struct dime_addr *host_id,
			  const struct dime_addr *new_addr, const struct dime_addr *old_addr,
			  const struct ihmp_key *key, uint64_t counter, uint8_t *buf)
{
	struct ihmp_msg m;

	ihmp_msg_init(&m, type, seq);
	m.host_id = *host_id;
	if (type == IHMP_ADDR_UP || type == IHMP_ADDR_UP_UNREACHABLE || type == IHMP_HANDOFF ||
	    type == IHMP_HANDOFF_UNREACHABLE)
		m.new_addr = *new_addr;
	if (type == IHMP_ADDR_DOWN || type == IHMP_ADDR_DOWN_UNREACHABLE ||
	    type == IHMP_HANDOFF || type == IHMP_HANDOFF_UNREACHABLE)
		m.old_addr = *old_addr;
	m.nonce = rnd();
	m.has = IHMP_HAS_NONCE;
	if (key)
		return ihmp_sign_encode(key, &m, counter, buf, IHMP_MSG_MAX);
	return ihmp_encode(&m, buf, IHMP_MSG_MAX);
}

static void fmt2(const struct dime_addr *a, const struct dime_addr *b, char *sa, char *sb)
{
	dime_addr_fmt(a, sa, DIME_ADDR_STRLEN);
	dime_addr_fmt(b, sb, DIME_ADDR_STRLEN);
}

/* ---- keygen -------------------------------------------------------------------- */

static int cmd_keygen(const struct opts *o)
{
	struct ihmp_key *key = NULL;
	char why[IHMP_KEY_ERR_MAX], text[IHMP_PUBKEY_TEXT_MAX];
	int fd, err, rc = 1;

	if (!o->out || !o->pub)
		return usage();
	if ((err = ihmp_key_generate(&key)) < 0) {
		fprintf(stderr, "dime-ihmpforge: key generation: %s\n", strerror(-err));
		return 1;
	}
	if (ihmp_key_store_private(key, o->out, why, sizeof(why)) < 0) {
		fprintf(stderr, "dime-ihmpforge: %s\n", why);
		goto out;
	}
	ihmp_key_public_text(key, text, sizeof(text));
	/* 0644 and root's: what ihmp_key_load_public demands of a peer file. */
	fd = open(o->pub, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || dprintf(fd, "%s\n", text) < 0 || fchmod(fd, 0644) < 0) {
		fprintf(stderr, "dime-ihmpforge: %s: %s\n", o->pub, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	printf("public=%s\n", text);
	rc = 0;
out:
	ihmp_key_free(key);
	return rc;
}

/* ---- handoff ------------------------------------------------------------------- */

/* A UDP socket bound to src:port, which need not be local (IP_FREEBIND). */
static int udp_open(const struct dime_addr *src, uint16_t port, int family)
{
	struct sockaddr_storage ss;
	int fd = socket(family, SOCK_DGRAM, 0), one = 1;

	if (fd < 0)
		return -1;
	if (dime_addr_is_set(src)) {
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		(void)setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, dime_addr_to_sockaddr(src, port, &ss)) < 0) {
			fprintf(stderr, "dime-ihmpforge: bind: %s\n", strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

static int handoff_check(const struct opts *o)
{
	if (!dime_addr_is_set(&o->dst) || !dime_addr_is_set(&o->host_id) ||
	    !dime_addr_is_set(&o->new_addr) || !dime_addr_is_set(&o->old_addr))
		return -EINVAL;
	if (o->spoof && !dime_addr_is_set(&o->src))
		return -EINVAL;
	return 0;
}

static int handoff_send_one(const struct opts *o, int fd, const uint8_t *msg, size_t len)
{
	struct sockaddr_storage ss;
	uint8_t pkt[PKT_MAX];
	size_t plen;

	if (!o->spoof) {
		if (sendto(fd, msg, len, 0, (struct sockaddr *)&ss,
			   dime_addr_to_sockaddr(&o->dst, o->port, &ss)) < 0)
			return -errno;
		return 0;
	}
	plen = build_packet(pkt, &o->src, o->port, &o->dst, o->port, msg, len);
	if (plen == 0)
		return -EAFNOSUPPORT;
	return raw_send(fd, pkt, plen);
}

static int cmd_handoff(const struct opts *o)
{
	struct ihmp_key *key;
	uint8_t msg[IHMP_MSG_MAX];
	uint8_t type = o->type ? o->type : IHMP_HANDOFF;
	uint64_t counter = o->counter ? o->counter : wall_us();
	uint16_t seq = o->seq >= 0 ? (uint16_t)o->seq : (uint16_t)rnd();
	char s1[DIME_ADDR_STRLEN], s2[DIME_ADDR_STRLEN];
	int fd, len, err = 0, rc = 1;

	if (handoff_check(o) < 0)
		return usage();
	if (load_key(o->key, &key) < 0)
		return 1;
	len = encode_request(type, seq, &o->host_id, &o->new_addr, &o->old_addr, key, counter, msg);
	if (len < 0) {
		fprintf(stderr, "dime-ihmpforge: cannot encode: %s\n", strerror(-len));
		goto out;
	}
	fd = o->spoof ? raw_open(o->dst.family) : udp_open(&o->src, o->port, o->dst.family);
	if (fd < 0)
		goto out;
	for (unsigned int i = 0; i < (o->count ? o->count : 1) && err == 0; i++)
		err = handoff_send_one(o, fd, msg, (size_t)len);
	close(fd);
	if (err < 0) {
		fprintf(stderr, "dime-ihmpforge: send: %s\n", strerror(-err));
		goto out;
	}
	fmt2(&o->new_addr, &o->old_addr, s1, s2);
	printf("sent type=%s bytes=%d seq=%u new=%s old=%s signed=%s counter=%llu", ihmp_type_name(type),
	       len, seq, s1, s2, key ? "yes" : "no", key ? (unsigned long long)counter : 0ull);
	fmt2(&o->src, &o->dst, s1, s2);
	printf(" src=%s dst=%s spoofed=%s count=%u\n", s1, s2, o->spoof ? "yes" : "no",
	       o->count ? o->count : 1);
	rc = 0;
out:
	ihmp_key_free(key);
	return rc;
}

/* ---- flood --------------------------------------------------------------------- */

struct blob {
	uint16_t len;
	uint8_t b[IHMP_MSG_MAX];
};

struct flood {
	struct blob *pool[3];		/* garbage, unsigned, signed */
	unsigned int n[3];
	uint64_t sent[3], own, spoofed, errors;
};

static void net_pick(const struct net *n, struct dime_addr *out)
{
	unsigned int bytes = (unsigned int)dime_addr_len(&n->base);

	*out = n->base;
	for (unsigned int bit = n->len; bit < bytes * 8; bit++)
		if (rnd() & 1)
			out->a.u8[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
}

/* Garbage of four kinds: random bytes; a version-1 header (valid length)
 * over random TLV bytes; a valid message with a wrong length field; a valid
 * message with one byte of its TLVs flipped. */
static void garbage_make(struct blob *g, const struct opts *o)
{
	unsigned int kind = (unsigned int)(rnd() % 4);
	int len;

	if (kind >= 2) {
		len = encode_request(IHMP_HANDOFF, (uint16_t)rnd(), &o->host_id, &o->own,
				     &o->host_id, NULL, 0, g->b);
		if (len > 0) {
			g->len = (uint16_t)len;
			if (kind == 2)
				put16(g->b + 6, (uint16_t)(len + 1 + rnd() % 64));
			else
				g->b[IHMP_HDR_LEN + rnd() % (unsigned int)(len - IHMP_HDR_LEN)] ^=
					(uint8_t)(1 + rnd() % 255);
			return;
		}
	}
	g->len = (uint16_t)(1 + rnd() % 300);
	for (unsigned int i = 0; i < g->len; i++)
		g->b[i] = (uint8_t)rnd();
	if (kind == 1 && g->len >= IHMP_HDR_LEN) {
		g->b[0] = IHMP_VERSION;
		g->b[1] = (uint8_t)(1 + rnd() % IHMP_TYPE_MAX);
		g->b[2] = g->b[3] = 0;
		put16(g->b + 6, g->len);
	}
}

/* Unsigned and signed HANDOFFs for HOST_ID host_id: old = host_id, new = a
 * spoofable address (the attacker's own when it has no prefixes). */
static int handoff_make(struct blob *h, const struct opts *o, const struct ihmp_key *key,
			uint64_t counter)
{
	struct dime_addr nw = o->own;
	int len;

	if (o->n_nets)
		net_pick(&o->nets[rnd() % o->n_nets], &nw);
	if (dime_addr_eq(&nw, &o->host_id) || nw.family != o->host_id.family)
		nw = o->dst;	/* any other address of the family decodes */
	len = encode_request(IHMP_HANDOFF, (uint16_t)rnd(), &o->host_id, &nw, &o->host_id, key,
			     counter, h->b);
	if (len < 0)
		return len;
	h->len = (uint16_t)len;
	return 0;
}

static int flood_pools(struct flood *f, const struct opts *o, const struct ihmp_key *key)
{
	uint64_t counter = wall_us();

	for (int k = 0; k < 3; k++) {
		f->pool[k] = calloc(POOL, sizeof(struct blob));
		if (!f->pool[k])
			return -ENOMEM;
	}
	for (unsigned int i = 0; i < POOL; i++) {
		garbage_make(&f->pool[0][i], o);
		if (handoff_make(&f->pool[1][i], o, NULL, 0) < 0)
			return -EINVAL;
	}
	f->n[0] = f->n[1] = POOL;
	for (unsigned int i = 0; key && i < SIGNED_POOL; i++)
		if (handoff_make(&f->pool[2][i], o, key, counter + i) < 0)
			return -EINVAL;
	f->n[2] = key ? SIGNED_POOL : 0;
	return 0;
}

static unsigned int flood_kind(const struct flood *f, const struct opts *o)
{
	unsigned int w[3], total = 0, r;

	for (int k = 0; k < 3; k++) {
		w[k] = f->n[k] ? o->mix[k] : 0;
		total += w[k];
	}
	r = (unsigned int)(rnd() % (total ? total : 1));
	for (unsigned int k = 0; k < 3; k++) {
		if (r < w[k])
			return k;
		r -= w[k];
	}
	return 0;
}

static void flood_src(struct flood *f, const struct opts *o, struct dime_addr *src)
{
	if (!o->n_nets || (dime_addr_is_set(&o->own) && rnd() % 100 < o->own_share)) {
		*src = o->own;
		f->own++;
		return;
	}
	net_pick(&o->nets[rnd() % o->n_nets], src);
	f->spoofed++;
}

/* Build and send n packets in one sendmmsg. */
static void flood_batch(struct flood *f, const struct opts *o, int fd, unsigned int n)
{
	static uint8_t pkts[BATCH][PKT_MAX];
	static struct mmsghdr mh[BATCH];
	static struct iovec iov[BATCH];
	static struct sockaddr_storage ss;
	socklen_t sl = dime_addr_to_sockaddr(&o->dst, 0, &ss);
	unsigned int kinds[BATCH], built = 0;
	int r;

	for (unsigned int i = 0; i < n; i++) {
		struct dime_addr src;
		unsigned int k = flood_kind(f, o);
		const struct blob *b = &f->pool[k][rnd() % f->n[k]];
		size_t len;

		flood_src(f, o, &src);
		len = build_packet(pkts[built], &src, o->port, &o->dst, o->port, b->b, b->len);
		if (len == 0)
			continue;
		iov[built] = (struct iovec){ pkts[built], len };
		mh[built].msg_hdr = (struct msghdr){ .msg_name = &ss, .msg_namelen = sl,
						     .msg_iov = &iov[built], .msg_iovlen = 1 };
		kinds[built++] = k;
	}
	r = built ? sendmmsg(fd, mh, built, 0) : 0;
	if (r < 0) {
		f->errors += built;
		return;
	}
	for (int i = 0; i < r; i++)
		f->sent[kinds[i]]++;
	f->errors += built - (unsigned int)r;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / NS), (long)(ns % NS) };

	nanosleep(&ts, NULL);
}

static void flood_run(struct flood *f, const struct opts *o, int fd)
{
	uint64_t start = now_ns(CLOCK_MONOTONIC), t, total, target;

	for (;;) {
		t = now_ns(CLOCK_MONOTONIC) - start;
		if (stop || t >= (uint64_t)(o->seconds * NS))
			break;
		target = (uint64_t)(o->rate * (double)t / NS);
		total = f->sent[0] + f->sent[1] + f->sent[2] + f->errors;
		if (target > total)
			flood_batch(f, o, fd, target - total > BATCH ? BATCH : (unsigned int)(target - total));
		else
			sleep_ns(NS / 2000);	/* 0.5 ms: the pacing step */
	}
}

static int cmd_flood(const struct opts *o)
{
	struct flood f = { 0 };
	struct ihmp_key *key;
	uint64_t t0;
	int fd, rc = 1;

	if (!dime_addr_is_set(&o->dst) || !dime_addr_is_set(&o->host_id) || o->rate <= 0 ||
	    o->seconds <= 0 || (!o->n_nets && !dime_addr_is_set(&o->own)))
		return usage();
	for (unsigned int i = 0; i < o->n_nets; i++)
		if (o->nets[i].base.family != o->dst.family)
			return usage();
	if (load_key(o->key, &key) < 0)
		return 1;
	if (flood_pools(&f, o, key) < 0) {
		fprintf(stderr, "dime-ihmpforge: cannot build the message pools\n");
		goto out;
	}
	if ((fd = raw_open(o->dst.family)) < 0)
		goto out;
	t0 = now_ns(CLOCK_MONOTONIC);
	flood_run(&f, o, fd);
	close(fd);
	printf("flood sent=%llu garbage=%llu unsigned=%llu signed=%llu own=%llu spoofed=%llu "
	       "errors=%llu seconds=%.2f\n",
	       (unsigned long long)(f.sent[0] + f.sent[1] + f.sent[2]), (unsigned long long)f.sent[0],
	       (unsigned long long)f.sent[1], (unsigned long long)f.sent[2],
	       (unsigned long long)f.own, (unsigned long long)f.spoofed,
	       (unsigned long long)f.errors, (double)(now_ns(CLOCK_MONOTONIC) - t0) / NS);
	rc = 0;
out:
	for (int k = 0; k < 3; k++)
		free(f.pool[k]);
	ihmp_key_free(key);
	return rc;
}

/* ---- capture and replay ----------------------------------------------------------- */

/* The offset of the UDP header of an IHMP datagram to port, or 0 when pkt
 * (len bytes, an IP packet) is something else. */
static size_t ihmp_udp_off(const uint8_t *pkt, size_t len, uint16_t port)
{
	size_t off;

	if (len >= 20 && (pkt[0] >> 4) == 4) {
		off = (size_t)(pkt[0] & 0x0f) * 4;
		/* neither a fragment nor a packet with more to come */
		if (off < 20 || pkt[9] != UDP_PROTO || (pkt[6] & 0x3f) || pkt[7])
			return 0;
	} else if (len >= 40 && (pkt[0] >> 4) == 6) {
		off = 40;
		if (pkt[6] != UDP_PROTO)
			return 0;
	} else {
		return 0;
	}
	if (len < off + 8 + IHMP_HDR_LEN || ((uint16_t)pkt[off + 2] << 8 | pkt[off + 3]) != port ||
	    pkt[off + 8] != IHMP_VERSION)
		return 0;
	return off;
}

static bool capture_wanted(const struct opts *o, const uint8_t *pkt, size_t len, size_t off)
{
	struct dime_addr d;

	if (o->type && pkt[off + 9] != o->type)
		return false;
	if (!dime_addr_is_set(&o->dst))
		return true;
	if ((pkt[0] >> 4) == 4)
		dime_addr_from_v4(&d, pkt + 16);
	else
		dime_addr_from_v6(&d, pkt + 24);
	(void)len;
	return dime_addr_eq(&d, &o->dst);
}

static int capture_open(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd;

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (sll.sll_ifindex == 0) {
		fprintf(stderr, "dime-ihmpforge: no interface \"%s\"\n", ifname);
		return -1;
	}
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "dime-ihmpforge: packet socket on %s: %s\n", ifname, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void capture_log(unsigned int n, const uint8_t *pkt, size_t len, size_t off)
{
	struct dime_addr s, d;
	char ss[DIME_ADDR_STRLEN], ds[DIME_ADDR_STRLEN];

	if ((pkt[0] >> 4) == 4) {
		dime_addr_from_v4(&s, pkt + 12);
		dime_addr_from_v4(&d, pkt + 16);
	} else {
		dime_addr_from_v6(&s, pkt + 8);
		dime_addr_from_v6(&d, pkt + 24);
	}
	struct ihmp_msg m;
	char kid[2 * IHMP_KEY_ID_LEN + 1] = "-";

	fmt2(&s, &d, ss, ds);
	/* Who signed it: the SIGNATURE's key id, for tests of key changes. */
	if (len > off + 8 && ihmp_decode(pkt + off + 8, len - off - 8, &m) == 0 &&
	    (m.has & IHMP_HAS_SIG))
		for (int i = 0; i < IHMP_KEY_ID_LEN; i++)
			snprintf(kid + 2 * i, 3, "%02x", m.sig.key_id[i]);
	printf("pkt n=%u len=%zu type=%s src=%s dst=%s keyid=%s\n", n, len,
	       ihmp_type_name(pkt[off + 9]), ss, ds, kid);
	fflush(stdout);
}

static int cmd_capture(const struct opts *o)
{
	uint8_t pkt[65536];
	uint64_t deadline;
	unsigned int n = 0, max = o->count ? o->count : COUNT_MAX;
	FILE *out;
	int fd;

	if (!o->ifname || !o->out || o->seconds <= 0)
		return usage();
	if ((fd = capture_open(o->ifname)) < 0)
		return 1;
	if (!(out = fopen(o->out, "wbx"))) {
		fprintf(stderr, "dime-ihmpforge: %s: %s\n", o->out, strerror(errno));
		close(fd);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	deadline = now_ns(CLOCK_MONOTONIC) + (uint64_t)(o->seconds * NS);
	while (!stop && n < max) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t len;
		size_t off;
		uint8_t hdr[2];

		if (now >= deadline)
			break;
		if (poll(&p, 1, (int)((deadline - now) / 1000000 + 1)) <= 0)
			continue;
		len = recv(fd, pkt, sizeof(pkt), MSG_DONTWAIT);
		if (len <= 0 || !(off = ihmp_udp_off(pkt, (size_t)len, o->port)) ||
		    !capture_wanted(o, pkt, (size_t)len, off) || len > PKT_MAX)
			continue;
		put16(hdr, (uint16_t)len);
		if (fwrite(hdr, 2, 1, out) != 1 || fwrite(pkt, (size_t)len, 1, out) != 1 ||
		    fflush(out) != 0) {
			fprintf(stderr, "dime-ihmpforge: %s: write failed\n", o->out);
			break;
		}
		capture_log(++n, pkt, (size_t)len, off);
	}
	fclose(out);
	close(fd);
	printf("captured n=%u\n", n);
	return 0;
}

/* Next record of a capture file into pkt: its length, 0 at the end, -1 on
 * a damaged file. */
static ssize_t replay_next(FILE *in, uint8_t *pkt)
{
	uint8_t hdr[2];
	size_t len;

	if (fread(hdr, 2, 1, in) != 1)
		return 0;
	len = (size_t)hdr[0] << 8 | hdr[1];
	if (len < 28 || len > PKT_MAX || fread(pkt, len, 1, in) != 1)
		return -1;
	return (ssize_t)len;
}

static int cmd_replay(const struct opts *o)
{
	uint8_t pkt[PKT_MAX];
	int fd[2] = { -1, -1 }, rc = 0;
	unsigned int n = 0;
	ssize_t len;
	FILE *in;

	if (!o->in)
		return usage();
	if (!(in = fopen(o->in, "rb"))) {
		fprintf(stderr, "dime-ihmpforge: %s: %s\n", o->in, strerror(errno));
		return 1;
	}
	while ((len = replay_next(in, pkt)) > 0) {
		int v6 = (pkt[0] >> 4) == 6;
		size_t off = ihmp_udp_off(pkt, (size_t)len, o->port);

		if (!off || (fd[v6] < 0 && (fd[v6] = raw_open(v6 ? AF_INET6 : AF_INET)) < 0)) {
			rc = 1;
			break;
		}
		udp_fix_csum(pkt, off, (size_t)len - off);
		for (unsigned int i = 0; i < (o->count ? o->count : 1); i++) {
			if (raw_send(fd[v6], pkt, (size_t)len) < 0) {
				fprintf(stderr, "dime-ihmpforge: replay: %s\n", strerror(errno));
				rc = 1;
			}
		}
		capture_log(++n, pkt, (size_t)len, off);
	}
	if (len < 0) {
		fprintf(stderr, "dime-ihmpforge: %s: damaged record\n", o->in);
		rc = 1;
	}
	fclose(in);
	for (int i = 0; i < 2; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	printf("replayed n=%u\n", n);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct sigaction sa = { .sa_handler = on_signal };

	if (parse_args(argc, argv, &o) < 0)
		return usage();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rnd_seed();
	switch (o.cmd) {
	case CMD_KEYGEN: return cmd_keygen(&o);
	case CMD_HANDOFF: return cmd_handoff(&o);
	case CMD_FLOOD: return cmd_flood(&o);
	case CMD_CAPTURE: return cmd_capture(&o);
	case CMD_REPLAY: return cmd_replay(&o);
	default: return usage();
	}
}
