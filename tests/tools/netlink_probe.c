// SPDX-License-Identifier: BSD-2-Clause
/*
 * dime-netlink-probe: drives dimed's netlink modules (ctnl.c, rtnl.c,
 * pin.c, sysctl.c) against the kernel of the namespace it runs in, for
 * netns scenarios. Every event is one line of space-separated key=value
 * pairs on stdout (line-buffered), starting with event=. Listening
 * commands print "event=ready" once subscribed, so a script can start
 * traffic only then, and stop after SECONDS or at SIGINT/SIGTERM.
 *
 *   ct-dump                       the conntrack table, then event=dump-done count=N
 *   ct-events SECONDS             conntrack NEW/DESTROY events (resync: re-dumps)
 *   addr-dump                     links and addresses, then event=dump-done
 *   addr-events SECONDS           the initial dump (dump=1), then changes
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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dime/ctnl.h"
#include "dime/log.h"
#include "dime/pin.h"
#include "dime/rtnl.h"
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

/* ---- main ------------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: " PROG " [-v] COMMAND\n"
		"  ct-dump | ct-events SECONDS | addr-dump | addr-events SECONDS\n"
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
