// SPDX-License-Identifier: BSD-2-Clause
/*
 * dstream: sends and receives byte-verified streams (streamcheck.h) over TCP
 * or UDP, IPv4 or IPv6, for the netns scenarios and the benchmarks.
 *
 *   dstream recv (--tcp|--udp) -p PORT [-b ADDR] [-t MAX_S] [-i IDLE_S] [--max-loss PCT] [-q]
 *   dstream send (--tcp|--udp) -c ADDR -p PORT [-B ADDR] -t SECONDS [-r MBIT] [-l BYTES] [-q]
 *
 * Output is for scripts: one "key=value" line per second and a final
 * "result=" line on stdout; errors on stderr, and the sender also reports
 * each kind of send error on stdout with its time ("error" when it ends the
 * run, "senderr" the first time a UDP send fails with a given errno), so a
 * scenario can tell when the application learnt that its peer was gone. Exit 0 OK, 1 FAIL, 2 usage
 * error or a sender that stalled. All I/O is non-blocking and every wait is
 * a ppoll() with a deadline, so no run outlives its time limits. SIGINT and
 * SIGTERM are blocked except inside ppoll(), which makes them end the run
 * without racing the checks of the flag.
 */
#include "streamcheck.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS			SC_NS_PER_SEC
#define MS			1000000ull
#define END_GRACE_NS		(2 * NS)	/* sender: time to hand over END after -t */
#define END_COPIES		3		/* UDP: END is repeated, it may be lost */
#define END_SPACING_NS		(20 * MS)
#define UDP_LINGER_NS		(250 * MS)	/* receiver: wait for stragglers after END */
#define CONNECT_TIMEOUT_NS	(10 * NS)
#define SEND_BACKOFF_NS		(1 * MS)	/* UDP: pause after a send error */
#define TCP_READ_BUF		(64 * 1024)	/* stays in cache between copy and check */
#define UDP_BATCH		16
#define UDP_RCVBUF		(4 * 1024 * 1024)

enum mode { MODE_NONE, MODE_RECV, MODE_SEND };

/* Why a run ended, other than by the stream's own END. */
enum stop { STOP_NONE, STOP_TIMEOUT, STOP_IDLE, STOP_SIGNAL, STOP_ERROR };

struct opts {
	enum mode mode;
	enum sc_proto proto;
	const char *peer;	/* send -c */
	const char *bind;	/* recv -b, send -B */
	unsigned port;
	double time_s;		/* recv: hard cap; send: how long to send */
	double idle_s;
	double max_loss;
	double rate_mbit;	/* 0: unlimited */
	unsigned block_len;
	unsigned stalls_ms;	/* recv --stalls: report waits this long; 0: none */
	bool quiet;
	unsigned seen;		/* OPT_* bits: which options were given */
};

static volatile sig_atomic_t stop_signal;
static sigset_t wait_mask;	/* the mask inside ppoll(): SIGINT/SIGTERM open */

/* ---- small helpers ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Wall-clock seconds: comparable with `date +%s.%N` in the scripts. */
static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "unknown";
}

static uint64_t sec_to_ns(double s)
{
	return (uint64_t)(s * 1e9);
}

static double mbit_of(uint64_t bytes, uint64_t ns)
{
	return ns ? (double)bytes * 8.0 * 1e3 / (double)ns : 0.0;
}

static const char *proto_name(enum sc_proto proto)
{
	return proto == SC_TCP ? "tcp" : "udp";
}

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void signals_setup(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	/* No SA_RESTART: the only place they arrive is ppoll(), which must return. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);
}

/*
 * Wait for events on fd (or just sleep, fd < 0) until deadline_ns.
 * Returns 1 when ready, 0 at the deadline or on a signal (the callers look
 * at stop_signal and the clock anyway), -errno on failure.
 */
static int wait_fd(int fd, short events, uint64_t deadline_ns)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	uint64_t now = mono_ns();
	uint64_t left = deadline_ns > now ? deadline_ns - now : 0;
	struct timespec ts = { .tv_sec = left / NS, .tv_nsec = left % NS };
	int rc = ppoll(&pfd, 1, &ts, &wait_mask);

	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	return rc > 0;
}

/* Numeric address (with an optional %scope) and port to a sockaddr. */
static int resolve(const char *text, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res;
	char service[8];
	int rc;

	snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(text, service, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "dstream: %s is not a numeric IPv4 or IPv6 address: %s\n",
			text, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* ---- per-second lines ---- */

/* Prints the line of each second as it ends, counting from origin_ns. */
struct ticker {
	uint64_t origin_ns;
	uint64_t next;		/* the second whose line is due next */
	uint64_t total;
	bool quiet;
};

static uint64_t ticker_due(const struct ticker *tk)
{
	return tk->origin_ns + (tk->next + 1) * NS;
}

static void ticker_line(struct ticker *tk, const char *prefix, uint64_t bytes, const char *extra)
{
	tk->total += bytes;
	tk->next++;
	if (tk->quiet)
		return;
	printf("dstream: %st=%llu bytes=%llu mbit=%.2f total=%llu%s\n", prefix,
	       (unsigned long long)tk->next, (unsigned long long)bytes, mbit_of(bytes, NS),
	       (unsigned long long)tk->total, extra);
}

/* ---- receiver ---- */

struct rx {
	const struct opts *o;
	struct streamcheck *sc;
	struct ticker tk;
	uint64_t deadline_ns;	/* -t */
	uint64_t idle_ns;	/* -i */
	uint64_t last_rx_ns;
	uint64_t max_gap_ns;	/* longest wait between two arrivals of data */
	uint64_t max_gap_at_ns;	/* when it began, from the first byte */
	uint8_t *buf;
	size_t buf_len;
};

static void rx_ticks(struct rx *rx, uint64_t now)
{
	const struct sc_stats *st = &rx->sc->st;
	char extra[96];

	if (!st->started)
		return;
	rx->tk.origin_ns = st->first_ns;
	/* Bounded by the seconds elapsed; the loop wakes at every due time. */
	while (now >= ticker_due(&rx->tk)) {
		snprintf(extra, sizeof(extra), " gaps=%llu dups=%llu corrupt=%llu",
			 (unsigned long long)st->gaps, (unsigned long long)st->dups,
			 (unsigned long long)st->corrupt);
		ticker_line(&rx->tk, "", sc_second_bytes(rx->sc, rx->tk.next), extra);
	}
}

/* The next moment the receive loop must look at the clock. */
static uint64_t rx_wake(const struct rx *rx)
{
	uint64_t t = rx->deadline_ns;

	if (rx->sc->st.started) {
		t = min_u64(t, rx->last_rx_ns + rx->idle_ns);
		t = min_u64(t, ticker_due(&rx->tk));
	}
	if (rx->o->proto == SC_UDP && rx->sc->st.end_seen)
		t = min_u64(t, rx->last_rx_ns + UDP_LINGER_NS);
	return t;
}

static enum stop rx_check(struct rx *rx, uint64_t now)
{
	rx_ticks(rx, now);
	if (stop_signal)
		return STOP_SIGNAL;
	if (now >= rx->deadline_ns)
		return STOP_TIMEOUT;
	/* Idle counts only once data has started: before that, -t alone. */
	if (rx->sc->st.started && now >= rx->last_rx_ns + rx->idle_ns)
		return STOP_IDLE;
	return STOP_NONE;
}

/* The wildcard socket: IPv6 with V6ONLY off takes IPv4 too (dual stack);
 * a kernel without IPv6 gets an IPv4 one. */
static int rx_socket_any(int type, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	int zero = 0;
	int fd = socket(AF_INET6, type, 0);

	memset(ss, 0, sizeof(*ss));
	if (fd >= 0) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return fd;
	}
	if (errno != EAFNOSUPPORT)
		return -1;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	*len = sizeof(*s4);
	return socket(AF_INET, type, 0);
}

/* Listening (TCP) or bound (UDP) socket, on -b or on every address. */
static int rx_open(const struct opts *o, unsigned *bound_port)
{
	int type = (o->proto == SC_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, rcvbuf = UDP_RCVBUF;
	int fd;

	if (o->bind) {
		if (resolve(o->bind, o->port, &ss, &len) < 0)
			return -EINVAL;
		fd = socket(ss.ss_family, type, 0);
	} else {
		fd = rx_socket_any(type, o->port, &ss, &len);
	}
	if (fd < 0) {
		fprintf(stderr, "dstream: socket for %s port %u: %s\n", o->bind ? o->bind : "any",
			o->port, strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Best effort: a burst must not overflow the default buffer while we verify. */
	if (o->proto == SC_UDP)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (o->proto == SC_TCP && listen(fd, 1) < 0)) {
		int err = errno;

		fprintf(stderr, "dstream: bind to %s port %u: %s\n", o->bind ? o->bind : "any",
			o->port, strerror(err));
		close(fd);
		return -err;
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* Data arrived at now: note the wait since the previous arrival (the
 * longest one is a hand-off's stall as the application sees it). */
static void rx_arrival(struct rx *rx, uint64_t now)
{
	const struct sc_stats *st = &rx->sc->st;

	if (st->started && now - rx->last_rx_ns > rx->max_gap_ns) {
		rx->max_gap_ns = now - rx->last_rx_ns;
		rx->max_gap_at_ns = rx->last_rx_ns - st->first_ns;
	}
	if (st->started && rx->o->stalls_ms && now - rx->last_rx_ns >= rx->o->stalls_ms * 1000000ull) {
		struct timespec wall;
		uint64_t gap = now - rx->last_rx_ns, began;

		clock_gettime(CLOCK_REALTIME, &wall);
		began = (uint64_t)wall.tv_sec * NS + (uint64_t)wall.tv_nsec - gap;
		printf("dstream: stall wall=%llu.%03llu ms=%.1f\n", (unsigned long long)(began / NS),
		       (unsigned long long)(began % NS / 1000000), gap / 1e6);
		fflush(stdout);
	}
	rx->last_rx_ns = now;
}

static enum stop rx_accept(struct rx *rx, int lfd, int *cfd)
{
	enum stop why;

	/* Bounded by -t: rx_check ends it at the deadline. */
	while ((why = rx_check(rx, mono_ns())) == STOP_NONE) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			*cfd = fd;
			return STOP_NONE;
		}
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
			fprintf(stderr, "dstream: accept on port %u: %s\n", rx->o->port, strerror(errno));
			return STOP_ERROR;
		}
		if (wait_fd(lfd, POLLIN, rx_wake(rx)) < 0)
			return STOP_ERROR;
	}
	return why;
}

/* One connection, verified until the sender closes it. */
static enum stop rx_tcp(struct rx *rx, int lfd)
{
	enum stop why;
	int fd;

	why = rx_accept(rx, lfd, &fd);
	if (why != STOP_NONE)
		return why;
	/* Bounded by -t and -i: rx_check ends it; every pass reads or waits. */
	while ((why = rx_check(rx, mono_ns())) == STOP_NONE) {
		ssize_t n = read(fd, rx->buf, rx->buf_len);
		uint64_t now = mono_ns();

		if (n > 0) {
			rx_arrival(rx, now);
			if (sc_feed(rx->sc, rx->buf, (size_t)n, now) < 0)
				break;	/* framing lost: no point reading on */
		} else if (n == 0) {
			break;
		} else if (errno == EAGAIN || errno == EINTR) {
			if (wait_fd(fd, POLLIN, rx_wake(rx)) < 0) {
				why = STOP_ERROR;
				break;
			}
		} else {
			fprintf(stderr, "dstream: read from tcp port %u: %s\n", rx->o->port,
				strerror(errno));
			why = STOP_ERROR;
			break;
		}
	}
	close(fd);
	return why;
}

struct udp_batch {
	struct mmsghdr msg[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
};

static void udp_batch_init(struct udp_batch *b, uint8_t *buf)
{
	memset(b, 0, sizeof(*b));
	for (int i = 0; i < UDP_BATCH; i++) {
		b->iov[i].iov_base = buf + (size_t)i * SC_MAX_BLOCK;
		b->iov[i].iov_len = SC_MAX_BLOCK;
		b->msg[i].msg_hdr.msg_iov = &b->iov[i];
		b->msg[i].msg_hdr.msg_iovlen = 1;
	}
}

/* After END, blocks still missing may be stragglers: give them a moment. */
static bool rx_udp_done(const struct rx *rx, uint64_t now)
{
	return rx->sc->st.end_seen &&
	       (sc_complete(rx->sc) || now >= rx->last_rx_ns + UDP_LINGER_NS);
}

static enum stop rx_udp(struct rx *rx, int fd)
{
	struct udp_batch b;
	enum stop why;

	udp_batch_init(&b, rx->buf);
	/* Bounded by -t and -i: rx_check ends it; every pass reads or waits. */
	while ((why = rx_check(rx, mono_ns())) == STOP_NONE && !rx_udp_done(rx, mono_ns())) {
		int n = recvmmsg(fd, b.msg, UDP_BATCH, MSG_DONTWAIT, NULL);
		uint64_t now = mono_ns();

		if (n > 0) {
			rx_arrival(rx, now);
			for (int i = 0; i < n; i++)
				sc_feed_datagram(rx->sc, b.iov[i].iov_base, b.msg[i].msg_len, now);
		} else if (errno == EAGAIN || errno == EINTR) {
			if (wait_fd(fd, POLLIN, rx_wake(rx)) < 0)
				return STOP_ERROR;
		} else {
			fprintf(stderr, "dstream: receive on udp port %u: %s\n", rx->o->port,
				strerror(errno));
			return STOP_ERROR;
		}
	}
	return why;
}

static const char *stop_name(enum stop why)
{
	switch (why) {
	case STOP_TIMEOUT:	return "timeout";
	case STOP_IDLE:		return "idle";
	case STOP_SIGNAL:	return "interrupted";
	case STOP_ERROR:	return "recv-error";
	case STOP_NONE:		break;
	}
	return NULL;
}

/* A definite fault found in the data names the failure; a stream that is
 * merely unfinished fails for the reason the run ended early. */
static const char *rx_reason(const struct streamcheck *sc, enum stop why)
{
	enum sc_reason r = sc_result(sc);

	if (r == SC_OK)
		return NULL;
	if (r == SC_INCOMPLETE && why != STOP_NONE)
		return stop_name(why);
	return sc_reason_name(r);
}

static int rx_summary(const struct rx *rx, enum stop why)
{
	const struct streamcheck *sc = rx->sc;
	const struct sc_stats *st = &sc->st;
	uint64_t span = st->last_ns - st->first_ns;
	const char *reason = rx_reason(sc, why);

	printf("dstream: result=%s", reason ? "FAIL" : "OK");
	if (reason)
		printf(" reason=%s", reason);
	printf(" proto=%s bytes=%llu blocks=%llu gaps=%llu dups=%llu corrupt=%llu reordered=%llu"
	       " lost=%llu seconds=%.2f mbit=%.2f ignored=%llu maxgap_ms=%.1f maxgap_at=%.3f\n",
	       proto_name(sc->proto), (unsigned long long)st->bytes,
	       (unsigned long long)st->blocks, (unsigned long long)st->gaps,
	       (unsigned long long)st->dups, (unsigned long long)st->corrupt,
	       (unsigned long long)st->reordered, (unsigned long long)sc_lost(sc),
	       (double)span / 1e9, mbit_of(st->bytes, span), (unsigned long long)st->ignored,
	       (double)rx->max_gap_ns / 1e6, (double)rx->max_gap_at_ns / 1e9);
	return reason ? 1 : 0;
}

static int cmd_recv(const struct opts *o)
{
	struct streamcheck *sc = malloc(sizeof(*sc));
	size_t buf_len = o->proto == SC_TCP ? TCP_READ_BUF : (size_t)UDP_BATCH * SC_MAX_BLOCK;
	uint8_t *buf = malloc(buf_len);
	struct rx rx = { .o = o, .sc = sc, .buf = buf, .buf_len = buf_len };
	unsigned port = 0;
	enum stop why;
	int fd, rc = 1;

	if (!sc || !buf) {
		fprintf(stderr, "dstream: out of memory\n");
		goto out;
	}
	sc_init(sc, o->proto);
	sc_set_max_loss(sc, o->max_loss);
	rx.tk.quiet = o->quiet;
	rx.deadline_ns = mono_ns() + sec_to_ns(o->time_s);
	rx.idle_ns = sec_to_ns(o->idle_s);

	fd = rx_open(o, &port);
	if (fd < 0) {
		printf("dstream: result=FAIL reason=bind proto=%s\n", proto_name(o->proto));
		goto out;
	}
	printf("dstream: listening proto=%s port=%u\n", proto_name(o->proto), port);
	fflush(stdout);

	why = o->proto == SC_TCP ? rx_tcp(&rx, fd) : rx_udp(&rx, fd);
	close(fd);
	rc = rx_summary(&rx, why);
out:
	free(buf);
	free(sc);
	return rc;
}

/* ---- sender ---- */

/* Token bucket in bytes; rate 0 means unlimited. */
struct tbucket {
	double rate;		/* bytes per ns */
	double tokens;
	double burst;
	uint64_t last_ns;
};

static void tb_init(struct tbucket *tb, double mbit, size_t block_len, uint64_t now)
{
	tb->rate = mbit * 1e6 / 8.0 / 1e9;
	/* 10 ms of burst (at least two blocks) absorbs scheduling jitter while
	 * keeping every second within about 1 % of the rate. */
	tb->burst = tb->rate * 1e7;
	if (tb->burst < 2.0 * (double)block_len)
		tb->burst = 2.0 * (double)block_len;
	tb->tokens = (double)block_len;
	tb->last_ns = now;
}

static void tb_refill(struct tbucket *tb, uint64_t now)
{
	tb->tokens += tb->rate * (double)(now - tb->last_ns);
	if (tb->tokens > tb->burst)
		tb->tokens = tb->burst;
	tb->last_ns = now;
}

static bool tb_take(struct tbucket *tb, size_t need, uint64_t now)
{
	if (tb->rate == 0)
		return true;
	tb_refill(tb, now);
	if (tb->tokens < (double)need)
		return false;
	tb->tokens -= (double)need;
	return true;
}

/* When `need` tokens will be there. */
static uint64_t tb_ready_at(const struct tbucket *tb, size_t need, uint64_t now)
{
	double missing = (double)need - tb->tokens;

	return missing > 0 ? now + (uint64_t)(missing / tb->rate) + 1 : now;
}

enum push { PUSH_DONE, PUSH_PROGRESS, PUSH_AGAIN, PUSH_BACKOFF, PUSH_ERROR };

struct tx {
	const struct opts *o;
	int fd;
	uint64_t stream_id;
	uint64_t seq;		/* seq of the block in blk, or the next one */
	uint8_t *blk;
	size_t blk_len;		/* 0: no block in progress */
	size_t blk_off;		/* bytes of blk already handed to the kernel */
	bool blk_data;		/* a data block, not END */
	uint32_t payload_len;
	struct tbucket tb;
	struct ticker tk;
	uint64_t sec_bytes;
	uint64_t bytes, blocks, senderr, backoff_until_ns;
	int errs_seen[8];	/* errnos already reported as senderr */
	unsigned int nerrs_seen;
	uint64_t start_ns, deadline_ns, data_end_ns;
};

static void tx_ticks(struct tx *tx, uint64_t now)
{
	char extra[48];

	/* Bounded by the seconds elapsed; the loop wakes at every due time. */
	while (now >= ticker_due(&tx->tk)) {
		snprintf(extra, sizeof(extra), " blocks=%llu", (unsigned long long)tx->blocks);
		ticker_line(&tx->tk, "sent ", tx->sec_bytes, extra);
		tx->sec_bytes = 0;
	}
}

static void tx_count(struct tx *tx, size_t n)
{
	tx->bytes += n;
	tx->sec_bytes += n;
}

/* UDP send errors that a moving or briefly unreachable path produces: the
 * datagram is lost (the receiver counts it), the stream goes on. */
static bool udp_transient(int err)
{
	return err == ECONNREFUSED || err == ENETUNREACH || err == EHOSTUNREACH ||
	       err == ENETDOWN || err == EHOSTDOWN || err == ENOBUFS || err == EPERM ||
	       err == EADDRNOTAVAIL || err == EINVAL;
}

/* One stdout line for a send error: what (error: the run ends; senderr: a
 * UDP datagram lost, reported once per errno), seconds since the
 * connection and wall-clock time. */
static void tx_report(struct tx *tx, const char *what, int err)
{
	if (strcmp(what, "senderr") == 0) {
		for (unsigned int i = 0; i < tx->nerrs_seen; i++)
			if (tx->errs_seen[i] == err)
				return;
		if (tx->nerrs_seen < sizeof(tx->errs_seen) / sizeof(tx->errs_seen[0]))
			tx->errs_seen[tx->nerrs_seen++] = err;
	}
	printf("dstream: %s t=%.3f wall=%.6f err=%s\n", what,
	       (double)(mono_ns() - tx->start_ns) / 1e9, wall_s(), errno_name(err));
}

static void tx_block_done(struct tx *tx)
{
	tx->blk_len = 0;
	tx->blk_off = 0;
	tx->seq++;
}

/* Hand (the rest of) the current block to the kernel. */
static enum push tx_push(struct tx *tx)
{
	ssize_t n = send(tx->fd, tx->blk + tx->blk_off, tx->blk_len - tx->blk_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n > 0) {
		tx_count(tx, (size_t)n);
		tx->blk_off += (size_t)n;
		if (tx->blk_off < tx->blk_len)
			return PUSH_PROGRESS;
		tx->blocks += tx->blk_data;
		tx_block_done(tx);
		return PUSH_DONE;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return PUSH_AGAIN;
	if (n < 0 && tx->o->proto == SC_UDP && udp_transient(errno)) {
		tx_report(tx, "senderr", errno);
		tx->senderr++;
		tx_block_done(tx);
		return PUSH_BACKOFF;
	}
	if (n < 0) {
		int err = errno;

		fprintf(stderr, "dstream: send to %s port %u: %s\n", tx->o->peer, tx->o->port,
			strerror(err));
		tx_report(tx, "error", err);
	} else {
		fprintf(stderr, "dstream: send to %s port %u: nothing sent\n", tx->o->peer,
			tx->o->port);
	}
	return PUSH_ERROR;
}

static void tx_fill(struct tx *tx, uint32_t payload_len, uint8_t flags)
{
	tx->blk_len = sc_block_fill(tx->blk, SC_MAX_BLOCK, tx->stream_id, tx->seq, payload_len, flags);
	tx->blk_off = 0;
	tx->blk_data = !(flags & SC_FLAG_END);
}

/* The next moment the data loop must look at the clock. */
static uint64_t tx_wake(const struct tx *tx, uint64_t other)
{
	uint64_t t = min_u64(tx->deadline_ns, other);

	return tx->o->quiet ? t : min_u64(t, ticker_due(&tx->tk));
}

/* Send data blocks until -t or a signal; 0, or -EIO on a fatal send error. */
static int tx_data(struct tx *tx)
{
	size_t len = SC_HDR_LEN + (size_t)tx->payload_len;

	/* Bounded by -t: every pass sends or waits until tx_wake(). */
	for (;;) {
		uint64_t now = mono_ns();
		enum push r;

		tx_ticks(tx, now);
		if (stop_signal || now >= tx->deadline_ns)
			return 0;
		if (now < tx->backoff_until_ns) {
			wait_fd(-1, 0, tx_wake(tx, tx->backoff_until_ns));
			continue;
		}
		if (tx->blk_len == 0) {
			if (!tb_take(&tx->tb, len, now)) {
				wait_fd(-1, 0, tx_wake(tx, tb_ready_at(&tx->tb, len, now)));
				continue;
			}
			tx_fill(tx, tx->payload_len, 0);
		}
		r = tx_push(tx);
		if (r == PUSH_ERROR)
			return -EIO;
		if (r == PUSH_AGAIN && wait_fd(tx->fd, POLLOUT, tx_wake(tx, UINT64_MAX)) < 0)
			return -EIO;
		if (r == PUSH_BACKOFF)
			tx->backoff_until_ns = now + SEND_BACKOFF_NS;
	}
}

/* Push the current block to the end, waiting at most until limit_ns. */
static int tx_flush(struct tx *tx, uint64_t limit_ns)
{
	/* Bounded by limit_ns. */
	while (tx->blk_len != 0) {
		uint64_t now = mono_ns();
		enum push r;

		tx_ticks(tx, now);
		if (now >= limit_ns)
			return -ETIMEDOUT;
		r = tx_push(tx);
		if (r == PUSH_ERROR)
			return -EIO;
		if (r == PUSH_AGAIN)
			wait_fd(tx->fd, POLLOUT, min_u64(limit_ns, ticker_due(&tx->tk)));
	}
	return 0;
}

/* UDP: END a few times, spaced, since any copy may be lost; the receiver
 * counts one. Send errors are ignored: once the receiver has its END and
 * exits, the later copies bounce off a closed port. */
static void tx_end_udp(struct tx *tx, uint64_t limit_ns)
{
	for (int i = 0; i < END_COPIES; i++) {
		if (i > 0)
			wait_fd(-1, 0, min_u64(limit_ns, mono_ns() + END_SPACING_NS));
		tx_fill(tx, 0, SC_FLAG_END);
		/* Bounded by limit_ns. */
		while (mono_ns() < limit_ns) {
			ssize_t n = send(tx->fd, tx->blk, tx->blk_len, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (n >= 0 || (errno != EAGAIN && errno != EINTR))
				break;
			wait_fd(tx->fd, POLLOUT, limit_ns);
		}
	}
	tx->blk_len = 0;
}

/*
 * After -t: TCP first finishes the block already partly in the stream (the
 * receiver needs whole blocks), then sends END, all within END_GRACE_NS.
 * Returns 0, -ETIMEDOUT if that did not fit (stalled), or -EIO.
 */
static int tx_end(struct tx *tx)
{
	uint64_t limit = mono_ns() + END_GRACE_NS;
	int rc;

	/* A block not started on the wire is dropped: END will not count it. */
	if (tx->blk_len != 0 && tx->blk_off == 0)
		tx->blk_len = 0;
	if (tx->o->proto == SC_UDP) {
		tx_end_udp(tx, limit);
		return 0;
	}
	rc = tx_flush(tx, limit);
	if (rc < 0)
		return rc;
	tx_fill(tx, 0, SC_FLAG_END);
	return tx_flush(tx, limit);
}

/* Connect (TCP: wait for the handshake, bounded) from -B if given. */
static int tx_connect(const struct opts *o)
{
	int type = (o->proto == SC_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
	struct sockaddr_storage dst, src;
	socklen_t dlen = 0, slen = 0;
	int fd, err = 0;
	socklen_t elen = sizeof(err);

	if (resolve(o->peer, o->port, &dst, &dlen) < 0 ||
	    (o->bind && resolve(o->bind, 0, &src, &slen) < 0))
		return -EINVAL;
	fd = socket(dst.ss_family, type, 0);
	if (fd < 0) {
		fprintf(stderr, "dstream: socket for %s: %s\n", o->peer, strerror(errno));
		return -errno;
	}
	if (o->bind && bind(fd, (struct sockaddr *)&src, slen) < 0) {
		err = errno;
		fprintf(stderr, "dstream: bind to %s: %s\n", o->bind, strerror(err));
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&dst, dlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		err = errno;
		goto fail_connect;
	}
	if (wait_fd(fd, POLLOUT, mono_ns() + CONNECT_TIMEOUT_NS) <= 0) {
		err = stop_signal ? EINTR : ETIMEDOUT;
		goto fail_connect;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
	if (err == 0)
		return fd;
fail_connect:
	fprintf(stderr, "dstream: connect to %s port %u: %s\n", o->peer, o->port, strerror(err));
fail:
	close(fd);
	return -err;
}

static uint64_t random_stream_id(void)
{
	uint64_t id;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) == (ssize_t)sizeof(id))
		return id;
	/* Only needs to differ between runs, not be secret. */
	return mono_ns() ^ ((uint64_t)getpid() << 40);
}

/* rc from the run: 0, -ETIMEDOUT (stalled: exit 2) or another error. */
static int tx_summary(const struct tx *tx, int rc)
{
	uint64_t span = tx->data_end_ns - tx->start_ns;
	const char *reason = rc == 0 ? NULL : rc == -ETIMEDOUT ? "stalled" : "send-error";

	printf("dstream: result=%s", reason ? "FAIL" : "OK");
	if (reason)
		printf(" reason=%s", reason);
	printf(" proto=%s role=send bytes=%llu blocks=%llu seconds=%.2f mbit=%.2f stalled=%d"
	       " senderr=%llu\n",
	       proto_name(tx->o->proto), (unsigned long long)tx->bytes,
	       (unsigned long long)tx->blocks, (double)span / 1e9, mbit_of(tx->bytes, span),
	       rc == -ETIMEDOUT, (unsigned long long)tx->senderr);
	return rc == 0 ? 0 : rc == -ETIMEDOUT ? 2 : 1;
}

static int cmd_send(const struct opts *o)
{
	struct tx tx = { .o = o, .stream_id = random_stream_id(), .tk.quiet = o->quiet };
	int rc;

	tx.payload_len = o->block_len - SC_HDR_LEN;
	tx.blk = malloc(SC_MAX_BLOCK);
	if (!tx.blk) {
		fprintf(stderr, "dstream: out of memory\n");
		return 1;
	}
	tx.fd = tx_connect(o);
	if (tx.fd < 0) {
		printf("dstream: result=FAIL reason=connect proto=%s role=send\n", proto_name(o->proto));
		free(tx.blk);
		return 1;
	}
	printf("dstream: sending proto=%s to=%s port=%u stream=%016llx block=%u rate=%.2f\n",
	       proto_name(o->proto), o->peer, o->port, (unsigned long long)tx.stream_id,
	       o->block_len, o->rate_mbit);
	fflush(stdout);

	tx.start_ns = mono_ns();
	tx.tk.origin_ns = tx.start_ns;
	tx.deadline_ns = tx.start_ns + sec_to_ns(o->time_s);
	tb_init(&tx.tb, o->rate_mbit, o->block_len, tx.start_ns);

	rc = tx_data(&tx);
	tx.data_end_ns = mono_ns();
	if (rc == 0)
		rc = tx_end(&tx);
	close(tx.fd);
	free(tx.blk);
	return tx_summary(&tx, rc);
}

/* ---- command line ---- */

enum {
	OPT_TCP = 1 << 0, OPT_UDP = 1 << 1, OPT_P = 1 << 2, OPT_b = 1 << 3, OPT_t = 1 << 4,
	OPT_i = 1 << 5, OPT_LOSS = 1 << 6, OPT_q = 1 << 7, OPT_c = 1 << 8, OPT_B = 1 << 9,
	OPT_r = 1 << 10, OPT_l = 1 << 11, OPT_STALLS = 1 << 12,
};

/* The name of the lowest option bit set in bits. */
static const char *opt_name(unsigned bits)
{
	static const char *const names[] = {
		"--tcp", "--udp", "-p", "-b", "-t", "-i", "--max-loss", "-q", "-c", "-B", "-r", "-l",
		"--stalls",
	};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (bits & (1u << i))
			return names[i];
	return "?";
}

#define RECV_OPTS (OPT_TCP | OPT_UDP | OPT_P | OPT_b | OPT_t | OPT_i | OPT_LOSS | OPT_q | OPT_STALLS)
#define SEND_OPTS (OPT_TCP | OPT_UDP | OPT_P | OPT_c | OPT_B | OPT_t | OPT_r | OPT_l | OPT_q)

static const char synopsis[] =
	"usage: dstream recv (--tcp|--udp) -p PORT [-b BIND_ADDR] [-t MAX_SECONDS]\n"
	"                    [-i IDLE_SECONDS] [--max-loss PCT] [--stalls MS] [-q]\n"
	"       dstream send (--tcp|--udp) -c DEST_ADDR -p PORT [-B SRC_ADDR] -t SECONDS\n"
	"                    [-r RATE_MBIT] [-l BLOCK_BYTES] [-q]\n"
	"       dstream --help\n";

static void help(void)
{
	fputs(synopsis, stdout);
	fputs("\n"
	      "Sends or receives one byte-verified stream, IPv4 or IPv6 (numeric addresses).\n"
	      "recv: -p 0 picks a free port (printed in the \"listening\" line); without -b\n"
	      "      it takes IPv4 and IPv6. -t caps the whole run (default 600); -i gives up\n"
	      "      after that long without data once data has started (default 10).\n"
	      "      --max-loss: UDP fails above this percentage of lost blocks (default 100:\n"
	      "      never).\n"
	      "send: -t is how long to send, counted from connection. -r limits Mbit/s of\n"
	      "      header+payload (TCP default unlimited, UDP default 100; 0 = unlimited).\n"
	      "      -l is the block size in bytes, 64..65000 (TCP default 16384, UDP 1200;\n"
	      "      one block per datagram).\n"
	      "-q drops the per-second lines. Output: key=value lines on stdout, ending with\n"
	      "\"result=OK\" or \"result=FAIL reason=...\". Exit 0 OK, 1 FAIL, 2 usage error or\n"
	      "sender stalled (END not handed over within 2 s after -t).\n"
	      "The receiver's result line gives the longest wait between two arrivals of\n"
	      "data (maxgap_ms) and when it began (maxgap_at, seconds after the first byte).\n"
	      "--stalls MS prints \"stall wall= ms=\" for every such wait of at least MS\n"
	      "milliseconds as it ends (wall: when it began, on the real-time clock), so a\n"
	      "script can pick the ones around an event it timed itself.\n"
	      "The sender prints \"error t= wall= err=ENAME\" for the error that ends its run\n"
	      "and \"senderr t= wall= err=ENAME\" the first time a UDP send fails with each\n"
	      "errno (t: seconds since connected; wall: the real-time clock).\n", stdout);
}

static int bad_value(const char *opt, const char *text, const char *range)
{
	fprintf(stderr, "dstream: %s: \"%s\" is not %s\n", opt, text, range);
	return -EINVAL;
}

static int parse_double(const char *opt, const char *text, double lo, double hi, double *out)
{
	char *end;
	double v;
	char range[64];

	errno = 0;
	v = strtod(text, &end);
	snprintf(range, sizeof(range), "a number in %g..%g", lo, hi);
	if (errno || end == text || *end || !(v >= lo && v <= hi))
		return bad_value(opt, text, range);
	*out = v;
	return 0;
}

static int parse_uint(const char *opt, const char *text, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;
	char range[64];

	errno = 0;
	v = strtoul(text, &end, 10);
	snprintf(range, sizeof(range), "an integer in %u..%u", lo, hi);
	if (errno || end == text || *end || text[0] == '-' || v < lo || v > hi)
		return bad_value(opt, text, range);
	*out = (unsigned)v;
	return 0;
}

/* One option into o; o->seen records it ("was it set", and for which mode). */
static int parse_one(struct opts *o, int c, const char *arg)
{
	switch (c) {
	case 'T': o->seen |= OPT_TCP; o->proto = SC_TCP; return 0;
	case 'U': o->seen |= OPT_UDP; o->proto = SC_UDP; return 0;
	case 'p': o->seen |= OPT_P; return parse_uint("-p", arg, 0, 65535, &o->port);
	case 'b': o->seen |= OPT_b; o->bind = arg; return 0;
	case 'B': o->seen |= OPT_B; o->bind = arg; return 0;
	case 'c': o->seen |= OPT_c; o->peer = arg; return 0;
	case 't': o->seen |= OPT_t; return parse_double("-t", arg, 0.001, 86400, &o->time_s);
	case 'i': o->seen |= OPT_i; return parse_double("-i", arg, 0.001, 86400, &o->idle_s);
	case 'L': o->seen |= OPT_LOSS; return parse_double("--max-loss", arg, 0, 100, &o->max_loss);
	case 'r': o->seen |= OPT_r; return parse_double("-r", arg, 0, 1e6, &o->rate_mbit);
	case 'l': o->seen |= OPT_l; return parse_uint("-l", arg, 64, 65000, &o->block_len);
	case 'q': o->seen |= OPT_q; o->quiet = true; return 0;
	case 'S': o->seen |= OPT_STALLS; return parse_uint("--stalls", arg, 1, 3600000, &o->stalls_ms);
	}
	return -EINVAL;
}

/* Per-mode rules and defaults, once every option is read. */
static int finish_opts(struct opts *o)
{
	unsigned allowed = o->mode == MODE_RECV ? RECV_OPTS : SEND_OPTS;
	struct sockaddr_storage peer = { 0 }, src = { 0 };
	socklen_t len;

	if (o->seen & ~allowed) {
		fprintf(stderr, "dstream: %s is not an option of %s\n",
			opt_name(o->seen & ~allowed), o->mode == MODE_RECV ? "recv" : "send");
		return -EINVAL;
	}
	if ((o->seen & OPT_TCP) && (o->seen & OPT_UDP)) {
		fprintf(stderr, "dstream: --tcp and --udp exclude each other\n");
		return -EINVAL;
	}
	if (!(o->seen & (OPT_TCP | OPT_UDP)) || !(o->seen & OPT_P)) {
		fprintf(stderr, "dstream: --tcp or --udp, and -p PORT, are required\n");
		return -EINVAL;
	}
	/* Address mistakes are usage errors, found before anything runs. */
	if ((o->peer && resolve(o->peer, 0, &peer, &len) < 0) ||
	    (o->bind && resolve(o->bind, 0, &src, &len) < 0))
		return -EINVAL;
	if (o->peer && o->bind && peer.ss_family != src.ss_family) {
		fprintf(stderr, "dstream: -B %s and -c %s are of different address families\n",
			o->bind, o->peer);
		return -EINVAL;
	}
	if (o->mode == MODE_RECV) {
		if (!(o->seen & OPT_t))
			o->time_s = 600;
		return 0;
	}
	if (!o->peer || !(o->seen & OPT_t) || o->port == 0) {
		fprintf(stderr, "dstream: send needs -c DEST_ADDR, -p PORT (1..65535) and -t SECONDS\n");
		return -EINVAL;
	}
	if (!(o->seen & OPT_l))
		o->block_len = o->proto == SC_TCP ? 16384 : 1200;
	if (!(o->seen & OPT_r))
		o->rate_mbit = o->proto == SC_TCP ? 0 : 100;
	return 0;
}

/* 0 to run, 1 for --help, -EINVAL on a usage error. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "tcp", no_argument, NULL, 'T' },
		{ "udp", no_argument, NULL, 'U' },
		{ "max-loss", required_argument, NULL, 'L' },
		{ "stalls", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct opts){ .idle_s = 10, .max_loss = 100 };
	if (argc < 2)
		return -EINVAL;
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return 1;
	if (!strcmp(argv[1], "recv"))
		o->mode = MODE_RECV;
	else if (!strcmp(argv[1], "send"))
		o->mode = MODE_SEND;
	else {
		fprintf(stderr, "dstream: unknown command \"%s\"\n", argv[1]);
		return -EINVAL;
	}

	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "p:b:B:c:t:i:r:l:qh", longopts, NULL)) != -1) {
		if (c == 'h')
			return 1;
		if (c == '?' || parse_one(o, c, optarg) < 0)
			return -EINVAL;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "dstream: unexpected argument \"%s\"\n", argv[optind + 1]);
		return -EINVAL;
	}
	return finish_opts(o);
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc = parse_args(argc, argv, &o);

	if (rc == 1) {
		help();
		return 0;
	}
	if (rc < 0) {
		fputs(synopsis, stderr);
		return 2;
	}
	/* Scripts read the lines while the run goes on, often through a file. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_setup();
	return o.mode == MODE_RECV ? cmd_recv(&o) : cmd_send(&o);
}
