// SPDX-License-Identifier: BSD-2-Clause
/*
 * dime-manyconn: many parallel, slow, byte-verified TCP connections to one
 * peer, for the scenario and benchmark that count IHMP messages per
 * hand-off against the number of connections (issue: "1,000 parallel
 * connections to one peer: exactly one HANDOFF and one ACK").
 *
 *   dime-manyconn server -p PORT -n N [-b ADDR] [-t MAX_S] [-i IDLE_S] [-q]
 *   dime-manyconn client -c ADDR -p PORT -n N [-B ADDR] -t SECONDS [-r RATE] [-g GRACE_S] [-q]
 *
 * Each connection carries 16-byte records: "DMC1", the connection's index
 * (0..N-1) and a sequence number from 0, all big-endian; the last record is
 * "DMCE" with the number of data records sent. The server checks every
 * record of every connection and closes a connection after its END; it
 * succeeds when all N indexes ended with every record in order. The client
 * writes RATE records per second on every connection (default 10) for
 * SECONDS, then END, and waits (at most GRACE_S) for the server to close
 * each one.
 *
 * Output is for scripts, as dstream's: "key=value" lines per second and a
 * final "result=OK|FAIL" line on stdout; the client reports the first
 * error of each errno ("error t= wall= conn= err=ENAME"). Exit 0 OK, 1 FAIL,
 * 2 usage error. Every wait is an epoll_wait with a deadline; SIGINT and
 * SIGTERM end the run.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS		1000000000ull
#define MS		1000000ull
#define REC_LEN		16
#define CONN_MAX	20000
#define CONNECT_NS	(15 * NS)
#define EVENTS		256
#define MAGIC_DATA	0x444d4331u	/* "DMC1" */
#define MAGIC_END	0x444d4345u	/* "DMCE" */

enum mode { MODE_NONE, MODE_SERVER, MODE_CLIENT };

struct opts {
	enum mode mode;
	const char *peer, *bind;
	unsigned int port, n;
	double time_s, idle_s, rate, grace_s;
	bool quiet;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

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

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void record(uint8_t *rec, uint32_t magic, uint32_t index, uint64_t seq)
{
	put32(rec, magic);
	put32(rec + 4, index);
	put32(rec + 8, (uint32_t)(seq >> 32));
	put32(rec + 12, (uint32_t)seq);
}

/* epoll_wait until deadline_ns at the latest; a signal returns 0 events. */
static int wait_events(int ep, struct epoll_event *ev, uint64_t deadline_ns)
{
	uint64_t now = mono_ns();
	int ms = deadline_ns > now ? (int)((deadline_ns - now + MS - 1) / MS) : 0;
	int n = epoll_wait(ep, ev, EVENTS, ms);

	return n < 0 && errno == EINTR ? 0 : n;
}

/* Enough descriptors for n connections (root may raise the hard limit). */
static int raise_nofile(unsigned int n)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)n + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= want)
		return 0;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		fprintf(stderr, "dime-manyconn: cannot allow %llu open files: %s\n",
			(unsigned long long)want, strerror(errno));
		return -errno;
	}
	return 0;
}

static int resolve(const char *text, unsigned int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res;
	char service[8];
	int rc;

	snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(text, service, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "dime-manyconn: %s is not a numeric address: %s\n", text,
			gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* ---- server ---- */

enum sconn_state { SC_OPEN, SC_ENDED, SC_FAILED };

struct sconn {
	int fd;
	enum sconn_state state;
	int64_t index;		/* -1 until the first record */
	uint64_t next_seq;
	unsigned int have;	/* bytes of rec filled */
	uint8_t rec[REC_LEN];
};

struct server {
	const struct opts *o;
	struct sconn *c;
	unsigned int nconn, ended, failed;
	uint8_t *index_seen;
	uint64_t records, bytes, start_ns, last_data_ns;
	const char *fault;	/* first verification failure, for the result */
};

static void srv_fail(struct server *s, struct sconn *c, const char *why)
{
	if (c->state != SC_OPEN)
		return;
	c->state = SC_FAILED;
	s->failed++;
	if (!s->fault)
		s->fault = why;
	fprintf(stderr, "dime-manyconn: connection %lld: %s\n", (long long)c->index, why);
}

/* One whole record of connection c. */
static void srv_record(struct server *s, struct sconn *c)
{
	uint32_t magic = get32(c->rec);
	uint32_t index = get32(c->rec + 4);
	uint64_t seq = ((uint64_t)get32(c->rec + 8) << 32) | get32(c->rec + 12);

	if (c->index < 0) {
		if (index >= s->o->n || s->index_seen[index]) {
			srv_fail(s, c, "bad or repeated connection index");
			return;
		}
		s->index_seen[index] = 1;
		c->index = index;
	}
	if (index != (uint64_t)c->index) {
		srv_fail(s, c, "index changed within a connection");
		return;
	}
	if (magic == MAGIC_END) {
		if (seq != c->next_seq) {
			srv_fail(s, c, "END count differs from the records received");
			return;
		}
		c->state = SC_ENDED;
		s->ended++;
		return;
	}
	if (magic != MAGIC_DATA || seq != c->next_seq) {
		srv_fail(s, c, magic != MAGIC_DATA ? "corrupt record" : "record out of sequence");
		return;
	}
	c->next_seq++;
	s->records++;
}

static void srv_read(struct server *s, struct sconn *c)
{
	uint8_t buf[4096];

	/* Bounded: each pass consumes data; EAGAIN, EOF or an error ends it. */
	while (c->state == SC_OPEN) {
		ssize_t n = read(c->fd, buf, sizeof(buf));

		if (n == 0) {
			srv_fail(s, c, "closed before END");
			break;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				srv_fail(s, c, errno == ECONNRESET ? "reset" : "read error");
			break;
		}
		s->bytes += (uint64_t)n;
		s->last_data_ns = mono_ns();
		for (ssize_t i = 0; i < n && c->state == SC_OPEN; i++) {
			c->rec[c->have++] = buf[i];
			if (c->have == REC_LEN) {
				c->have = 0;
				srv_record(s, c);
			}
		}
	}
	if (c->state != SC_OPEN) {
		close(c->fd);
		c->fd = -1;
	}
}

static void srv_accept(struct server *s, int lfd, int ep)
{
	/* Bounded: at most n connections are ever taken. */
	while (s->nconn < s->o->n) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };

		if (fd < 0)
			return;
		s->c[s->nconn] = (struct sconn){ .fd = fd, .index = -1 };
		ev.data.u32 = s->nconn + 1;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			return;
		}
		s->nconn++;
	}
}

static int srv_listen(const struct opts *o)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(*s6);
	int one = 1, zero = 0, fd;

	if (o->bind) {
		if (resolve(o->bind, o->port, &ss, &len) < 0)
			return -1;
	} else {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)o->port);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, (int)o->n + 16) < 0) {
		fprintf(stderr, "dime-manyconn: listen on port %u: %s\n", o->port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static const char *srv_stop_reason(const struct server *s, uint64_t now, uint64_t deadline)
{
	if (stop_signal)
		return "interrupted";
	if (now >= deadline)
		return "timeout";
	if (s->last_data_ns && now >= s->last_data_ns + (uint64_t)(s->o->idle_s * 1e9))
		return "idle";
	return NULL;
}

static void srv_tick(const struct server *s, unsigned int sec)
{
	if (s->o->quiet)
		return;
	printf("manyconn: t=%u conns=%u ended=%u failed=%u records=%llu\n", sec, s->nconn,
	       s->ended, s->failed, (unsigned long long)s->records);
}

static int cmd_server(const struct opts *o)
{
	struct server s = { .o = o };
	struct epoll_event ev[EVENTS];
	const char *why = NULL;
	uint64_t deadline, next_tick;
	unsigned int sec = 0;
	int lfd, ep = -1, rc = 1;

	s.c = calloc(o->n, sizeof(*s.c));
	s.index_seen = calloc(o->n, 1);
	if (!s.c || !s.index_seen || raise_nofile(o->n) < 0)
		goto out;
	lfd = srv_listen(o);
	if (lfd < 0)
		goto out;
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev[0] = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 0 };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev[0]) < 0)
		goto out_close;
	printf("manyconn: listening port=%u n=%u\n", o->port, o->n);
	s.start_ns = mono_ns();
	deadline = s.start_ns + (uint64_t)(o->time_s * 1e9);
	next_tick = s.start_ns + NS;
	/* Bounded by -t (deadline) and -i (idle). */
	while (s.ended + s.failed < o->n) {
		uint64_t now = mono_ns();
		int n;

		for (; now >= next_tick; next_tick += NS)
			srv_tick(&s, ++sec);
		why = srv_stop_reason(&s, now, deadline);
		if (why)
			break;
		n = wait_events(ep, ev, next_tick < deadline ? next_tick : deadline);
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u32 == 0)
				srv_accept(&s, lfd, ep);
			else if (s.c[ev[i].data.u32 - 1].fd >= 0)
				srv_read(&s, &s.c[ev[i].data.u32 - 1]);
		}
	}
	if (s.ended == o->n)
		why = NULL;
	else if (s.fault)
		why = s.fault;
	printf("manyconn: result=%s%s%s conns=%u ended=%u failed=%u records=%llu bytes=%llu"
	       " seconds=%.2f\n", why ? "FAIL" : "OK", why ? " reason=" : "", why ? why : "",
	       s.nconn, s.ended, s.failed, (unsigned long long)s.records,
	       (unsigned long long)s.bytes, (double)(mono_ns() - s.start_ns) / 1e9);
	rc = why ? 1 : 0;
out_close:
	for (unsigned int i = 0; i < s.nconn; i++)
		if (s.c[i].fd >= 0)
			close(s.c[i].fd);
	if (ep >= 0)
		close(ep);
	close(lfd);
out:
	free(s.c);
	free(s.index_seen);
	return rc;
}

/* ---- client ---- */

enum cconn_state { CC_CONNECTING, CC_UP, CC_SHUT, CC_DONE, CC_FAILED };

struct cconn {
	int fd;
	enum cconn_state state;
	uint64_t sent;		/* bytes handed to the kernel */
};

struct client {
	const struct opts *o;
	struct cconn *c;
	int ep;
	uint64_t start_ns, due;	/* records due per connection so far */
	uint64_t ndata;		/* data records per connection, once known */
	bool ending;
	unsigned int up, done, failed;
	int errs_seen[8];
	unsigned int nerrs_seen;
};

static void cli_fail(struct client *cl, unsigned int i, int err)
{
	struct cconn *c = &cl->c[i];
	unsigned int k;

	if (c->state == CC_FAILED || c->state == CC_DONE)
		return;
	c->state = CC_FAILED;
	cl->failed++;
	close(c->fd);
	c->fd = -1;
	for (k = 0; k < cl->nerrs_seen; k++)
		if (cl->errs_seen[k] == err)
			return;
	if (k < sizeof(cl->errs_seen) / sizeof(cl->errs_seen[0]))
		cl->errs_seen[cl->nerrs_seen++] = err;
	printf("manyconn: error t=%.3f wall=%.6f conn=%u err=%s\n",
	       (double)(mono_ns() - cl->start_ns) / 1e9, wall_s(), i, errno_name(err));
}

static int cli_open_one(struct client *cl, unsigned int i, const struct sockaddr_storage *dst,
			socklen_t dlen, const struct sockaddr_storage *src, socklen_t slen)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u32 = i };
	int fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	cl->c[i] = (struct cconn){ .fd = fd, .state = CC_CONNECTING };
	if ((slen && bind(fd, (const struct sockaddr *)src, slen) < 0) ||
	    (connect(fd, (const struct sockaddr *)dst, dlen) < 0 && errno != EINPROGRESS) ||
	    epoll_ctl(cl->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = errno;

		fprintf(stderr, "dime-manyconn: connection %u: %s\n", i, strerror(err));
		close(fd);
		cl->c[i].fd = -1;
		return -err;
	}
	return 0;
}

/* Wait (bounded) until every connection is established. */
static int cli_connect_all(struct client *cl)
{
	const struct opts *o = cl->o;
	struct sockaddr_storage dst, src;
	socklen_t dlen, slen = 0;
	struct epoll_event ev[EVENTS];
	uint64_t deadline = mono_ns() + CONNECT_NS;

	if (resolve(o->peer, o->port, &dst, &dlen) < 0 || (o->bind && resolve(o->bind, 0, &src, &slen) < 0))
		return -EINVAL;
	for (unsigned int i = 0; i < o->n; i++)
		if (cli_open_one(cl, i, &dst, dlen, &src, slen) < 0)
			return -EIO;
	/* Bounded by CONNECT_NS. */
	while (cl->up < o->n && !stop_signal && mono_ns() < deadline) {
		int n = wait_events(cl->ep, ev, deadline);

		for (int k = 0; k < n; k++) {
			struct cconn *c = &cl->c[ev[k].data.u32];
			int err = 0;
			socklen_t elen = sizeof(err);

			if (c->state != CC_CONNECTING)
				continue;
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen);
			if (err) {
				fprintf(stderr, "dime-manyconn: connection %u: %s\n", ev[k].data.u32,
					strerror(err));
				return -EIO;
			}
			c->state = CC_UP;
			cl->up++;
			/* From now on only the server's close (or an error) matters. */
			ev[k].events = EPOLLIN | EPOLLRDHUP;
			epoll_ctl(cl->ep, EPOLL_CTL_MOD, c->fd, &ev[k]);
		}
	}
	return cl->up == o->n ? 0 : -ETIMEDOUT;
}

/* Hand connection i's due bytes to the kernel: data records, then END. */
static void cli_push(struct client *cl, unsigned int i)
{
	struct cconn *c = &cl->c[i];
	uint64_t target = (cl->ending ? cl->ndata + 1 : cl->due) * REC_LEN;
	uint8_t rec[REC_LEN];

	/* Bounded: each pass sends part of a record or stops. */
	while (c->state == CC_UP && c->sent < target) {
		uint64_t k = c->sent / REC_LEN;
		size_t off = (size_t)(c->sent % REC_LEN);
		ssize_t n;

		if (k < (cl->ending ? cl->ndata : UINT64_MAX))
			record(rec, MAGIC_DATA, i, k);
		else
			record(rec, MAGIC_END, i, cl->ndata);
		n = send(c->fd, rec + off, REC_LEN - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				cli_fail(cl, i, errno);
			return;
		}
		c->sent += (uint64_t)n;
	}
	if (c->state == CC_UP && cl->ending && c->sent == target) {
		shutdown(c->fd, SHUT_WR);
		c->state = CC_SHUT;
	}
}

/* Readable: the server closed (after END: done) or the connection broke. */
static void cli_event(struct client *cl, unsigned int i)
{
	struct cconn *c = &cl->c[i];
	uint8_t buf[64];
	ssize_t n;

	if (c->state != CC_UP && c->state != CC_SHUT)
		return;
	n = read(c->fd, buf, sizeof(buf));
	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return;
	if (n < 0) {
		cli_fail(cl, i, errno);
		return;
	}
	if (c->state != CC_SHUT) {
		cli_fail(cl, i, ECONNABORTED);	/* closed before we ended */
		return;
	}
	c->state = CC_DONE;
	cl->done++;
	close(c->fd);
	c->fd = -1;
}

static void cli_tick(const struct client *cl, unsigned int sec)
{
	if (cl->o->quiet)
		return;
	printf("manyconn: sent t=%u records=%llu up=%u failed=%u done=%u\n", sec,
	       (unsigned long long)cl->due, cl->up - cl->failed, cl->failed, cl->done);
}

/* The data phase (until -t) and the end phase (until every END is
 * acknowledged by the server's close, or -g runs out). */
static const char *cli_run(struct client *cl)
{
	const struct opts *o = cl->o;
	struct epoll_event ev[EVENTS];
	uint64_t period = (uint64_t)(1e9 / o->rate);
	uint64_t data_end = cl->start_ns + (uint64_t)(o->time_s * 1e9);
	uint64_t limit = data_end + (uint64_t)(o->grace_s * 1e9);
	uint64_t next_rec = cl->start_ns, next_tick = cl->start_ns + NS;
	unsigned int sec = 0;

	/* Bounded by -t + -g. */
	while (cl->done + cl->failed < o->n) {
		uint64_t now = mono_ns();
		uint64_t wake;
		int n;

		if (stop_signal)
			return "interrupted";
		if (now >= limit)
			return "stalled";
		for (; now >= next_tick; next_tick += NS)
			cli_tick(cl, ++sec);
		if (!cl->ending && now >= data_end) {
			cl->ending = true;
			cl->ndata = cl->due;
		}
		if (cl->ending || now >= next_rec) {
			if (!cl->ending)
				cl->due++;
			for (unsigned int i = 0; i < o->n; i++)
				cli_push(cl, i);
			next_rec = (cl->ending ? now + 50 * MS : next_rec + period);
		}
		wake = next_rec < next_tick ? next_rec : next_tick;
		n = wait_events(cl->ep, ev, wake < limit ? wake : limit);
		for (int k = 0; k < n; k++)
			cli_event(cl, ev[k].data.u32);
	}
	return cl->failed ? "connection-error" : NULL;
}

static int cmd_client(const struct opts *o)
{
	struct client cl = { .o = o, .ep = -1 };
	const char *why = "connect";
	int rc;

	cl.c = calloc(o->n, sizeof(*cl.c));
	for (unsigned int i = 0; cl.c && i < o->n; i++)
		cl.c[i].fd = -1;
	if (!cl.c || raise_nofile(o->n) < 0)
		goto out;
	cl.ep = epoll_create1(EPOLL_CLOEXEC);
	if (cl.ep < 0)
		goto out;
	rc = cli_connect_all(&cl);
	if (rc < 0)
		goto out;
	printf("manyconn: connected n=%u to=%s port=%u\n", o->n, o->peer, o->port);
	cl.start_ns = mono_ns();
	why = cli_run(&cl);
out:
	printf("manyconn: result=%s%s%s role=client conns=%u up=%u done=%u failed=%u records=%llu\n",
	       why ? "FAIL" : "OK", why ? " reason=" : "", why ? why : "", o->n, cl.up, cl.done,
	       cl.failed, (unsigned long long)cl.ndata);
	for (unsigned int i = 0; cl.c && i < o->n; i++)
		if (cl.c[i].fd >= 0)
			close(cl.c[i].fd);
	if (cl.ep >= 0)
		close(cl.ep);
	free(cl.c);
	return why ? 1 : 0;
}

/* ---- command line ---- */

static const char synopsis[] =
	"usage: dime-manyconn server -p PORT -n N [-b ADDR] [-t MAX_S] [-i IDLE_S] [-q]\n"
	"       dime-manyconn client -c ADDR -p PORT -n N [-B ADDR] -t SECONDS [-r RATE]\n"
	"                            [-g GRACE_S] [-q]\n";

static int parse_num(const char *opt, const char *text, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || *end || !(v >= lo && v <= hi)) {
		fprintf(stderr, "dime-manyconn: %s: \"%s\" is not a number in %g..%g\n", opt, text,
			lo, hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_opt(struct opts *o, int c, const char *arg)
{
	double v;

	switch (c) {
	case 'p':
		if (parse_num("-p", arg, 1, 65535, &v) < 0)
			return -EINVAL;
		o->port = (unsigned int)v;
		return 0;
	case 'n':
		if (parse_num("-n", arg, 1, CONN_MAX, &v) < 0)
			return -EINVAL;
		o->n = (unsigned int)v;
		return 0;
	case 'b':
	case 'B': o->bind = arg; return 0;
	case 'c': o->peer = arg; return 0;
	case 't': return parse_num("-t", arg, 0.1, 86400, &o->time_s);
	case 'i': return parse_num("-i", arg, 0.1, 86400, &o->idle_s);
	case 'r': return parse_num("-r", arg, 0.1, 1000, &o->rate);
	case 'g': return parse_num("-g", arg, 0.1, 3600, &o->grace_s);
	case 'q': o->quiet = true; return 0;
	}
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){ .time_s = 600, .idle_s = 20, .rate = 10, .grace_s = 20 };
	if (argc < 2)
		return -EINVAL;
	if (!strcmp(argv[1], "server"))
		o->mode = MODE_SERVER;
	else if (!strcmp(argv[1], "client"))
		o->mode = MODE_CLIENT;
	else
		return -EINVAL;
	optind = 1;
	while ((c = getopt(argc - 1, argv + 1, "p:n:b:B:c:t:i:r:g:q")) != -1)
		if (c == '?' || parse_opt(o, c, optarg) < 0)
			return -EINVAL;
	if (optind != argc - 1 || !o->port || !o->n)
		return -EINVAL;
	if (o->mode == MODE_CLIENT && !o->peer)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct opts o;

	if (parse_args(argc, argv, &o) < 0) {
		fputs(synopsis, stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return o.mode == MODE_SERVER ? cmd_server(&o) : cmd_client(&o);
}
