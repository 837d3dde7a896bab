// SPDX-License-Identifier: BSD-2-Clause
/*
 * dime-netlink-probe: drives dimed's netlink modules (ctnl.c, rtnl.c,
 * sockdiag.c, pin.c, sysctl.c) against the kernel of the namespace it runs in, for
 * netns scenarios. Every event is one line of space-separated key=value
 * pairs on stdout (line-buffered), starting with event=. Listening
 * commands print "event=ready" once subscribed, so a script can start
 * traffic only then, and stop after SECONDS or at SIGINT/SIGTERM.
 *
 *   ct-dump                       the conntrack table, then event=dump-done count=N
 *   ct-events SECONDS             conntrack NEW/DESTROY events (resync: re-dumps)
 *   addr-dump                     links and addresses, then event=dump-done
 *   addr-events SECONDS           the initial dump (dump=1), then changes
 *   sockdiag-dump                 the TCP and UDP sockets, then event=dump-done
 *   sockdiag-events SECONDS       socket destroy events (t_ms: since ready)
 *   sockdiag-check [ADDR4 [ADDR6]]  make TCP (listener, client, accepted) and UDP
 *                                 (connected, unconnected, IPv4-mapped) sockets on
 *                                 these local addresses (127.0.0.1, ::1; "-" for
 *                                 no IPv6), check that a dump shows them as
 *                                 getsockname/getpeername do, close them and
 *                                 check their destroy events (after_ms: from the
 *                                 close); event=check-ok or event=check-failed
 *   pin-add ADDR | pin-del ADDR   pin or unpin an identifier on lo
 *   pin-flush                     remove every pin of ours (event=flushed count=N)
 *   prepare-iface IFNAME SECONDS  pin_prepare_iface, hold, restore
 *   sysctl-hold PATH VALUE SECONDS  set a /proc/sys value, hold, restore
 *
 * Exit status: 0 done, 1 an operation failed (its -errno is printed as
 * event=error), 2 usage.
 */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <net/if.h>
#include <linux/if.h>	/* IFF_LOWER_UP, IF_OPER_*: after net/if.h */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dime/ctnl.h"
#include "dime/log.h"
#include "dime/pin.h"
#include "dime/rtnl.h"
#include "dime/sockdiag.h"
#include "dime/sysctl.h"

#define PROG "dime-netlink-probe"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART: poll returns */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int fail(const char *what, int err)
{
	printf("event=error op=%s errno=%d error=\"%s\"\n", what, -err, strerror(-err));
	return 1;
}

static const char *proto_name(uint8_t proto, char *buf, size_t size)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmpv6";
	default:
		snprintf(buf, size, "%u", proto);
		return buf;
	}
}

static const char *tcp_state_name(uint8_t s)
{
	static const char *const names[] = {
		[TCP_CONNTRACK_NONE] = "none", [TCP_CONNTRACK_SYN_SENT] = "syn_sent",
		[TCP_CONNTRACK_SYN_RECV] = "syn_recv", [TCP_CONNTRACK_ESTABLISHED] = "established",
		[TCP_CONNTRACK_FIN_WAIT] = "fin_wait", [TCP_CONNTRACK_CLOSE_WAIT] = "close_wait",
		[TCP_CONNTRACK_LAST_ACK] = "last_ack", [TCP_CONNTRACK_TIME_WAIT] = "time_wait",
		[TCP_CONNTRACK_CLOSE] = "close", [TCP_CONNTRACK_SYN_SENT2] = "syn_sent2",
	};

	return s < sizeof(names) / sizeof(names[0]) && names[s] ? names[s] : "unknown";
}

/* ---- conntrack ------------------------------------------------------------------ */

struct ct_run {
	struct ctnl *ct;
	unsigned long dumped;
	bool done;
	bool redump_on_resync;
};

static void print_flow(enum ctnl_event ev, const struct ctnl_flow *f)
{
	char a[4][DIME_ADDR_STRLEN], p[8];

	printf("event=%s family=%s proto=%s src=%s dst=%s sport=%u dport=%u reply_src=%s "
	       "reply_dst=%s reply_sport=%u reply_dport=%u",
	       ctnl_event_name(ev), f->family == AF_INET6 ? "ipv6" : "ipv4",
	       proto_name(f->proto, p, sizeof(p)),
	       dime_addr_fmt(&f->orig_src, a[0], sizeof(a[0])), dime_addr_fmt(&f->orig_dst, a[1], sizeof(a[1])),
	       f->orig_sport, f->orig_dport,
	       dime_addr_fmt(&f->reply_src, a[2], sizeof(a[2])), dime_addr_fmt(&f->reply_dst, a[3], sizeof(a[3])),
	       f->reply_sport, f->reply_dport);
	if (f->proto == IPPROTO_TCP)
		printf(" tcp_state=%s", tcp_state_name(f->tcp_state));
	printf(" status=0x%x mark=0x%x id=%u timeout=%u\n", f->status, f->mark, f->id, f->timeout);
}

static void ct_event(void *ctx, enum ctnl_event ev, const struct ctnl_flow *flow)
{
	struct ct_run *r = ctx;

	if (flow) {
		if (ev == CTNL_DUMP)
			r->dumped++;
		print_flow(ev, flow);
		return;
	}
	if (ev == CTNL_DUMP_DONE) {
		printf("event=dump-done count=%lu\n", r->dumped);
		r->dumped = 0;
		r->done = true;
	} else {
		printf("event=resync\n");
		if (r->redump_on_resync)
			ctnl_dump(r->ct);
	}
}

/* Serve both ctnl fds until `until_ms` (or, when 0, until the dump ends). */
static int ct_loop(struct ct_run *r, long long until_ms)
{
	while (!stop && (until_ms ? now_ms() < until_ms : !r->done)) {
		struct pollfd pfd[2] = {
			{ .fd = ctnl_events_fd(r->ct), .events = POLLIN },
			{ .fd = ctnl_dump_fd(r->ct), .events = POLLIN },
		};
		long long left = until_ms ? until_ms - now_ms() : 5000;
		int n = poll(pfd, 2, left < 0 ? 0 : (int)left), err;

		if (n < 0 && errno != EINTR)
			return fail("poll", -errno);
		if (n == 0 && !until_ms)
			return fail("ct-dump", -ETIMEDOUT);
		if (n > 0 && (pfd[0].revents & POLLIN) && (err = ctnl_handle_events_readable(r->ct)) < 0)
			return fail("ct-events", err);
		if (n > 0 && (pfd[1].revents & POLLIN) && (err = ctnl_handle_dump_readable(r->ct)) < 0)
			return fail("ct-dump", err);
	}
	return 0;
}

static int cmd_ct(bool events, long long seconds)
{
	struct ct_run r = { .redump_on_resync = true };
	int err, rc;

	if ((err = ctnl_open(&r.ct, ct_event, &r)) < 0)
		return fail("ctnl-open", err);
	if (!events && (err = ctnl_dump(r.ct)) < 0) {
		ctnl_close(r.ct);
		return fail("ct-dump", err);
	}
	if (events)
		printf("event=ready\n");
	rc = ct_loop(&r, events ? now_ms() + seconds * 1000 : 0);
	if (events) {
		struct ctnl_stats st;

		ctnl_get_stats(r.ct, &st);
		printf("event=stats events=%llu dumped=%llu dumps=%llu malformed=%llu enobufs=%llu\n",
		       (unsigned long long)st.events, (unsigned long long)st.dumped,
		       (unsigned long long)st.dumps, (unsigned long long)st.malformed,
		       (unsigned long long)st.enobufs);
	}
	ctnl_close(r.ct);
	return rc;
}

/* ---- addresses and links ------------------------------------------------------- */

struct rt_run {
	struct rtnl *rt;
	bool done;
};

static void print_names(uint32_t bits, const char *const *names, size_t n)
{
	bool first = true;

	for (size_t i = 0; i < n && i < 32; i++) {
		if (!(bits & (1u << i)) || !names[i])
			continue;
		printf("%s%s", first ? "" : ",", names[i]);
		first = false;
		bits &= ~(1u << i);
	}
	if (bits)
		printf("%s0x%x", first ? "" : ",", bits);
	else if (first)
		printf("none");
}

static void print_addr(const struct rtnl_event *ev)
{
	static const char *const flag_names[] = {
		"secondary", "nodad", "optimistic", "dadfailed", "homeaddress", "deprecated",
		"tentative", "permanent", "managetempaddr", "noprefixroute", "mcautojoin",
		"stable_privacy",
	};
	const struct rtnl_addr *a = &ev->u.addr;
	char text[DIME_ADDR_STRLEN];

	printf("event=addr op=%s dump=%d ifindex=%d ifname=%s addr=%s prefixlen=%u scope=%u flags=",
	       a->deleted ? "del" : "new", ev->dump, a->ifindex, a->ifname[0] ? a->ifname : "-",
	       dime_addr_fmt(&a->addr, text, sizeof(text)), a->prefixlen, a->scope);
	print_names(a->flags, flag_names, sizeof(flag_names) / sizeof(flag_names[0]));
	printf(" proto=0x%x preferred_lft=%u valid_lft=%u\n", a->proto, a->preferred_lft, a->valid_lft);
}

static void print_link(const struct rtnl_event *ev)
{
	static const char *const oper[] = { "unknown", "notpresent", "down", "lowerlayerdown",
					    "testing", "dormant", "up" };
	const struct rtnl_link *l = &ev->u.link;

	printf("event=link op=%s dump=%d ifindex=%d ifname=%s up=%d running=%d lower_up=%d operstate=%s\n",
	       l->deleted ? "del" : "new", ev->dump, l->ifindex, l->ifname[0] ? l->ifname : "-",
	       !!(l->flags & IFF_UP), !!(l->flags & IFF_RUNNING), !!(l->flags & IFF_LOWER_UP),
	       l->operstate < sizeof(oper) / sizeof(oper[0]) ? oper[l->operstate] : "other");
}

static void rt_event(void *ctx, const struct rtnl_event *ev)
{
	struct rt_run *r = ctx;

	switch (ev->type) {
	case RTNL_EV_ADDR:
		print_addr(ev);
		break;
	case RTNL_EV_LINK:
		print_link(ev);
		break;
	case RTNL_EV_DUMP_DONE:
		printf("event=dump-done\n");
		r->done = true;
		break;
	case RTNL_EV_RESYNC:
		printf("event=resync\n");
		rtnl_dump(r->rt);
		break;
	case RTNL_EV_ROUTE_ADDED:
		break;
	}
}

static int cmd_addr(bool events, long long seconds)
{
	struct rt_run r = { 0 };
	long long until = events ? now_ms() + seconds * 1000 : 0;
	int err, rc = 0;

	if ((err = rtnl_open(&r.rt, rt_event, &r)) < 0)
		return fail("rtnl-open", err);
	if (events)
		printf("event=ready\n");
	while (!stop && rc == 0 && (until ? now_ms() < until : !r.done)) {
		struct pollfd pfd[2] = {
			{ .fd = rtnl_events_fd(r.rt), .events = POLLIN },
			{ .fd = rtnl_dump_fd(r.rt), .events = POLLIN },
		};
		long long left = until ? until - now_ms() : 5000;
		int n = poll(pfd, 2, left < 0 ? 0 : (int)left);

		if (n < 0 && errno != EINTR)
			rc = fail("poll", -errno);
		else if (n == 0 && !until)
			rc = fail("addr-dump", -ETIMEDOUT);
		else if (n > 0 && events && (pfd[0].revents & POLLIN) &&
			 (err = rtnl_handle_events_readable(r.rt)) < 0)
			rc = fail("addr-events", err);
		else if (n > 0 && (pfd[1].revents & POLLIN) && (err = rtnl_handle_dump_readable(r.rt)) < 0)
			rc = fail("addr-dump", err);
	}
	rtnl_close(r.rt);
	return rc;
}

/* ---- pins and sysctls ---------------------------------------------------------- */

static int cmd_pin(const char *op, const char *text)
{
	struct dime_addr a;
	int err;

	if (dime_addr_parse(&a, text) < 0) {
		fprintf(stderr, PROG ": %s: not an IP address\n", text);
		return 2;
	}
	err = strcmp(op, "pin-add") == 0 ? pin_add(&a) : pin_del(&a);
	if (err < 0)
		return fail(op, err);
	printf("event=%s addr=%s\n", op, text);
	return 0;
}

static void hold(long long seconds)
{
	long long until = now_ms() + seconds * 1000;

	printf("event=ready\n");
	while (!stop && now_ms() < until) {
		struct timespec ts = { 0, 20 * 1000000L };

		nanosleep(&ts, NULL);
	}
}

static void print_value(const char *path)
{
	char value[SYSCTL_VALUE_MAX];
	int err = sysctl_get(path, value, sizeof(value));

	if (err < 0)
		printf("event=sysctl path=%s errno=%d\n", path, -err);
	else
		printf("event=sysctl path=%s value=%s\n", path, value);
}

static int cmd_prepare_iface(const char *ifname, long long seconds)
{
	static const char *const keys[] = { "rp_filter", "arp_ignore", "arp_announce" };
	char path[SYSCTL_PATH_MAX];
	int err = pin_prepare_iface(ifname), rc = 0;

	if (err < 0)
		rc = fail("prepare-iface", err);
	printf("event=prepared recorded=%zu\n", sysctl_saved_count());
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "net/ipv4/conf/%s/%s", ifname, keys[i]);
		print_value(path);
	}
	hold(seconds);
	if ((err = sysctl_restore_all()) < 0)
		rc = fail("restore", err);
	printf("event=restored\n");
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "net/ipv4/conf/%s/%s", ifname, keys[i]);
		print_value(path);
	}
	return rc;
}

static int cmd_sysctl_hold(const char *path, const char *value, long long seconds)
{
	struct sysctl_saved saved;
	int err = sysctl_set(path, value, &saved);

	if (err < 0)
		return fail("sysctl-set", err);
	printf("event=set path=%s old=%s value=%s\n", path, saved.path[0] ? saved.old : value, value);
	hold(seconds);
	if ((err = sysctl_restore_all()) < 0)
		return fail("restore", err);
	printf("event=restored\n");
	print_value(path);
	return 0;
}

/* ---- sock_diag -------------------------------------------------------------------- */

static const char *sd_state_name(uint8_t s)
{
	static const char *const names[] = {
		[TCP_ESTABLISHED] = "established", [TCP_SYN_SENT] = "syn_sent",
		[TCP_SYN_RECV] = "syn_recv", [TCP_FIN_WAIT1] = "fin_wait1",
		[TCP_FIN_WAIT2] = "fin_wait2", [TCP_TIME_WAIT] = "time_wait", [TCP_CLOSE] = "close",
		[TCP_CLOSE_WAIT] = "close_wait", [TCP_LAST_ACK] = "last_ack",
		[TCP_LISTEN] = "listen", [TCP_CLOSING] = "closing",
	};

	return s < sizeof(names) / sizeof(names[0]) && names[s] ? names[s] : "unknown";
}

static void print_sock(enum sockdiag_event ev, const struct sockdiag_sock *s, long long t_ms)
{
	char a[2][DIME_ADDR_STRLEN], p[8];

	printf("event=%s family=%s proto=%s state=%s src=%s sport=%u dst=%s dport=%u ifindex=%u "
	       "uid=%u inode=%u cookie=%llu",
	       sockdiag_event_name(ev), s->family == AF_INET6 ? "ipv6" : "ipv4",
	       proto_name(s->proto, p, sizeof(p)), sd_state_name(s->state),
	       dime_addr_fmt(&s->src, a[0], sizeof(a[0])), s->sport,
	       dime_addr_fmt(&s->dst, a[1], sizeof(a[1])), s->dport, s->ifindex, s->uid, s->inode,
	       (unsigned long long)s->cookie);
	if (t_ms >= 0)
		printf(" t_ms=%lld", t_ms);
	printf("\n");
}

static void print_sd_stats(const struct sockdiag *sd)
{
	struct sockdiag_stats st;

	sockdiag_get_stats(sd, &st);
	printf("event=stats dumps=%llu dumped=%llu destroys=%llu malformed=%llu enobufs=%llu "
	       "dump_errors=%llu last_dump_us=%llu max_dump_us=%llu\n",
	       (unsigned long long)st.dumps, (unsigned long long)st.dumped,
	       (unsigned long long)st.destroys, (unsigned long long)st.malformed,
	       (unsigned long long)st.enobufs, (unsigned long long)st.dump_errors,
	       (unsigned long long)st.last_dump_us, (unsigned long long)st.max_dump_us);
}

/* One socket sockdiag-check made, what the kernel must say about it, and
 * what it said. */
struct sd_sock {
	const char *name;
	int fd;
	uint8_t family, proto, state;	/* as dumped */
	struct dime_addr src, dst;
	uint16_t sport, dport;
	uint64_t cookie;		/* SO_COOKIE */
	bool mapped;			/* dual-stack socket talking IPv4 */
	uint8_t want_state;		/* what the next dump must show */
	bool dumped, destroyed;
	uint8_t dump_state, destroy_state;
	long long closed_ms, destroyed_ms;
};

#define SD_MAX_SOCKS 16

struct sd_run {
	struct sockdiag *sd;
	struct sd_sock socks[SD_MAX_SOCKS];
	size_t n;
	long long t0;
	bool print;		/* sockdiag-dump and -events print every socket */
	bool resync;
	unsigned long dumped, foreign_destroys;
	int bad;		/* mismatches found by the callback */
};

static struct sd_sock *sd_find(struct sd_run *r, uint64_t cookie)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->socks[i].cookie == cookie)
			return &r->socks[i];
	return NULL;
}

static int sd_mismatch(struct sd_run *r, const struct sd_sock *k, const char *what)
{
	printf("event=mismatch sock=%s what=%s\n", k->name, what);
	r->bad++;
	return -1;
}

/* The kernel's view of one of our sockets against getsockname/getpeername. */
static void sd_compare(struct sd_run *r, struct sd_sock *k, const struct sockdiag_sock *s,
		       bool destroy)
{
	struct sockdiag_sock u = *s;

	if (k->mapped && !(sockdiag_sock_unmap(&u) && s->family == AF_INET6))
		sd_mismatch(r, k, "not-ipv4-mapped");
	if (u.proto != k->proto || !dime_addr_eq(&u.src, &k->src) ||
	    !dime_addr_eq(&u.dst, &k->dst) || u.sport != k->sport || u.dport != k->dport)
		sd_mismatch(r, k, destroy ? "destroy-tuple" : "dump-tuple");
	if (!destroy && (s->uid != getuid() || s->inode == 0))
		sd_mismatch(r, k, "dump-owner");
	if (destroy && (s->uid != 0 || s->inode != 0))
		sd_mismatch(r, k, "destroy-owner");
}

static void sd_event(void *ctx, enum sockdiag_event ev, const struct sockdiag_sock *s)
{
	struct sd_run *r = ctx;
	long long t = now_ms() - r->t0;
	struct sd_sock *k;

	if (!s) {
		if (ev == SOCKDIAG_RESYNC)
			r->resync = true;
		if (r->print || ev == SOCKDIAG_RESYNC)
			printf("event=%s%s\n", sockdiag_event_name(ev),
			       ev == SOCKDIAG_DUMP_DONE ? "" : " (destroy events lost)");
		return;
	}
	if (ev == SOCKDIAG_DUMP)
		r->dumped++;
	k = sd_find(r, s->cookie);
	if (r->print || (k && ev == SOCKDIAG_DESTROY))
		print_sock(ev, s, ev == SOCKDIAG_DESTROY ? t : -1);
	if (!k) {
		r->foreign_destroys += ev == SOCKDIAG_DESTROY;
		return;
	}
	sd_compare(r, k, s, ev == SOCKDIAG_DESTROY);
	if (ev == SOCKDIAG_DUMP) {
		k->dumped = true;
		k->dump_state = s->state;
	} else if (ev == SOCKDIAG_DESTROY) {
		k->destroyed = true;
		k->destroy_state = s->state;
		k->destroyed_ms = t;
	}
}

static int cmd_sd_dump(void)
{
	struct sd_run r = { .print = true, .t0 = now_ms() };
	int err, n;

	if ((err = sockdiag_open(&r.sd, sd_event, &r)) < 0)
		return fail("sockdiag-open", err);
	n = sockdiag_dump(r.sd, SOCKDIAG_ALL);
	if (n >= 0)
		print_sd_stats(r.sd);
	sockdiag_close(r.sd);
	return n < 0 ? fail("sockdiag-dump", n) : 0;
}

/* Serve the event socket until until_ms, or until done(r) holds. */
static int sd_loop(struct sd_run *r, long long until_ms, bool (*done)(const struct sd_run *))
{
	while (!stop && now_ms() < until_ms && !(done && done(r))) {
		struct pollfd pfd = { .fd = sockdiag_events_fd(r->sd), .events = POLLIN };
		long long left = until_ms - now_ms();
		int n = poll(&pfd, 1, left < 0 ? 0 : (int)(left > 100 ? 100 : left)), err;

		if (n < 0 && errno != EINTR)
			return fail("poll", -errno);
		if (n > 0 && (err = sockdiag_handle_events_readable(r->sd)) < 0)
			return fail("sockdiag-events", err);
		if (r->resync) {
			r->resync = false;
			if ((err = sockdiag_dump(r->sd, SOCKDIAG_ALL)) < 0)
				return fail("sockdiag-dump", err);
		}
	}
	return 0;
}

static int cmd_sd_events(long long seconds)
{
	struct sd_run r = { .print = true };
	int err, rc;

	if ((err = sockdiag_open(&r.sd, sd_event, &r)) < 0)
		return fail("sockdiag-open", err);
	r.t0 = now_ms();
	printf("event=ready\n");
	rc = sd_loop(&r, r.t0 + seconds * 1000, NULL);
	print_sd_stats(r.sd);
	sockdiag_close(r.sd);
	return rc;
}

/* ---- sockdiag-check: sockets of our own, seen by a dump and destroyed ---- */

static void sd_from_sockaddr(const struct sockaddr_storage *ss, uint8_t family,
			     struct dime_addr *a, uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	*port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		dime_addr_from_v4(a, &in->sin_addr);
		*port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		dime_addr_from_v6(a, &in6->sin6_addr);
		*port = ntohs(in6->sin6_port);
	}
}

static uint8_t sd_expected_state(const struct sd_sock *k)
{
	if (k->proto == IPPROTO_UDP)
		return k->dport ? TCP_ESTABLISHED : TCP_CLOSE;
	return strstr(k->name, "listen") ? TCP_LISTEN : TCP_ESTABLISHED;
}

/* Record fd under name, with the tuple the kernel must report (IPv4 view
 * for a mapped socket). */
static int sd_track(struct sd_run *r, const char *name, int fd, uint8_t proto, bool mapped)
{
	struct sd_sock *k = &r->socks[r->n];
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss), clen = sizeof(k->cookie);
	int domain;

	if (fd < 0 || r->n >= SD_MAX_SOCKS)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	k->name = name;
	k->fd = fd;
	k->proto = proto;
	k->mapped = mapped;
	len = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_COOKIE, &k->cookie, &clen) < 0)
		return -errno;
	k->family = (uint8_t)domain;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	sd_from_sockaddr(&ss, k->family, &k->src, &k->sport);
	len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 && errno != ENOTCONN)
		return -errno;
	sd_from_sockaddr(&ss, k->family, &k->dst, &k->dport);
	if (mapped) {	/* compare with the IPv4 view */
		struct sockdiag_sock u = { .family = AF_INET6, .src = k->src, .dst = k->dst };

		if (!sockdiag_sock_unmap(&u))
			return -EPROTO;
		k->family = AF_INET;
		k->src = u.src;
		k->dst = u.dst;
	}
	k->want_state = sd_expected_state(k);
	r->n++;
	return 0;
}

static int sd_socket(int family, int type, const struct dime_addr *bind_to)
{
	int fd = socket(family, type | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_storage ss;
	unsigned int len;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind_to) {
		len = dime_addr_to_sockaddr(bind_to, 0, &ss);
		if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static int sd_connect(int fd, const struct dime_addr *to, uint16_t port)
{
	struct sockaddr_storage ss;
	unsigned int len = dime_addr_to_sockaddr(to, port, &ss);

	return connect(fd, (struct sockaddr *)&ss, len);
}

static uint16_t sd_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct dime_addr a;
	uint16_t port;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	sd_from_sockaddr(&ss, ss.ss_family, &a, &port);
	return port;
}

static const char *const sd_tcp_names[2][3] = {
	{ "tcp4-listen", "tcp4-client", "tcp4-accepted" },
	{ "tcp6-listen", "tcp6-client", "tcp6-accepted" },
};

/* A listener on addr, a client connected to it, and the accepted end. */
static int sd_make_tcp(struct sd_run *r, const struct dime_addr *addr, int v6)
{
	int l = sd_socket(addr->family, SOCK_STREAM, addr), c, a, err;

	if (l < 0 || listen(l, 4) < 0)
		return -errno;
	if ((err = sd_track(r, sd_tcp_names[v6][0], l, IPPROTO_TCP, false)) < 0)
		return err;
	c = sd_socket(addr->family, SOCK_STREAM, NULL);
	if (c < 0 || sd_connect(c, addr, sd_local_port(l)) < 0)
		return -errno;
	if ((err = sd_track(r, sd_tcp_names[v6][1], c, IPPROTO_TCP, false)) < 0)
		return err;
	if ((a = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return -errno;
	return sd_track(r, sd_tcp_names[v6][2], a, IPPROTO_TCP, false);
}

/* A connected and an unconnected UDP socket on addr; the unconnected one
 * is what the connected one talks to. */
static int sd_make_udp(struct sd_run *r, const struct dime_addr *addr, int v6)
{
	int u = sd_socket(addr->family, SOCK_DGRAM, addr), c, err;

	if (u < 0)
		return -errno;
	if ((err = sd_track(r, v6 ? "udp6-unconnected" : "udp4-unconnected", u, IPPROTO_UDP,
			    false)) < 0)
		return err;
	c = sd_socket(addr->family, SOCK_DGRAM, NULL);
	if (c < 0 || sd_connect(c, addr, sd_local_port(u)) < 0)
		return -errno;
	return sd_track(r, v6 ? "udp6-connected" : "udp4-connected", c, IPPROTO_UDP, false);
}

/* A dual-stack IPv6 UDP socket connected to an IPv4 address. */
static int sd_make_mapped(struct sd_run *r, const struct dime_addr *addr4)
{
	struct dime_addr m = { .family = AF_INET6 };
	int c = sd_socket(AF_INET6, SOCK_DGRAM, NULL), off = 0;

	m.a.u8[10] = m.a.u8[11] = 0xff;
	memcpy(m.a.u8 + 12, addr4->a.u8, 4);
	if (c < 0 || setsockopt(c, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    sd_connect(c, &m, 9) < 0)
		return -errno;
	return sd_track(r, "udp6-mapped", c, IPPROTO_UDP, true);
}

static int sd_check_dump(struct sd_run *r)
{
	int n;

	for (size_t i = 0; i < r->n; i++)
		r->socks[i].dumped = false;
	if ((n = sockdiag_dump(r->sd, SOCKDIAG_ALL)) < 0)
		return fail("sockdiag-dump", n);
	for (size_t i = 0; i < r->n; i++) {
		struct sd_sock *k = &r->socks[i];

		if (k->fd < 0)
			continue;
		if (!k->dumped)
			sd_mismatch(r, k, "not-dumped");
		else if (k->dump_state != k->want_state)
			sd_mismatch(r, k, "dump-state");
		else if (k->destroyed)
			sd_mismatch(r, k, "destroyed-while-open");
	}
	return 0;
}

static struct sd_sock *sd_named(struct sd_run *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->socks[i].name, name) == 0)
			return &r->socks[i];
	return NULL;
}

static bool sd_all_closed_destroyed(const struct sd_run *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->socks[i].fd < 0 && !r->socks[i].destroyed)
			return false;
	return true;
}

static void sd_close(struct sd_run *r, struct sd_sock *k)
{
	k->closed_ms = now_ms() - r->t0;
	close(k->fd);
	k->fd = -1;
}

/* Close the named sockets and wait (bounded) for their destroy events. */
static int sd_close_and_wait(struct sd_run *r, const char *const *names, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		struct sd_sock *k = sd_named(r, names[i]);

		if (k && k->fd >= 0)
			sd_close(r, k);
	}
	rc = sd_loop(r, now_ms() + 5000, sd_all_closed_destroyed);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct sd_sock *k = sd_named(r, names[i]);
		uint8_t want;

		if (!k)
			continue;	/* not made (no IPv6) */
		want = k->proto == IPPROTO_TCP ? TCP_CLOSE : k->dump_state;
		if (!k->destroyed)
			sd_mismatch(r, k, "no-destroy-within-5s");
		else if (k->destroy_state != want)
			sd_mismatch(r, k, "destroy-state");
		else
			printf("event=destroy-seen sock=%s after_ms=%lld state=%s\n", k->name,
			       k->destroyed_ms - k->closed_ms, sd_state_name(k->destroy_state));
	}
	return rc;
}

/* Active close: the client's socket is freed once its FIN is acked, and
 * is not dumped again (the timewait socket that stands for it in
 * FIN_WAIT2 is skipped); the accepted end stays in CLOSE_WAIT until its
 * own close. */
static int sd_check_tcp_close(struct sd_run *r, int v6)
{
	const char *client = sd_tcp_names[v6][1], *accepted = sd_tcp_names[v6][2];
	struct sd_sock *c = sd_named(r, client);
	int rc;

	if ((rc = sd_close_and_wait(r, &client, 1)) != 0)
		return rc;
	sd_named(r, accepted)->want_state = TCP_CLOSE_WAIT;
	if ((rc = sd_check_dump(r)) != 0)
		return rc;
	if (c->dumped)
		sd_mismatch(r, c, "dumped-after-destroy");
	printf("event=state sock=%s state=%s\n", accepted,
	       sd_state_name(sd_named(r, accepted)->dump_state));
	return sd_close_and_wait(r, &accepted, 1);
}

static int sd_build(struct sd_run *r, const struct dime_addr *a4, const struct dime_addr *a6)
{
	int err;

	if ((err = sd_make_tcp(r, a4, 0)) < 0 || (err = sd_make_udp(r, a4, 0)) < 0 ||
	    (err = sd_make_mapped(r, a4)) < 0)
		return fail("sockets-ipv4", err);
	if (a6 && ((err = sd_make_tcp(r, a6, 1)) < 0 || (err = sd_make_udp(r, a6, 1)) < 0))
		return fail("sockets-ipv6", err);
	return 0;
}

static int cmd_sd_check(const char *text4, const char *text6)
{
	static const char *const rest[] = { "udp4-connected", "udp4-unconnected", "udp6-mapped",
					    "udp6-connected", "udp6-unconnected", "tcp4-listen",
					    "tcp6-listen" };
	struct sd_run r = { .t0 = now_ms() };
	struct dime_addr a4, a6;
	int err, rc;

	if (dime_addr_parse(&a4, text4) < 0 || a4.family != AF_INET ||
	    (text6 && (dime_addr_parse(&a6, text6) < 0 || a6.family != AF_INET6))) {
		fprintf(stderr, PROG ": sockdiag-check: want an IPv4 and an IPv6 address\n");
		return 2;
	}
	if ((err = sockdiag_open(&r.sd, sd_event, &r)) < 0)
		return fail("sockdiag-open", err);
	rc = sd_build(&r, &a4, text6 ? &a6 : NULL);
	if (rc == 0)
		rc = sd_check_dump(&r);
	for (size_t i = 0; rc == 0 && i < r.n; i++)
		printf("event=state sock=%s state=%s\n", r.socks[i].name,
		       sd_state_name(r.socks[i].dump_state));
	if (rc == 0)
		rc = sd_check_tcp_close(&r, 0);
	if (rc == 0 && text6)
		rc = sd_check_tcp_close(&r, 1);
	if (rc == 0)
		rc = sd_close_and_wait(&r, rest, sizeof(rest) / sizeof(rest[0]));
	for (size_t i = 0; i < r.n; i++)
		if (r.socks[i].fd >= 0)
			close(r.socks[i].fd);
	print_sd_stats(r.sd);
	sockdiag_close(r.sd);
	if (rc == 0 && r.bad == 0) {
		printf("event=check-ok sockets=%zu\n", r.n);
		return 0;
	}
	printf("event=check-failed mismatches=%d\n", r.bad);
	return rc ? rc : 1;
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: " PROG " [-v] COMMAND\n"
		"  ct-dump | ct-events SECONDS | addr-dump | addr-events SECONDS\n"
		"  sockdiag-dump | sockdiag-events SECONDS | sockdiag-check [ADDR4 [ADDR6|-]]\n"
		"  pin-add ADDR | pin-del ADDR | pin-flush\n"
		"  prepare-iface IFNAME SECONDS | sysctl-hold PATH VALUE SECONDS\n");
}

static bool seconds_arg(const char *s, long long *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || *end || v < 0 || v > 86400)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
	int i = verbose ? 2 : 1, n;
	long long secs = 0;
	const char *cmd;

	log_init(PROG, verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARNING);
	setvbuf(stdout, NULL, _IOLBF, 0);
	catch_signals();
	if (i >= argc) {
		usage();
		return 2;
	}
	cmd = argv[i];
	n = argc - i - 1;	/* arguments after the command */
	if (strcmp(cmd, "ct-dump") == 0 && n == 0)
		return cmd_ct(false, 0);
	if (strcmp(cmd, "ct-events") == 0 && n == 1 && seconds_arg(argv[i + 1], &secs))
		return cmd_ct(true, secs);
	if (strcmp(cmd, "addr-dump") == 0 && n == 0)
		return cmd_addr(false, 0);
	if (strcmp(cmd, "addr-events") == 0 && n == 1 && seconds_arg(argv[i + 1], &secs))
		return cmd_addr(true, secs);
	if (strcmp(cmd, "sockdiag-dump") == 0 && n == 0)
		return cmd_sd_dump();
	if (strcmp(cmd, "sockdiag-events") == 0 && n == 1 && seconds_arg(argv[i + 1], &secs))
		return cmd_sd_events(secs);
	if (strcmp(cmd, "sockdiag-check") == 0 && n <= 2)
		return cmd_sd_check(n >= 1 ? argv[i + 1] : "127.0.0.1",
				    n < 2 ? "::1" : strcmp(argv[i + 2], "-") == 0 ? NULL : argv[i + 2]);
	if ((strcmp(cmd, "pin-add") == 0 || strcmp(cmd, "pin-del") == 0) && n == 1)
		return cmd_pin(cmd, argv[i + 1]);
	if (strcmp(cmd, "pin-flush") == 0 && n == 0) {
		int removed = pin_flush_stale();

		if (removed < 0)
			return fail("pin-flush", removed);
		printf("event=flushed count=%d\n", removed);
		return 0;
	}
	if (strcmp(cmd, "prepare-iface") == 0 && n == 2 && seconds_arg(argv[i + 2], &secs))
		return cmd_prepare_iface(argv[i + 1], secs);
	if (strcmp(cmd, "sysctl-hold") == 0 && n == 3 && seconds_arg(argv[i + 3], &secs))
		return cmd_sysctl_hold(argv[i + 1], argv[i + 2], secs);
	usage();
	return 2;
}
