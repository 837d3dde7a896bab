/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Identifier pinning: a local address that live flows still use keeps
 * existing on lo after it left its interface, so the sockets' own route
 * lookups still succeed. Pins are tagged with IFA_PROTO = DIME_IFA_PROTO
 * (kernel >= 6.1) so dimed tells its own from the administrator's, also
 * after a crash (pin_flush_stale). Plus the per-interface sysctls a
 * mobility interface needs (rp_filter, ARP), recorded through sysctl.h.
 *
 * Pins:
 *  - IPv4: /32, scope host. Host scope keeps the kernel from choosing the
 *    pin as the source of a new connection (seen here: with scope global
 *    and no other address, `ip route get` picks the pin), while a socket
 *    bound to it still routes and connects (seen here).
 *  - IPv6: /128, IFA_F_NODAD (lo does no DAD anyway, but never tentative),
 *    IFA_F_NOPREFIXROUTE (only the local route), preferred_lft 0 (so
 *    source selection avoids it), valid_lft forever.
 *
 * Each call is a synchronous request on a socket of its own, acknowledged
 * by the kernel and awaited at most PIN_ACK_TIMEOUT_MS (the kernel answers
 * at once unless the RTNL lock is held a long time). They return 0 or
 * -errno and log failures once, with the address.
 */
#ifndef DIME_PIN_H
#define DIME_PIN_H

#include <stdbool.h>
#include <stddef.h>

#include "dime/addr.h"

#define DIME_IFA_PROTO 0xd1
#define PIN_ACK_TIMEOUT_MS 1000

/*
 * A route that always exists for a pinned identifier: a policy rule
 * "from PIN lookup PIN_TABLE" placed after main and default
 * (PIN_RULE_PRIORITY), and in PIN_TABLE one "default dev lo" route per
 * family. While the host has no usable address at all (the gap of a hard
 * hand-off), the sockets' retransmissions still pass a route lookup and
 * reach the queue, where dimed holds them and answers TCP-LD style
 * (sockkill.h); without it they fail before netfilter and the sockets back
 * off unseen. Ordinary routes win whenever one exists, and the rewrite
 * re-routes the packet on the new locator. Rules and routes carry
 * protocol DIME_IFA_PROTO and go with the pins.
 */
#define PIN_TABLE 0xd1d1
/* Before PIN_RULE_PRIORITY, per pin: "from PIN fwmark M/M unreachable",
 * so dimed's own packets (marked M) never take the fallback. */
void pin_set_own_mark(uint32_t mark);
#define PIN_RULE_PRIORITY 33000

/* Pin a on lo, with its fallback route. An existing pin of ours is
 * success; -EEXIST when a is already on lo but not ours (then it is not
 * ours to remove either). */
int pin_add(const struct dime_addr *a);

/* Remove our pin of a from lo; -ENOENT when lo holds no pin of ours for
 * a (an address the administrator put there is never removed). */
int pin_del(const struct dime_addr *a);

/* Remove every address on lo that carries our IFA_PROTO, and every rule
 * and route of PIN_TABLE (left by a previous run). Returns how many pins
 * were removed, or -errno. */
int pin_flush_stale(void);
/* The same, but the pins in keep[0..nkeep) stay (restored from the state
 * file after a restart; pin_add() then gives them their fallback rule). */
int pin_flush_stale_except(const struct dime_addr *keep, size_t nkeep);

/*
 * Prepare a mobility interface, recording every change for
 * sysctl_restore_all():
 *  - rp_filter 2 (loose) when the effective value, max(all, ifname), is 1
 *    (strict): setting the interface to 2 is enough, `all` is left alone;
 *  - arp_ignore 1 when the effective value max(all, ifname) is 0;
 *  - arp_announce 2 when the effective value max(all, ifname) is below 2.
 * 0, or the first -errno (-EINVAL for a bad name, -ENOENT for no such
 * interface); the other settings are still tried.
 */
int pin_prepare_iface(const char *ifname);

/*
 * Reverse-path filtering drops every packet that arrives on an interface
 * with no IPv4 address left (the kernel's "last resort" check fails for
 * strict and loose alike). After a soft hand-off the old link still
 * delivers what the peer sent before it learnt our new address, above all
 * the ACKs of data in flight; losing them stalls TCP for an RTO. So:
 *
 * pin_rp_filter_split() moves rp_filter from `all` to the interfaces: each
 * interface (and `default`, for interfaces yet to come) is raised to
 * max(own, all), then `all` goes to 0. The effective value of every
 * interface is unchanged, and an interface's own value now decides alone.
 * Recorded for sysctl_restore_all(). 0 or the first -errno.
 *
 * pin_iface_addrless(ifname, true) sets that interface's rp_filter to 0
 * while it has no IPv4 address; (ifname, false) puts back the value it
 * had. No-ops when the effective value is already 0, or when `all` could
 * not be split (pin_rp_filter_split() failed and said so).
 */
int pin_rp_filter_split(void);
int pin_iface_addrless(const char *ifname, bool addrless);

#endif
