// SPDX-License-Identifier: BSD-2-Clause
/*
 * dime-nfq-echo: binds one NFQUEUE through dimed's nfq module and answers
 * every packet without changing it, to measure what the module costs.
 * Mode "accept" returns plain accepts; mode "touch" reads and rewrites the
 * first byte of each payload with its own value and returns the payload,
 * so every packet takes the rewritten-verdict path (copy back to the
 * kernel, nfqnl_mangle) with identical bytes; mode "drop" drops all.
 *
 * A rewritten verdict makes the kernel treat the checksum as final
 * (nfqnl_mangle sets CHECKSUM_NONE), so touch mode completes the L4
 * checksum of packets flagged NFQA_SKB_CSUMNOTREADY that are not GSO, as
 * dimed's rewrite has to; GSO TCP packets are finished by the kernel's
 * segmenter. Packets it cannot complete (fragments, IPv6 extension headers,
 * other protocols) and packets copied short are accepted unchanged and
 * counted as untouchable.
 *
 * The loop is a plain ppoll() with SIGTERM/SIGINT open only while waiting:
 * at a signal it prints one stats line and exits 0 (nfqio_close answers what
 * is still queued).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nfnetlink_queue.h>

#include "dime/log.h"
#include "dime/nfq.h"

#define PROG "dime-nfq-echo"

enum echo_mode { ECHO_ACCEPT, ECHO_TOUCH, ECHO_DROP };

static const char *const mode_names[] = {
	[ECHO_ACCEPT] = "accept",
	[ECHO_TOUCH] = "touch",
	[ECHO_DROP] = "drop",
};

struct echo {
	enum echo_mode mode;
	uint16_t queue;
	struct nfqio_config cfg;
	uint64_t untouchable;	/* touch mode: cap 0, accepted unchanged */
	uint64_t csum_notready;
	uint32_t max_len;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* Ones-complement sum of big-endian 16-bit words (odd byte padded). */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * Writes the final TCP, UDP or ICMPv6 checksum over the whole packet in
 * place of the pseudo-header sum the kernel left there. Returns 0, or -1
 * for a packet it does not handle.
 */
static int csum_complete(uint8_t *b, uint32_t len)
{
	uint32_t hlen, l4len, sum;
	unsigned proto, off;

	if (len >= 20 && b[0] >> 4 == 4) {
		hlen = (b[0] & 15u) * 4u;
		if (hlen < 20 || ((b[6] << 8 | b[7]) & 0x3fff))
			return -1;
		l4len = (uint32_t)(b[2] << 8 | b[3]) - hlen;
		proto = b[9];
		sum = sum16(b + 12, 8, 0);
	} else if (len >= 40 && b[0] >> 4 == 6) {
		hlen = 40;
		l4len = (uint32_t)(b[4] << 8 | b[5]);
		proto = b[6];
		sum = sum16(b + 8, 32, 0);
	} else {
		return -1;
	}
	switch (proto) {
	case 6: off = 16; break;
	case 17: off = 6; break;
	case 58: off = 2; break;
	default: return -1;
	}
	if (hlen > len || l4len > len - hlen || l4len < off + 2)
		return -1;
	sum += proto + l4len;
	b[hlen + off] = b[hlen + off + 1] = 0;
	sum = (uint16_t)~fold(sum16(b + hlen, l4len, sum));
	if (proto == 17 && sum == 0)
		sum = 0xffff;
	b[hlen + off] = (uint8_t)(sum >> 8);
	b[hlen + off + 1] = (uint8_t)sum;
	return 0;
}

static enum nfqio_verdict_kind echo_packet(void *ctx, struct nfqio_packet *pkt)
{
	struct echo *e = ctx;

	if (pkt->len > e->max_len)
		e->max_len = pkt->len;
	e->csum_notready += (pkt->skbinfo & NFQA_SKB_CSUMNOTREADY) != 0;
	switch (e->mode) {
	case ECHO_TOUCH:
		if (!pkt->cap || ((pkt->skbinfo & NFQA_SKB_CSUMNOTREADY) &&
				  !(pkt->skbinfo & NFQA_SKB_GSO) &&
				  csum_complete(pkt->payload, pkt->len) < 0)) {
			e->untouchable++;
			return NFQIO_ACCEPT;
		}
		/* A real write, so the page is dirtied as a rewrite would. */
		((volatile uint8_t *)pkt->payload)[0] = pkt->payload[0];
		return NFQIO_ACCEPT_MODIFIED;
	case ECHO_DROP:
		return NFQIO_DROP;
	default:
		return NFQIO_ACCEPT;
	}
}

static void print_stats(const struct echo *e, const struct nfqio *q)
{
	const struct nfqio_stats *s = nfqio_stats(q);
	struct nfqio_kernel_stats ks = { 0 };
	char kd[64] = "kernel_queue_dropped=n/a kernel_user_dropped=n/a";

	if (nfqio_kernel_stats(q, &ks) == 0)
		snprintf(kd, sizeof(kd), "kernel_queue_dropped=%u kernel_user_dropped=%u",
			 ks.queue_dropped, ks.user_dropped);
	printf(PROG ": stats queue=%u mode=%s packets=%" PRIu64 " bytes=%" PRIu64
	       " accepted=%" PRIu64 " modified=%" PRIu64 " dropped=%" PRIu64 " refused=%" PRIu64
	       " untouchable=%" PRIu64 " truncated=%" PRIu64 " gso=%" PRIu64
	       " csum_notready=%" PRIu64 " max_len=%u parse_errors=%" PRIu64
	       " recv_calls=%" PRIu64 " send_calls=%" PRIu64 " max_batch=%u send_errors=%" PRIu64
	       " lost_verdicts=%" PRIu64 " verdict_errors=%" PRIu64 " enobufs=%" PRIu64
	       " id_gaps=%" PRIu64 " %s\n",
	       e->queue, mode_names[e->mode], s->packets, s->bytes, s->accepted, s->modified,
	       s->dropped, s->refused, e->untouchable, s->truncated, s->gso, e->csum_notready,
	       e->max_len, s->parse_errors, s->recv_calls, s->send_calls, s->max_batch,
	       s->send_errors, s->lost_verdicts, s->verdict_errors, s->enobufs, s->kernel_dropped,
	       kd);
	fflush(stdout);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " -q QUEUE [-m accept|touch|drop] [-b BATCH] [-r ROUNDS]\n"
		"       [-l MAXLEN] [-B RCVBUF_BYTES]\n"
		"Answers every packet of NFQUEUE QUEUE through dimed's nfq module.\n"
		"  -q, --queue N     queue number 0..65535 (required)\n"
		"  -m, --mode M      accept (default): plain accept; touch: rewrite each\n"
		"                    payload with identical bytes; drop: drop everything\n"
		"  -b, --batch N     messages per recvmmsg() (default %u)\n"
		"  -r, --rounds N    recvmmsg() calls per wake-up (default %u)\n"
		"  -l, --maxlen N    kernel queue length (default %u)\n"
		"  -B, --rcvbuf N    socket receive buffer in bytes (default %u)\n"
		"Prints '" PROG ": ready queue=N mode=M' once bound; SIGTERM or SIGINT\n"
		"prints one 'stats' line and exits 0.\n",
		NFQIO_BATCH_DEFAULT, NFQIO_ROUNDS_DEFAULT, NFQIO_MAXLEN_DEFAULT, NFQIO_RCVBUF_DEFAULT);
}

static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int parse_mode(const char *s, enum echo_mode *mode)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*mode = (enum echo_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Returns 0 to run, 1 for a usage error, 2 after --help. Ranges: nfqio_open checks. */
static int parse_args(int argc, char **argv, struct echo *e)
{
	static const struct option longopts[] = {
		{ "queue", required_argument, NULL, 'q' },
		{ "mode", required_argument, NULL, 'm' },
		{ "batch", required_argument, NULL, 'b' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "maxlen", required_argument, NULL, 'l' },
		{ "rcvbuf", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_q = false;
	uint32_t v;
	int opt, err = 0;

	while ((opt = getopt_long(argc, argv, "q:m:b:r:l:B:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			err = parse_u32(optarg, 65535, &v);
			e->queue = (uint16_t)v;
			have_q = true;
			break;
		case 'm':
			err = parse_mode(optarg, &e->mode);
			break;
		case 'b':
			err = parse_u32(optarg, UINT32_MAX, &e->cfg.batch);
			break;
		case 'r':
			err = parse_u32(optarg, UINT32_MAX, &e->cfg.rounds);
			break;
		case 'l':
			err = parse_u32(optarg, UINT32_MAX, &e->cfg.maxlen);
			break;
		case 'B':
			err = parse_u32(optarg, UINT32_MAX, &e->cfg.rcvbuf);
			break;
		case 'h':
			usage(stdout);
			return 2;
		default:
			usage(stderr);
			return 1;
		}
		if (err) {
			log_warnx("-%c %s: not a valid value (see --help)", opt, optarg);
			return 1;
		}
	}
	if (optind != argc || !have_q) {
		log_warnx(optind != argc ? "unexpected argument" : "-q is required (see --help)");
		return 1;
	}
	return 0;
}

/* SIGTERM/SIGINT stay blocked except inside ppoll(): no lost wake-up. */
static int signals_setup(sigset_t *wait_mask)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
		return -errno;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigprocmask(SIG_BLOCK, &block, wait_mask))
		return -errno;
	sigdelset(wait_mask, SIGTERM);
	sigdelset(wait_mask, SIGINT);
	return 0;
}

static int run(struct nfqio *q, const sigset_t *wait_mask)
{
	struct pollfd pfd = { .fd = nfqio_fd(q), .events = POLLIN };
	int more = 0;

	while (!stop_signal) {
		if (!more && ppoll(&pfd, 1, NULL, wait_mask) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("queue %u: waiting", nfqio_queue_num(q));
			return -errno;
		}
		more = nfqio_handle_readable(q);
		if (more < 0)
			return more;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct echo e = { .mode = ECHO_ACCEPT };
	struct nfqio *q = NULL;
	sigset_t wait_mask;
	int err;

	log_init(PROG, LOG_LEVEL_INFO);
	nfqio_config_default(&e.cfg);
	err = parse_args(argc, argv, &e);
	if (err)
		return err == 2 ? 0 : 1;
	err = signals_setup(&wait_mask);
	if (err) {
		log_warn_e(err, "signal setup");
		return 1;
	}
	err = nfqio_open(&q, e.queue, &e.cfg, echo_packet, &e);
	if (err)
		return 1;
	printf(PROG ": ready queue=%u mode=%s\n", e.queue, mode_names[e.mode]);
	fflush(stdout);
	err = run(q, &wait_mask);
	print_stats(&e, q);
	nfqio_close(q);
	return err ? 1 : 0;
}
