/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Netlink chores that the rtnetlink and ctnetlink modules (rtnl.c, ctnl.c),
 * the pin requests (pin.c) and ipset (ipset.c) do the same way, written
 * once. Two halves:
 *  - pure: a strict attribute indexer for the parsers (a truncated
 *    attribute is an error, not the end of the list as with
 *    mnl_attr_parse), size checks, walking a received datagram (events,
 *    or the replies to our dump up to its end), the nfnetlink request
 *    header;
 *  - small libmnl socket helpers: open and bind a non-blocking socket with
 *    a large receive buffer, read one datagram that only the kernel may
 *    send, wait for an answer until a deadline, and count malformed
 *    messages with a log that never floods.
 * No state of its own. Functions return 0 or -errno unless said otherwise;
 * the ones that take `who` log their failures once, as "who: ...".
 */
#ifndef DIME_NLUTIL_H
#define DIME_NLUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/netlink.h>

struct mnl_socket;
struct nlattr;

/* ---- pure ---- */

/*
 * Does a whole message start at nlh, with left bytes readable? As
 * mnl_nlmsg_ok(), but a length of 2 GiB or more is not taken for a
 * negative one (libmnl compares it as an int, which would let a hostile
 * length pass and the walk read past the buffer).
 */
static inline bool nlu_msg_ok(const struct nlmsghdr *nlh, int left)
{
	return left >= (int)sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) &&
	       nlh->nlmsg_len <= (unsigned int)left;
}

/*
 * Index the attributes in [buf, buf + len) by type into tb[0..max]; types
 * above max are skipped, the last of a repeated type wins. Any byte left
 * over that does not form a whole attribute is -EBADMSG (the final
 * attribute may lack its alignment padding); tb then holds the attributes
 * before it, every other entry NULL, here and in the two below.
 */
int nlu_attr_table(const void *buf, size_t len, const struct nlattr **tb, unsigned int max);

/* The same over the payload of a nested attribute. */
int nlu_nested_table(const struct nlattr *nest, const struct nlattr **tb, unsigned int max);

/* The same over the attributes of a message whose fixed header of `fixed`
 * bytes follows the nlmsghdr: -EBADMSG when the fixed header is cut; a
 * header without its alignment padding has no attributes. */
int nlu_msg_table(const struct nlmsghdr *nlh, size_t fixed, const struct nlattr **tb,
		  unsigned int max);

/* a is present and its payload is exactly size bytes. */
bool nlu_attr_is(const struct nlattr *a, size_t size);

/* Takes one data message (type >= NLMSG_MIN_TYPE) of a datagram. */
typedef void (*nlu_msg_fn)(void *ctx, const struct nlmsghdr *nlh);

/* Hand every data message of the datagram [buf, buf + len) to fn. */
void nlu_each_msg(const void *buf, size_t len, nlu_msg_fn fn, void *ctx);

/*
 * The same for a datagram on a dump socket, keeping only the replies to
 * the running dump (seq and portid; others are left over from an
 * abandoned request). NLM_F_DUMP_INTR (the table changed under the dump)
 * sets *broken. Returns 1 when the dump ended in this datagram, with *err
 * 0 for NLMSG_DONE or the kernel's -errno for NLMSG_ERROR (-EPROTO for an
 * error of 0, -EBADMSG for a cut one); what follows the end is ignored.
 * Otherwise 0.
 */
int nlu_dump_datagram(const void *buf, size_t len, uint32_t seq, uint32_t portid, bool *broken,
		      nlu_msg_fn fn, void *ctx, int *err);

/* Put an nlmsghdr and an nfgenmsg (version 0, res_id 0) at buf: type
 * (subsys << 8) | msg, NLM_F_REQUEST | flags. The caller sets the
 * sequence number and appends attributes. */
struct nlmsghdr *nlu_put_nfnl_request(void *buf, uint8_t subsys, uint8_t msg, uint16_t flags,
				      uint8_t family);

/* ---- sockets ---- */

/*
 * Open a non-blocking, close-on-exec socket on netlink bus `bus`, bind it
 * to `groups` (a legacy group mask; 0 for none) and ask for a receive
 * buffer of rcvbuf bytes (not fatal when refused). `what` names the socket
 * in the log ("event", "dump").
 */
int nlu_open(struct mnl_socket **out, int bus, unsigned int groups, int rcvbuf, const char *who,
	     const char *what);

/* SO_RCVBUFFORCE (needs CAP_NET_ADMIN) passes rmem_max; plain SO_RCVBUF,
 * capped by the kernel, is the fallback. -errno of the fallback. */
int nlu_set_rcvbuf(int fd, int size);

/* One datagram into buf: its length, 0 for a datagram that did not come
 * from the kernel (dropped), -EMSGSIZE when it did not fit, or -errno
 * (-EAGAIN when none is pending, -ENOBUFS when the socket overflowed). */
ssize_t nlu_recv_kernel(struct mnl_socket *nl, void *buf, size_t size);

/* Monotonic milliseconds, for deadlines. */
uint64_t nlu_now_ms(void);

/* Wait until fd is readable or deadline_ms (nlu_now_ms time) passes. 0
 * (readable, or woken by a signal: read and see), -ETIMEDOUT, -errno. */
int nlu_wait_readable(int fd, uint64_t deadline_ms);

/* Count a malformed message in *count and log it at counts 1, 2, 4, 8...
 * (visible, never a flood) as "what on the where socket (n so far)". */
void nlu_note_malformed(uint64_t *count, const char *what, const char *where);

#endif
