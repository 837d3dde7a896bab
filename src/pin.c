// SPDX-License-Identifier: BSD-2-Clause
/*
 * Identifier pins on lo and mobility-interface sysctls (see pin.h). Each
 * pin operation opens its own rtnetlink socket, sends one request and
 * waits, bounded, for the kernel's acknowledgement or dump: pins change a
 * few times per hand-off, so a socket per call costs nothing and no stale
 * reply from a timed-out request can ever be mistaken for a later one.
 * Ownership is checked through a dump of lo's addresses, parsed with
 * rtnl_parse_addr(), because RTM_DELADDR itself ignores IFA_PROTO.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "dime/log.h"
#include "dime/nlutil.h"
#include "dime/pin.h"
#include "dime/rtnl.h"
#include "dime/sysctl.h"

#define PIN_RX_SIZE (32 << 10)	/* the kernel caps dump datagrams at 32 KiB */
#define PIN_FLUSH_BATCH 64	/* pins removed per lo dump in pin_flush_stale */
#define PIN_FLUSH_ROUNDS 1024	/* bound on dumps in one flush */

/* ---- one request, one answer -------------------------------------------------- */

static int req_open(struct mnl_socket **out)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int one = 1;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(nl);
		return err;
	}
	/* Lets the kernel filter dumps by ifa_index; without it (old kernels)
	 * the callbacks filter anyway. */
	mnl_socket_setsockopt(nl, NETLINK_GET_STRICT_CHK, &one, sizeof(one));
	*out = nl;
	return 0;
}

/* Wait for the answer to nlh (an ack or a dump's end), calling cb on each
 * data message. 0 or -errno (the kernel's error, or -ETIMEDOUT). */
static int req_wait(struct mnl_socket *nl, uint32_t seq, mnl_cb_t cb, void *data)
{
	unsigned char buf[PIN_RX_SIZE] __attribute__((aligned(4)));
	uint32_t portid = mnl_socket_get_portid(nl);
	uint64_t deadline = nlu_now_ms() + PIN_ACK_TIMEOUT_MS;
	int ret = MNL_CB_OK;

	while (ret == MNL_CB_OK) {
		int err = nlu_wait_readable(mnl_socket_get_fd(nl), deadline);
		ssize_t n;

		if (err < 0)
			return err;
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
	}
	return ret == MNL_CB_ERROR ? -errno : 0;
}

static int req_run(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct mnl_socket *nl = NULL;
	int err;

	if ((err = req_open(&nl)) < 0)
		return err;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		err = -errno;
	else
		err = req_wait(nl, nlh->nlmsg_seq, cb, data);
	mnl_socket_close(nl);
	return err;
}

/* ---- lo's addresses ------------------------------------------------------------ */

static int lo_index(void)
{
	unsigned int i = if_nametoindex("lo");

	return i ? (int)i : 1;	/* LOOPBACK_IFINDEX in every namespace */
}

static struct nlmsghdr *addr_msg(void *buf, uint16_t type, uint16_t flags, uint8_t family,
				 uint8_t prefixlen)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	ifa->ifa_prefixlen = prefixlen;
	ifa->ifa_index = (uint32_t)lo_index();
	return nlh;
}

struct lo_scan {
	int lo;
	const struct dime_addr *want;	/* NULL: collect every pin of ours */
	struct rtnl_addr found;		/* want's entry, when found */
	bool have;
	struct rtnl_addr pins[PIN_FLUSH_BATCH];
	size_t n_pins;
	bool more;			/* pins[] filled up */
};

static int lo_scan_cb(const struct nlmsghdr *nlh, void *data)
{
	struct lo_scan *s = data;
	struct rtnl_addr a;

	if (rtnl_parse_addr(nlh, &a) < 0 || a.ifindex != s->lo || a.deleted)
		return MNL_CB_OK;
	if (s->want && dime_addr_eq(&a.addr, s->want)) {
		s->found = a;
		s->have = true;
	} else if (!s->want && a.proto == DIME_IFA_PROTO) {
		if (s->n_pins < PIN_FLUSH_BATCH)
			s->pins[s->n_pins++] = a;
		else
			s->more = true;
	}
	return MNL_CB_OK;
}

static int lo_scan(struct lo_scan *s, uint8_t family)
{
	unsigned char buf[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifaddrmsg))] __attribute__((aligned(4)));

	int err = -EINTR;

	/* NLM_F_DUMP_INTR (addresses changed under the dump) comes back as
	 * -EINTR from libmnl: such a dump is only retried, a few times. */
	for (int tries = 0; tries < 3 && err == -EINTR; tries++) {
		const struct dime_addr *want = s->want;

		memset(s, 0, sizeof(*s));
		s->want = want;
		s->lo = lo_index();
		err = req_run(addr_msg(buf, RTM_GETADDR, NLM_F_DUMP, family, 0), lo_scan_cb, s);
	}
	return err;
}

static void put_addr(struct nlmsghdr *nlh, const struct dime_addr *a)
{
	size_t len = dime_addr_len(a);

	mnl_attr_put(nlh, IFA_LOCAL, len, a->a.u8);
	mnl_attr_put(nlh, IFA_ADDRESS, len, a->a.u8);
}

/* ---- the pins' fallback route (pin.h) --------------------------------------------- */

/* dimed's own fwmark: its own packets never take the fallback route (an
 * IHMP message must fail at once, to be retried when a real route is
 * there, not loop back through lo). */
static uint32_t own_mark;

void pin_set_own_mark(uint32_t mark)
{
	own_mark = mark;
}

/*
 * One of the two rules per pin: "from PIN lookup PIN_TABLE" at
 * PIN_RULE_PRIORITY, or (unreachable) "from PIN fwmark M/M unreachable"
 * just before it. With src NULL (deletes only), any source.
 */
static int pin_rule(uint16_t type, uint16_t flags, uint8_t family, const struct dime_addr *src,
		    bool unreachable)
{
	unsigned char buf[256] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *frh;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = family;
	frh->action = unreachable ? FR_ACT_UNREACHABLE : FR_ACT_TO_TBL;
	frh->table = RT_TABLE_UNSPEC;
	if (src) {
		frh->src_len = family == AF_INET6 ? 128 : 32;
		mnl_attr_put(nlh, FRA_SRC, dime_addr_len(src), src->a.u8);
	}
	/* The protocol also makes a delete match our rules only. */
	mnl_attr_put_u8(nlh, FRA_PROTOCOL, DIME_IFA_PROTO);
	if (unreachable) {
		mnl_attr_put_u32(nlh, FRA_PRIORITY, PIN_RULE_PRIORITY - 1);
		if (type == RTM_NEWRULE) {
			mnl_attr_put_u32(nlh, FRA_FWMARK, own_mark);
			mnl_attr_put_u32(nlh, FRA_FWMASK, own_mark);
		}
		return req_run(nlh, NULL, NULL);
	}
	mnl_attr_put_u32(nlh, FRA_PRIORITY, PIN_RULE_PRIORITY);
	mnl_attr_put_u32(nlh, FRA_TABLE, PIN_TABLE);
	return req_run(nlh, NULL, NULL);
}

static int pin_table_route(uint16_t type, uint16_t flags, uint8_t family)
{
	unsigned char buf[256] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_table = RT_TABLE_UNSPEC;
	rtm->rtm_protocol = DIME_IFA_PROTO;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_TABLE, PIN_TABLE);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)lo_index());
	return req_run(nlh, NULL, NULL);
}

static int fallback_add(const struct dime_addr *a)
{
	int err = pin_table_route(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, a->family);

	if (err == 0 && own_mark) {
		err = pin_rule(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, a->family, a, true);
		if (err == -EEXIST)
			err = 0;
	}
	if (err == 0) {
		err = pin_rule(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, a->family, a, false);
		if (err == -EEXIST)
			err = 0;
	}
	return err;
}

static void fallback_del(const struct dime_addr *a)
{
	char text[DIME_ADDR_STRLEN];
	int err = pin_rule(RTM_DELRULE, 0, a->family, a, false);

	pin_rule(RTM_DELRULE, 0, a->family, a, true);
	if (err < 0 && err != -ENOENT)
		log_warn_e(err, "pin %s: cannot remove its fallback rule",
			   dime_addr_fmt(a, text, sizeof(text)));
}

/* Every rule of ours (any source), then the table's routes. */
static void fallback_flush(void)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };

	for (size_t f = 0; f < sizeof(families); f++) {
		for (int i = 0; i < PIN_FLUSH_ROUNDS; i++)
			if (pin_rule(RTM_DELRULE, 0, families[f], NULL, false) < 0)
				break;
		for (int i = 0; i < PIN_FLUSH_ROUNDS; i++)
			if (pin_rule(RTM_DELRULE, 0, families[f], NULL, true) < 0)
				break;
		pin_table_route(RTM_DELROUTE, 0, families[f]);
	}
}

/* ---- pins --------------------------------------------------------------------- */

static int new_pin(const struct dime_addr *a)
{
	unsigned char buf[256] __attribute__((aligned(4)));
	bool v6 = a->family == AF_INET6;
	struct nlmsghdr *nlh = addr_msg(buf, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
					a->family, v6 ? 128 : 32);
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);

	ifa->ifa_scope = v6 ? RT_SCOPE_UNIVERSE : RT_SCOPE_HOST;
	put_addr(nlh, a);
	if (v6) {
		struct ifa_cacheinfo ci = { .ifa_prefered = 0, .ifa_valid = UINT32_MAX };

		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
		mnl_attr_put(nlh, IFA_CACHEINFO, sizeof(ci), &ci);
	}
	mnl_attr_put_u8(nlh, IFA_PROTO, DIME_IFA_PROTO);
	return req_run(nlh, NULL, NULL);
}

static int check_family(const struct dime_addr *a, const char *what)
{
	char text[DIME_ADDR_STRLEN];

	if (a->family == AF_INET || a->family == AF_INET6)
		return 0;
	log_warnx("pin %s: cannot %s, not an IP address", dime_addr_fmt(a, text, sizeof(text)), what);
	return -EAFNOSUPPORT;
}

int pin_add(const struct dime_addr *a)
{
	char text[DIME_ADDR_STRLEN];
	struct lo_scan s = { .want = a };
	int err;

	if ((err = check_family(a, "add")) < 0)
		return err;
	dime_addr_fmt(a, text, sizeof(text));
	err = new_pin(a);
	if (err == -EEXIST) {
		if ((err = lo_scan(&s, a->family)) < 0) {
			log_warn_e(err, "pin %s: already on lo, cannot check whose", text);
			return err;
		}
		if (s.have && s.found.proto == DIME_IFA_PROTO) {
			/* Ours already (kept across a restart): its fallback
			 * rule went with the flush of stale ones. */
			if ((err = fallback_add(a)) < 0)
				log_warn_e(err, "pin %s: no fallback route", text);
			return 0;
		}
		log_warnx("pin %s: already on lo and not ours (proto %u), left alone", text,
			  s.found.proto);
		return -EEXIST;
	}
	if (err < 0) {
		log_warn_e(err, "pin %s: cannot add to lo", text);
		return err;
	}
	if ((err = fallback_add(a)) < 0)
		log_warn_e(err, "pin %s: no fallback route; its flows cannot recover fast from a hard hand-off",
			   text);
	log_info("pin %s: added to lo", text);
	return 0;
}

static int del_addr(const struct rtnl_addr *a)
{
	unsigned char buf[128] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = addr_msg(buf, RTM_DELADDR, NLM_F_ACK, a->addr.family, a->prefixlen);

	put_addr(nlh, &a->addr);
	return req_run(nlh, NULL, NULL);
}

int pin_del(const struct dime_addr *a)
{
	char text[DIME_ADDR_STRLEN];
	struct lo_scan s = { .want = a };
	int err;

	if ((err = check_family(a, "remove")) < 0)
		return err;
	dime_addr_fmt(a, text, sizeof(text));
	if ((err = lo_scan(&s, a->family)) < 0) {
		log_warn_e(err, "pin %s: cannot list lo's addresses", text);
		return err;
	}
	fallback_del(a);
	if (!s.have || s.found.proto != DIME_IFA_PROTO) {
		log_debug("pin %s: no pin of ours on lo%s", text, s.have ? " (a foreign one is)" : "");
		return -ENOENT;
	}
	err = del_addr(&s.found);
	if (err == -EADDRNOTAVAIL)	/* gone between the dump and the delete */
		err = -ENOENT;
	if (err < 0) {
		log_warn_e(err, "pin %s: cannot remove from lo", text);
		return err;
	}
	log_info("pin %s: removed from lo", text);
	return 0;
}

static bool kept(const struct dime_addr *a, const struct dime_addr *keep, size_t nkeep)
{
	for (size_t i = 0; i < nkeep; i++)
		if (dime_addr_eq(a, &keep[i]))
			return true;
	return false;
}

int pin_flush_stale(void)
{
	return pin_flush_stale_except(NULL, 0);
}

int pin_flush_stale_except(const struct dime_addr *keep, size_t nkeep)
{
	char text[DIME_ADDR_STRLEN];
	int removed = 0;

	fallback_flush();
	for (int round = 0; round < PIN_FLUSH_ROUNDS; round++) {
		struct lo_scan s = { .want = NULL };
		int err = lo_scan(&s, AF_UNSPEC), this_round = 0;

		if (err < 0) {
			log_warn_e(err, "pin: cannot list lo's addresses to flush stale pins");
			return err;
		}
		for (size_t i = 0; i < s.n_pins; i++) {
			if (kept(&s.pins[i].addr, keep, nkeep))
				continue;
			dime_addr_fmt(&s.pins[i].addr, text, sizeof(text));
			err = del_addr(&s.pins[i]);
			if (err < 0 && err != -EADDRNOTAVAIL) {
				log_warn_e(err, "pin %s: cannot remove stale pin from lo", text);
				return err;
			}
			log_info("pin %s: removed stale pin from lo", text);
			removed++;
			this_round++;
		}
		/* A full batch of kept pins only would come back every round. */
		if (!s.more || this_round == 0)
			return removed;
	}
	return removed;
}

/* ---- mobility interfaces ------------------------------------------------------- */

static int valid_ifname(const char *ifname)
{
	size_t len = strnlen(ifname, IF_NAMESIZE);

	if (len == 0 || len >= IF_NAMESIZE || strchr(ifname, '/') ||
	    strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0)
		return -EINVAL;
	return 0;
}

/* Raise net/ipv4/conf/<ifname>/<key> to `want` when max(all, ifname) is
 * in [low, high]: the interface's own value is enough, since the kernel
 * uses the larger of the two. */
static int raise_conf(const char *ifname, const char *key, int low, int high, int want)
{
	char path[SYSCTL_PATH_MAX], all_path[SYSCTL_PATH_MAX], value[16];
	int all, own, eff, err;

	snprintf(path, sizeof(path), "net/ipv4/conf/%s/%s", ifname, key);
	snprintf(all_path, sizeof(all_path), "net/ipv4/conf/all/%s", key);
	if ((err = sysctl_get_int(all_path, &all)) < 0 || (err = sysctl_get_int(path, &own)) < 0) {
		log_warn_e(err, "iface %s: cannot read %s", ifname, key);
		return err;
	}
	eff = all > own ? all : own;
	if (eff < low || eff > high)
		return 0;
	snprintf(value, sizeof(value), "%d", want);
	return sysctl_set(path, value, NULL);
}

int pin_prepare_iface(const char *ifname)
{
	char path[SYSCTL_PATH_MAX];
	int err, own, first = 0;

	if (valid_ifname(ifname) < 0) {
		log_warnx("iface \"%s\": not a valid interface name", ifname);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "net/ipv4/conf/%s/rp_filter", ifname);
	if ((err = sysctl_get_int(path, &own)) < 0) {
		log_warn_e(err, "iface %s: cannot read its IPv4 settings", ifname);
		return err;
	}
	/* Strict reverse-path filtering drops inbound packets whose rewritten
	 * source has no route back through this interface. */
	if ((err = raise_conf(ifname, "rp_filter", 1, 1, 2)) < 0)
		first = err;
	/* Do not answer ARP for pinned identifiers (on lo) on this link... */
	if ((err = raise_conf(ifname, "arp_ignore", 0, 0, 1)) < 0 && !first)
		first = err;
	/* ...nor put them in our own ARP requests as the sender. */
	if ((err = raise_conf(ifname, "arp_announce", 0, 1, 2)) < 0 && !first)
		first = err;
	return first;
}

/* ---- rp_filter on interfaces without an IPv4 address ------------------------- */

#define ADDRLESS_MAX 16		/* interfaces zeroed at once */

static bool rp_split_done;
static struct {
	char ifname[IF_NAMESIZE];
	int before;		/* its own rp_filter before we zeroed it */
} addrless[ADDRLESS_MAX];

static int rp_path(char *buf, size_t size, const char *ifname)
{
	int n = snprintf(buf, size, "net/ipv4/conf/%s/rp_filter", ifname);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Raise ifname's own rp_filter to at least floor. */
static int rp_raise(const char *ifname, int floor)
{
	char path[SYSCTL_PATH_MAX], value[16];
	int own, err;

	if ((err = rp_path(path, sizeof(path), ifname)) < 0 ||
	    (err = sysctl_get_int(path, &own)) < 0)
		return err;
	if (own >= floor)
		return 0;
	snprintf(value, sizeof(value), "%d", floor);
	return sysctl_set(path, value, NULL);
}

int pin_rp_filter_split(void)
{
	struct dirent *de;
	int all, err, first = 0;
	DIR *dir;

	if ((err = sysctl_get_int("net/ipv4/conf/all/rp_filter", &all)) < 0)
		return err;
	if (all == 0) {
		rp_split_done = true;
		return 0;
	}
	/* Every interface first, `all` last: the effective value never drops
	 * on the way. */
	if (!(dir = opendir("/proc/sys/net/ipv4/conf")))
		return -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "all") == 0 ||
		    valid_ifname(de->d_name) < 0)
			continue;
		if ((err = rp_raise(de->d_name, all)) < 0 && err != -ENOENT) {
			log_warn_e(err, "iface %s: cannot raise rp_filter to %d", de->d_name, all);
			if (!first)
				first = err;
		}
	}
	closedir(dir);
	if (first)
		return first;
	if ((err = sysctl_set("net/ipv4/conf/all/rp_filter", "0", NULL)) < 0)
		return err;
	log_info("rp_filter: moved from all (%d) to each interface, so one left without an IPv4 address can still take packets for our identifiers",
		 all);
	rp_split_done = true;
	return 0;
}

static int addrless_slot(const char *ifname, bool create)
{
	int free_i = -1;

	for (int i = 0; i < ADDRLESS_MAX; i++) {
		if (addrless[i].ifname[0] == '\0') {
			if (free_i < 0)
				free_i = i;
			continue;
		}
		if (strcmp(addrless[i].ifname, ifname) == 0)
			return i;
	}
	if (!create || free_i < 0)
		return -1;
	snprintf(addrless[free_i].ifname, sizeof(addrless[free_i].ifname), "%s", ifname);
	return free_i;
}

int pin_iface_addrless(const char *ifname, bool on)
{
	char path[SYSCTL_PATH_MAX], value[16];
	int own, err, i;

	if (valid_ifname(ifname) < 0 || strcmp(ifname, "lo") == 0)
		return -EINVAL;
	if ((err = rp_path(path, sizeof(path), ifname)) < 0)
		return err;
	i = addrless_slot(ifname, false);
	if (!on) {
		if (i < 0)
			return 0;
		snprintf(value, sizeof(value), "%d", addrless[i].before);
		addrless[i].ifname[0] = '\0';
		if ((err = sysctl_set(path, value, NULL)) < 0)
			return err;
		log_debug("iface %s: has an IPv4 address again, rp_filter back to %s", ifname, value);
		return 0;
	}
	if (i >= 0)
		return 0;
	if (!rp_split_done)
		return 0;	/* warned once at start */
	if ((err = sysctl_get_int(path, &own)) < 0)
		return err;
	if (own == 0)
		return 0;
	if ((i = addrless_slot(ifname, true)) < 0)
		return -ENOSPC;
	addrless[i].before = own;
	if ((err = sysctl_set(path, "0", NULL)) < 0) {
		addrless[i].ifname[0] = '\0';
		return err;
	}
	log_info("iface %s: no IPv4 address left: rp_filter 0 until one comes back, so what the old path still delivers reaches our identifiers",
		 ifname);
	return 0;
}
