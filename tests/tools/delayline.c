// SPDX-License-Identifier: BSD-2-Clause
/*
 * dime-delayline: a one-way delay line for the netns testbed, standing in for
 * netem (absent from this kernel). The router namespace sends every forwarded
 * packet to one NFQUEUE; this program holds each packet for a fixed delay and
 * then accepts it. Only metadata is copied (NFQNL_COPY_META) and GSO packets
 * stay whole (NFQA_CFG_F_GSO), so the cost is per packet, not per byte.
 *
 * One process serves one queue. The testbed may queue both directions to one
 * queue (the same delay each way) or run one instance per direction with a
 * queue each (iptables -i/-o picks the queue) for asymmetric delays.
 *
 * Verdict policy, written once: every packet is accepted, never dropped.
 * Packets leave in arrival order through NFQNL_MSG_VERDICT_BATCH, which
 * accepts every id up to the given one that is still queued. That is exact
 * here because arrival order is id order: the kernel numbers a packet and
 * unicasts its message under the same queue lock (__nfqnl_enqueue_packet), so
 * messages reach our socket in id order, and the delay is the same for all,
 * so the FIFO releases ids in increasing order. The only ids below a batch's
 * last id that are not in our FIFO are ones already accepted (a packet we
 * could not hold), ids the kernel never queued (socket full: it numbers the
 * packet, fails the unicast and drops it; we count these as id gaps) and a
 * message we could not parse; the batch is harmless to the first two and
 * releases the third, which would otherwise stay queued for ever. At exit (SIGTERM/SIGINT or a
 * fatal error) the queue is first switched to fail-open with a length of 0,
 * so the kernel accepts new packets itself, then everything held is accepted
 * and the queue unbound: no packet is left to the kernel's drop on unbind.
 * If the process is killed outright the kernel drops what was held; use
 * `--queue-bypass` on the iptables rule so traffic passes while no delay
 * line is bound.
 */
#include "delayline_core.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define PROG "dime-delayline"

#define DL_RX_SLOTS 128			/* messages per recvmmsg() */
#define DL_RX_SLOT_SIZE 2048		/* a metadata-only message is < 300 bytes */
#define DL_RX_ROUNDS 8			/* recvmmsg() calls before releasing again */
#define DL_TX_SIZE (64 * 1024)		/* verdicts sent in one sendto() */
#define DL_TX_MSG_MAX 64		/* one verdict message, rounded up */
#define DL_RCVBUF (64 * 1024 * 1024)
#define DL_EARLY_NS 10000		/* release up to 10 us early rather than sleep again */
#define DL_ACK_TIMEOUT_MS 2000
#define DL_MAXLEN_DEFAULT 65536
#define DL_MAXLEN_MAX (1u << 22)
#define DL_TX_RETRIES 200		/* 100 us apart: 20 ms of ENOBUFS before giving up */
#define DL_PROC_QUEUE "/proc/net/netfilter/nfnetlink_queue"

struct dl_opts {
	uint16_t queue;
	uint64_t delay_ns;
	uint32_t maxlen;
	uint32_t rt_prio;	/* SCHED_FIFO priority, 0 for none */
	bool verbose;
};

struct dl_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t with_len;	/* packets whose length the kernel told us */
	uint64_t on_time;	/* released by the clock */
	uint64_t at_exit;	/* released early because we were stopping */
	int64_t err_min_ns;
	int64_t err_max_ns;
	int64_t err_sum_ns;
	uint64_t late;
	uint32_t max_held;
	uint64_t overflow;	/* could not be held: accepted at once */
	uint64_t batches;
	uint64_t verdict_errors;
	uint64_t rx_overruns;
	uint64_t rx_truncated;
	uint64_t bad_msgs;
};

/*
 * Per-interval figures for -v. The send time matters: an accepted packet is
 * forwarded, and often received by the next namespace, inside our sendto().
 */
struct dl_interval {
	uint64_t next_ns;
	uint64_t packets;
	int64_t err_max_ns;
	uint64_t tx_max_ns;
	uint64_t rx_max_ns;
};

struct dl_ctx {
	struct dl_opts o;
	struct mnl_socket *nl;
	int fd;
	struct dl_fifo fifo;
	struct dl_seq seq;
	struct dl_lat lat;
	struct dl_stats st;
	struct dl_interval iv;
	struct mmsghdr *rx_msgs;
	struct iovec *rx_iov;
	char *rx_buf;
	char *tx_buf;
	size_t tx_len;
	bool bound;
	uint32_t next_seq;
	uint32_t cfg_seq;	/* sequence number of the config request awaiting its ack */
	bool cfg_acked;
	int cfg_error;
	sigset_t wait_mask;	/* signal mask while sleeping: SIGTERM/SIGINT open */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

__attribute__((format(printf, 1, 2)))
static void warnx_(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double delay_ms(const struct dl_opts *o)
{
	return (double)o->delay_ns / 1e6;
}

/* ---- sending ---------------------------------------------------------- */

/*
 * Sends the queued verdicts in one sendto(). A send to the kernel fails only
 * when it cannot allocate (ENOBUFS/ENOMEM); the verdicts are then kept and
 * retried briefly, since dropping one would leave its packet queued.
 */
static int tx_flush(struct dl_ctx *c)
{
	int tries;

	if (!c->tx_len)
		return 0;
	for (tries = 0; tries < DL_TX_RETRIES; tries++) {
		uint64_t t0 = mono_ns();

		if (mnl_socket_sendto(c->nl, c->tx_buf, c->tx_len) >= 0) {
			t0 = mono_ns() - t0;
			if (t0 > c->iv.tx_max_ns)
				c->iv.tx_max_ns = t0;
			c->tx_len = 0;
			return 0;
		}
		if (errno != ENOBUFS && errno != ENOMEM && errno != EAGAIN && errno != EINTR)
			break;
		usleep(100);
	}
	warnx_("queue %u: sending verdicts: %s", c->o.queue, strerror(errno));
	return -errno;
}

static int tx_verdict(struct dl_ctx *c, int type, uint32_t id)
{
	struct nlmsghdr *nlh;
	int err;

	if (c->tx_len + DL_TX_MSG_MAX > DL_TX_SIZE) {
		err = tx_flush(c);
		if (err)
			return err;
	}
	nlh = nfq_nlmsg_put(c->tx_buf + c->tx_len, type, c->o.queue);
	nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
	c->tx_len += nlh->nlmsg_len;
	return 0;
}

/* ---- receiving -------------------------------------------------------- */

static void on_packet(struct dl_ctx *c, const struct nlmsghdr *nlh, uint64_t now)
{
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	const struct nfqnl_msg_packet_hdr *ph;
	uint32_t id, len = 0;

	if (nfq_nlmsg_parse(nlh, attr) != MNL_CB_OK || !attr[NFQA_PACKET_HDR] ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph)) {
		/* No id, so no verdict possible; the next batch verdict covers it. */
		c->st.bad_msgs++;
		return;
	}
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	/*
	 * The kernel reports the length (CAP_LEN) only when it copies payload,
	 * so in META mode bytes stay unknown; kept for a kernel that sends it.
	 */
	if (attr[NFQA_CAP_LEN])
		len = ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN]));
	else if (attr[NFQA_PAYLOAD])
		len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);

	dl_seq_note(&c->seq, id);
	c->st.packets++;
	c->st.bytes += len;
	c->st.with_len += len != 0;
	c->iv.packets++;
	if (dl_fifo_push(&c->fifo, id, len, now + c->o.delay_ns) != 0) {
		/* Cannot hold it (memory): let it through undelayed rather than drop. */
		c->st.overflow++;
		(void)tx_verdict(c, NFQNL_MSG_VERDICT, id);
		return;
	}
	if (c->fifo.count > c->st.max_held)
		c->st.max_held = c->fifo.count;
}

static void on_nlerror(struct dl_ctx *c, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		c->st.bad_msgs++;
		return;
	}
	if (c->cfg_seq && nlh->nlmsg_seq == c->cfg_seq) {
		c->cfg_acked = true;
		c->cfg_error = e->error;
		return;
	}
	if (e->error == 0)
		return;
	/* Verdicts carry sequence 0 and no ack flag: only failures come back. */
	if (c->st.verdict_errors++ == 0)
		warnx_("queue %u: verdict refused: %s (counted, only the first is shown)",
		       c->o.queue, strerror(-e->error));
}

static void on_buffer(struct dl_ctx *c, const char *buf, int len, uint64_t now)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (nlh->nlmsg_type == NLMSG_ERROR)
			on_nlerror(c, nlh);
		else if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
			on_packet(c, nlh, now);
		else if (nlh->nlmsg_type != NLMSG_NOOP && nlh->nlmsg_type != NLMSG_DONE)
			c->st.bad_msgs++;
	}
}

/*
 * One recvmmsg(): returns the number of datagrams read, 0 when the socket is
 * empty, -errno on a real error. Every datagram of one call shares one
 * arrival time, taken right after the call returns.
 */
static int rx_round(struct dl_ctx *c)
{
	uint64_t now;
	int i, n;

	n = recvmmsg(c->fd, c->rx_msgs, DL_RX_SLOTS, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno == ENOBUFS) {
			/* Only without NETLINK_NO_ENOBUFS: messages were lost, go on. */
			c->st.rx_overruns++;
			return 1;
		}
		warnx_("queue %u: receiving: %s", c->o.queue, strerror(errno));
		return -errno;
	}
	now = mono_ns();
	for (i = 0; i < n; i++) {
		if (c->rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
			c->st.rx_truncated++;
		on_buffer(c, c->rx_buf + (size_t)i * DL_RX_SLOT_SIZE,
			  (int)c->rx_msgs[i].msg_len, now);
	}
	return n;
}

static int rx_drain(struct dl_ctx *c, int rounds)
{
	int i, n;

	for (i = 0; i < rounds; i++) {
		n = rx_round(c);
		if (n < 0)
			return n;
		if (n < DL_RX_SLOTS)
			break;
	}
	return 0;
}

/* ---- configuration ---------------------------------------------------- */

/*
 * Sends one config request with an ack and waits for the ack, handling any
 * packets that arrive meanwhile (they do, right after the bind).
 */
static int cfg_request(struct dl_ctx *c, struct nlmsghdr *nlh, const char *what)
{
	uint64_t deadline = mono_ns() + (uint64_t)DL_ACK_TIMEOUT_MS * 1000000u;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int err;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = c->cfg_seq = ++c->next_seq;
	c->cfg_acked = false;
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		goto fail;
	}
	while (!c->cfg_acked) {
		uint64_t now = mono_ns();
		int ms;

		if (now >= deadline) {
			err = -ETIMEDOUT;
			goto fail;
		}
		ms = (int)((deadline - now) / 1000000u) + 1;
		if (poll(&pfd, 1, ms) < 0 && errno != EINTR) {
			err = -errno;
			goto fail;
		}
		err = rx_drain(c, DL_RX_ROUNDS);
		if (err)
			goto fail;
	}
	c->cfg_seq = 0;
	if (c->cfg_error) {
		err = c->cfg_error;
		goto fail;
	}
	return 0;
fail:
	c->cfg_seq = 0;
	warnx_("queue %u: %s: %s", c->o.queue, what, strerror(-err));
	return err;
}

static int cfg_bind(struct dl_ctx *c)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int err;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, c->o.queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	err = cfg_request(c, nlh, "bind (is another program bound to this queue?)");
	if (err)
		return err;
	c->bound = true;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, c->o.queue);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_META, 0);
	err = cfg_request(c, nlh, "set copy mode META");
	if (err)
		return err;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, c->o.queue);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
	err = cfg_request(c, nlh, "set flag GSO");
	if (err)
		return err;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, c->o.queue);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, c->o.maxlen);
	return cfg_request(c, nlh, "set queue maxlen");
}

/*
 * From here on the kernel accepts new packets itself (fail-open on a queue
 * of length 0), so after the ack every packet still queued is one whose
 * message we have read: the kernel updates the queue under the same lock it
 * enqueues under, so all earlier messages precede the ack on the socket.
 */
static int cfg_fail_open(struct dl_ctx *c)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, c->o.queue);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
	nfq_nlmsg_cfg_put_qmaxlen(nlh, 0);
	return cfg_request(c, nlh, "switch to fail-open for exit");
}

static int cfg_unbind(struct dl_ctx *c)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, c->o.queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_UNBIND);
	return cfg_request(c, nlh, "unbind");
}

static int sock_open(struct dl_ctx *c)
{
	int one = 1, size = DL_RCVBUF;

	c->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!c->nl) {
		warnx_("queue %u: netlink socket: %s", c->o.queue, strerror(errno));
		return -errno;
	}
	if (mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		warnx_("queue %u: netlink bind: %s", c->o.queue, strerror(errno));
		return -errno;
	}
	c->fd = mnl_socket_get_fd(c->nl);
	/* FORCE passes net.core.rmem_max (needs CAP_NET_ADMIN, which we have as root). */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		warnx_("queue %u: receive buffer of %d bytes: %s", c->o.queue, size,
		       strerror(errno));
	/* An overrun shows up as id gaps instead of a receive error. */
	if (mnl_socket_setsockopt(c->nl, NETLINK_NO_ENOBUFS, &one, sizeof(one)) < 0)
		warnx_("queue %u: NETLINK_NO_ENOBUFS: %s", c->o.queue, strerror(errno));
	return 0;
}

/* ---- the loop --------------------------------------------------------- */

static void stats_add(struct dl_stats *st, const struct dl_batch *b)
{
	if (b->err_min_ns < st->err_min_ns)
		st->err_min_ns = b->err_min_ns;
	if (b->err_max_ns > st->err_max_ns)
		st->err_max_ns = b->err_max_ns;
	st->err_sum_ns += b->err_sum_ns;
	st->late += b->late;
	st->on_time += b->count;
	st->batches++;
}

/* The window around "due" in which a packet goes now: see struct dl_lat. */
static uint64_t early_ns(const struct dl_ctx *c)
{
	return (uint64_t)c->lat.est_ns + DL_EARLY_NS;
}

static int release_due(struct dl_ctx *c, uint64_t now)
{
	struct dl_batch b;

	if (!dl_fifo_release(&c->fifo, now, early_ns(c), &b))
		return 0;
	stats_add(&c->st, &b);
	if (b.err_max_ns > c->iv.err_max_ns)
		c->iv.err_max_ns = b.err_max_ns;
	return tx_verdict(c, NFQNL_MSG_VERDICT_BATCH, b.last_id);
}

static void report_interval(struct dl_ctx *c, uint64_t now)
{
	if (!c->o.verbose || now < c->iv.next_ns)
		return;
	warnx_("queue %u: held=%u pkts/s=%" PRIu64 " hold_err_us_max=%.1f wake_late_us=%.1f"
	       " send_us_max=%.1f recv_us_max=%.1f id_gaps=%" PRIu64, c->o.queue,
	       c->fifo.count, c->iv.packets, (double)c->iv.err_max_ns / 1e3,
	       (double)c->lat.est_ns / 1e3, (double)c->iv.tx_max_ns / 1e3,
	       (double)c->iv.rx_max_ns / 1e3, c->seq.gaps);
	c->iv.packets = 0;
	c->iv.err_max_ns = 0;
	c->iv.tx_max_ns = 0;
	c->iv.rx_max_ns = 0;
	c->iv.next_ns = now + 1000000000u;
}

/*
 * The sleep: until the head is due (less the expected lateness of the
 * wake-up), or a packet or signal comes. A wake-up by the timer alone
 * measures that lateness.
 */
static int wait_events(struct dl_ctx *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	struct timespec ts, *tsp = NULL;
	uint64_t now = mono_ns(), target = 0;
	int r;

	if (dl_fifo_wait(&c->fifo, now, early_ns(c), &ts))
		tsp = &ts;
	if (c->o.verbose && (!tsp || now + (uint64_t)ts.tv_sec * 1000000000u +
			     (uint64_t)ts.tv_nsec > c->iv.next_ns)) {
		uint64_t left = c->iv.next_ns > now ? c->iv.next_ns - now : 0;

		ts.tv_sec = (time_t)(left / 1000000000u);
		ts.tv_nsec = (long)(left % 1000000000u);
		tsp = &ts;
	}
	if (tsp)
		target = now + (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	r = ppoll(&pfd, 1, tsp, &c->wait_mask);
	if (r == 0 && target > now)
		dl_lat_note(&c->lat, (int64_t)(mono_ns() - target));
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r > 0 && (pfd.revents & (POLLIN | POLLERR))) {
		uint64_t t0 = mono_ns();

		r = rx_drain(c, DL_RX_ROUNDS);
		t0 = mono_ns() - t0;
		if (t0 > c->iv.rx_max_ns)
			c->iv.rx_max_ns = t0;
		return r;
	}
	return 0;
}

static int run(struct dl_ctx *c)
{
	int err;

	while (!stop_signal) {
		uint64_t now = mono_ns();

		err = release_due(c, now);
		if (!err)
			err = tx_flush(c);
		if (err)
			return err;
		report_interval(c, now);
		err = wait_events(c);
		if (err) {
			warnx_("queue %u: waiting: %s", c->o.queue, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Kernel counters for our queue, read before the unbind removes them. */
static int read_kstats(uint16_t queue, struct dl_kstats *ks)
{
	char line[256];
	FILE *f = fopen(DL_PROC_QUEUE, "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (dl_parse_kstats_line(line, ks) == 0 && ks->queue == queue) {
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

/*
 * Exit path: fail-open first (see the top comment), then accept everything
 * held, then unbind. Returns 0 if the kernel counters could be read.
 */
static int shutdown_queue(struct dl_ctx *c, struct dl_kstats *ks)
{
	struct dl_batch b;
	int kerr;

	cfg_fail_open(c);
	rx_drain(c, 1000);
	kerr = read_kstats(c->o.queue, ks);
	if (dl_fifo_drain(&c->fifo, &b)) {
		c->st.at_exit += b.count;
		tx_verdict(c, NFQNL_MSG_VERDICT_BATCH, b.last_id);
	}
	tx_flush(c);
	cfg_unbind(c);
	return kerr;
}

static void print_stats(const struct dl_ctx *c, const struct dl_kstats *ks, bool have_ks)
{
	const struct dl_stats *st = &c->st;
	double n = (double)(st->on_time ? st->on_time : 1);
	char kd[32] = "n/a", kud[32] = "n/a", bytes[32] = "n/a";

	if (st->with_len)
		snprintf(bytes, sizeof(bytes), "%" PRIu64, st->bytes);
	if (have_ks) {
		snprintf(kd, sizeof(kd), "%u", ks->dropped);
		snprintf(kud, sizeof(kud), "%u", ks->user_dropped);
	}
	printf(PROG ": stats queue=%u delay_ms=%g packets=%" PRIu64 " bytes=%s"
	       " released_on_time=%" PRIu64 " released_at_exit=%" PRIu64
	       " hold_err_us_min=%.1f hold_err_us_mean=%.1f hold_err_us_max=%.1f"
	       " late_over_1ms=%" PRIu64 " wake_late_us=%.1f max_held=%u batches=%" PRIu64
	       " overflow=%" PRIu64 " id_gaps=%" PRIu64 " verdict_errors=%" PRIu64
	       " bad_msgs=%" PRIu64 " kernel_queue_dropped=%s kernel_user_dropped=%s\n",
	       c->o.queue, delay_ms(&c->o), st->packets, bytes, st->on_time, st->at_exit,
	       st->on_time ? (double)st->err_min_ns / 1e3 : 0.0,
	       (double)st->err_sum_ns / n / 1e3,
	       st->on_time ? (double)st->err_max_ns / 1e3 : 0.0,
	       st->late, (double)c->lat.est_ns / 1e3, st->max_held, st->batches, st->overflow, c->seq.gaps,
	       st->verdict_errors, st->bad_msgs + st->rx_truncated, kd, kud);
	fflush(stdout);
}

/* ---- setup ------------------------------------------------------------ */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " -q QUEUE -d DELAY_MS [-m MAXLEN] [-p PRIO] [-v]\n"
		"Holds every packet of NFQUEUE QUEUE for DELAY_MS milliseconds, then accepts it.\n"
		"  -q, --queue QUEUE    NFQUEUE number, 0..65535 (required)\n"
		"  -d, --delay MS       one-way delay in ms, fractional allowed, 0..%d (required;\n"
		"                       0 passes packets straight through)\n"
		"  -m, --maxlen N       kernel queue length in packets, 1..%u (default %u)\n"
		"  -p, --rt-prio N      run as SCHED_FIFO priority N (1..99) with memory locked:\n"
		"                       keeps the hold error small when traffic loads every CPU\n"
		"  -v, --verbose        one status line per second on stderr\n"
		"  -h, --help           this text\n"
		"Prints '" PROG ": ready queue=N delay_ms=D' on stdout once bound. SIGTERM or\n"
		"SIGINT accepts every held packet, prints one 'stats' line and exits 0.\n",
		DL_DELAY_MAX_MS, DL_MAXLEN_MAX, DL_MAXLEN_DEFAULT);
}

/* Returns 0 to run, 1 for a usage error, 2 after --help. */
static int parse_args(int argc, char **argv, struct dl_opts *o)
{
	static const struct option longopts[] = {
		{ "queue", required_argument, NULL, 'q' },
		{ "delay", required_argument, NULL, 'd' },
		{ "maxlen", required_argument, NULL, 'm' },
		{ "rt-prio", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_q = false, have_d = false;
	uint32_t v;
	int opt;

	o->maxlen = DL_MAXLEN_DEFAULT;
	while ((opt = getopt_long(argc, argv, "q:d:m:p:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			if (have_q) {
				warnx_("-q given twice: one queue per process");
				return 1;
			}
			if (dl_parse_u32(optarg, 0, 65535, &v)) {
				warnx_("-q %s: want a queue number 0..65535", optarg);
				return 1;
			}
			o->queue = (uint16_t)v;
			have_q = true;
			break;
		case 'd':
			if (dl_parse_delay(optarg, &o->delay_ns)) {
				warnx_("-d %s: want milliseconds 0..%d (e.g. 20 or 0.5)", optarg,
				       DL_DELAY_MAX_MS);
				return 1;
			}
			have_d = true;
			break;
		case 'm':
			if (dl_parse_u32(optarg, 1, DL_MAXLEN_MAX, &o->maxlen)) {
				warnx_("-m %s: want a queue length 1..%u", optarg, DL_MAXLEN_MAX);
				return 1;
			}
			break;
		case 'p':
			if (dl_parse_u32(optarg, 1, 99, &o->rt_prio)) {
				warnx_("-p %s: want a SCHED_FIFO priority 1..99", optarg);
				return 1;
			}
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 2;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		warnx_("unexpected argument '%s'", argv[optind]);
		return 1;
	}
	if (!have_q || !have_d) {
		warnx_("-q and -d are required (see --help)");
		return 1;
	}
	return 0;
}

/*
 * Optional real-time scheduling: on a small machine the traffic generators
 * and softirq forwarding otherwise delay our wake-ups by milliseconds. The
 * loop never spins, so a FIFO priority cannot starve the CPU.
 */
static int realtime_setup(const struct dl_opts *o)
{
	struct sched_param sp = { .sched_priority = (int)o->rt_prio };

	if (!o->rt_prio)
		return 0;
	if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
		warnx_("queue %u: SCHED_FIFO priority %u: %s", o->queue, o->rt_prio,
		       strerror(errno));
		return -errno;
	}
	if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
		warnx_("queue %u: mlockall: %s (going on unlocked)", o->queue, strerror(errno));
	return 0;
}

/* SIGTERM/SIGINT stay blocked except inside ppoll(): no lost wake-up. */
static int signals_setup(struct dl_ctx *c)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
		return -errno;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigprocmask(SIG_BLOCK, &block, &c->wait_mask))
		return -errno;
	sigdelset(&c->wait_mask, SIGTERM);
	sigdelset(&c->wait_mask, SIGINT);
	return 0;
}

static int ctx_init(struct dl_ctx *c)
{
	int i;

	c->fd = -1;
	c->st.err_min_ns = INT64_MAX;
	c->st.err_max_ns = INT64_MIN;
	c->rx_msgs = calloc(DL_RX_SLOTS, sizeof(*c->rx_msgs));
	c->rx_iov = calloc(DL_RX_SLOTS, sizeof(*c->rx_iov));
	c->rx_buf = malloc((size_t)DL_RX_SLOTS * DL_RX_SLOT_SIZE);
	c->tx_buf = malloc(DL_TX_SIZE);
	if (!c->rx_msgs || !c->rx_iov || !c->rx_buf || !c->tx_buf)
		return -ENOMEM;
	for (i = 0; i < DL_RX_SLOTS; i++) {
		c->rx_iov[i].iov_base = c->rx_buf + (size_t)i * DL_RX_SLOT_SIZE;
		c->rx_iov[i].iov_len = DL_RX_SLOT_SIZE;
		c->rx_msgs[i].msg_hdr.msg_iov = &c->rx_iov[i];
		c->rx_msgs[i].msg_hdr.msg_iovlen = 1;
	}
	/* The kernel never queues more than maxlen, so the FIFO never needs more. */
	return dl_fifo_init(&c->fifo, c->o.maxlen);
}

static void ctx_fini(struct dl_ctx *c)
{
	if (c->nl)
		mnl_socket_close(c->nl);
	dl_fifo_fini(&c->fifo);
	free(c->rx_msgs);
	free(c->rx_iov);
	free(c->rx_buf);
	free(c->tx_buf);
}

int main(int argc, char **argv)
{
	struct dl_ctx c = { 0 };
	struct dl_kstats ks = { 0 };
	int err, have_ks;

	err = parse_args(argc, argv, &c.o);
	if (err)
		return err == 2 ? 0 : 1;
	/* Default timer slack (50 us) would be most of our error budget. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	err = ctx_init(&c);
	if (err) {
		warnx_("queue %u: %s", c.o.queue, strerror(-err));
		goto out;
	}
	err = signals_setup(&c);
	if (!err)
		err = realtime_setup(&c.o);
	if (!err)
		err = sock_open(&c);
	if (!err)
		err = cfg_bind(&c);
	if (err)
		goto out;
	printf(PROG ": ready queue=%u delay_ms=%g\n", c.o.queue, delay_ms(&c.o));
	fflush(stdout);
	err = run(&c);
out:
	if (c.bound) {
		have_ks = shutdown_queue(&c, &ks) == 0;
		print_stats(&c, &ks, have_ks);
	}
	ctx_fini(&c);
	return err ? 1 : 0;
}
