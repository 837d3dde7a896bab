/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ipset over netlink (libmnl), without libipset: create, destroy, flush,
 * add, delete and test single-address elements of hash:ip sets, one at a
 * time or many in one sendmsg. One struct ipset owns one NETLINK_NETFILTER
 * socket. Every operation is synchronous: it asks for an ack and waits for
 * it at most IPSET_TIMEOUT_MS, so a wedged kernel path cannot hang dimed.
 *
 * Only hash:ip is used: this machine's kernel lacks hash:net,net and there
 * is no hash:ip,ip type, so pairs are built from two hash:ip sets by the
 * caller (rules.c).
 *
 * Errors are -errno; the kernel's IPSET_ERR_* codes are mapped to errnos
 * (ipset_strerror() gives the clear text) and logged once here, at warning
 * level, with the set name and the address. Adding an element that is
 * present and deleting one that is absent succeed (the kernel's "exist"
 * semantics), so callers may repeat an operation safely.
 */
#ifndef DIME_IPSET_H
#define DIME_IPSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"

#define IPSET_NAME_MAX 31	/* IPSET_MAXNAMELEN minus the NUL */
#define IPSET_TIMEOUT_MS 2000	/* longest wait for one batch of acks */

struct ipset;

/* One element operation of a batch; result is filled in (0 or -errno). */
struct ipset_op {
	const char *set;
	bool del;		/* false: add */
	struct dime_addr addr;
	int result;
};

/* What the kernel reports about an existing set. */
struct ipset_info {
	char type[IPSET_NAME_MAX + 1];	/* "hash:ip" */
	int family;			/* AF_INET or AF_INET6 */
	unsigned revision;
};

int ipset_open(struct ipset **out);
void ipset_close(struct ipset *s);

/*
 * Create set NAME of TYPE ("hash:ip") for FAMILY (AF_INET, AF_INET6) with
 * room for MAXELEM elements, at the newest revision the kernel offers for
 * that type. A set of that name that already exists with the same type and
 * family is flushed and reused (its maxelem stays what it was); one of
 * another type or family gives -EEXIST.
 */
int ipset_create(struct ipset *s, const char *name, const char *type, int family, uint32_t maxelem);
/* 0 also when no such set exists; -EBUSY (not logged, the caller may retry)
 * while a rule still references it. */
int ipset_destroy(struct ipset *s, const char *name);
int ipset_flush(struct ipset *s, const char *name);
/* With keep, ipset_create() reuses an existing set of the right type as it
 * is instead of flushing it (taking over from a killed run). */
void ipset_keep_contents(struct ipset *s, bool keep);
/* 0 and *info filled, or -ENOENT (not logged) when there is no such set. */
int ipset_header(struct ipset *s, const char *name, struct ipset_info *info);

int ipset_add_ip(struct ipset *s, const char *name, const struct dime_addr *addr);
int ipset_del_ip(struct ipset *s, const char *name, const struct dime_addr *addr);
/* 1 when ADDR is in the set, 0 when not, -errno on error. */
int ipset_test_ip(struct ipset *s, const char *name, const struct dime_addr *addr);

/*
 * Run N adds/deletes, as many per sendmsg as fit in a page or two, and
 * collect every ack. Each op's result is set; the return value is 0 when
 * all succeeded, else the first error. Failures are logged: the first in
 * full, the rest as a count.
 */
int ipset_apply(struct ipset *s, struct ipset_op *ops, size_t n);

/* Clear text for a -errno this module returned ("set is full (maxelem reached)"). */
const char *ipset_strerror(int err);

#endif
