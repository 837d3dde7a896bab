/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The running daemon: its configuration, and the glue between the kernel
 * I/O modules (nfq, ctnl, rtnl, rules, pin, control) and the pure cores
 * (dataplane, tables). Knows no event loop: loop.c asks it for the file
 * descriptors to watch and calls it back when one is readable or a timer
 * fires. Modules start in dependency order and stop in reverse.
 */
#ifndef DIME_DAEMON_H
#define DIME_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "dime/flow.h"

struct conf_bound_key;

/* Filled from the configuration (conf.c: conf_to_daemon), which holds the
 * only table of defaults. */
struct dimed_config {
	const char *ctl_path;		/* control socket */
	const char *state_path;		/* state file; NULL: next to ctl_path */
	const char *ignore_interfaces;	/* "none" or comma-separated patterns */
	uint16_t queue_out;		/* NFQUEUE numbers */
	uint16_t queue_in;
	uint16_t ihmp_port;		/* never queued */
	bool ihmp;			/* run the control plane */
	uint32_t hold_ms;		/* IHMP hold time */
	uint32_t ihmp_rto_ms;		/* first retransmission timeout */
	uint8_t hello_tries, handoff_tries;
	uint32_t mark;			/* fwmark bit of packets dimed sends itself */
	uint32_t hid_capacity;
	uint32_t flow_capacity;
	uint32_t nfq_maxlen;		/* kernel queue length, packets */
	uint32_t nfq_rcvbuf;		/* bytes */
	bool ipv6;
	bool manage_sysctls;		/* rp_filter / arp_ignore / arp_announce */
	bool offload;			/* steady moved flows rewritten in the kernel */
	bool track_connections;		/* install the rule that turns conntrack on */
	struct dime_flow_timeouts flow_timeouts;
	/* IHMP security (docs/security.md), applied by ihmpkeys_setup(). */
	uint8_t ihmp_auth;		/* enum ihmp_auth_mode (ihmp_sign.h) */
	const char *ihmp_key_path;	/* our private key; missing: we send unsigned */
	const char *ihmp_peer_keys_dir;	/* peers' public keys, one file each */
	/* ihmp-key lines with addresses (conf.h), in the struct dime_conf
	 * conf_to_daemon() read, which must outlive this. */
	const struct conf_bound_key *ihmp_bound_keys;
	unsigned int ihmp_bound_keys_n;
	bool ihmp_tofu;			/* pin a peer's key from its first HELLO */
	uint32_t ihmp_rate;		/* messages/s per source; 0: no limits at all */
	uint32_t ihmp_rate_global;	/* messages/s from all sources; 0: none */
	bool ihmp_path_validation;	/* docs/security.md 3.6 */
};


/* The descriptors loop.c watches for reading. */
enum dimed_fd {
	DIMED_FD_NFQ_OUT,
	DIMED_FD_NFQ_IN,
	DIMED_FD_CT_EVENTS,
	DIMED_FD_CT_DUMP,
	DIMED_FD_SOCK_EVENTS,
	DIMED_FD_RT_EVENTS,
	DIMED_FD_RT_DUMP,
	DIMED_FD_CTL,
	DIMED_FD_IHMP4,
	DIMED_FD_IHMP6,
	DIMED_FD_COUNT,
};

struct dimed;
struct ctl_server;

/* Install rules, open every socket, learn the current addresses and
 * flows. On failure everything done so far is undone and -errno returned
 * (already logged). */
int dimed_start(struct dimed **out, const struct dimed_config *cfg);
/* Remove rules, sets and pins, restore sysctls, close everything. */
void dimed_stop(struct dimed *d);

/*
 * A reloaded configuration: what can change while running takes effect
 * (IHMP timers and try counts, hold time, flow timeouts; the log level is
 * main's); every other difference is logged as needing a restart and left
 * as it was. Returns how many settings changed (applied or not).
 */
int dimed_reload(struct dimed *d, const struct dimed_config *cfg);

/* Who reads the file again for `dimectl reload` (main.c; SIGHUP takes the
 * same path): 0 when applied, -EINVAL when the file has errors. */
void dimed_set_reloader(struct dimed *d, int (*reload)(struct dimed *d));

int dimed_fd(const struct dimed *d, enum dimed_fd which);
/* The descriptor is readable. Returns > 0 when work is left over (the
 * loop should call again soon), 0 when drained. */
int dimed_readable(struct dimed *d, enum dimed_fd which);
/* Periodic work: flow expiry, unused pins. Call every DIMED_TICK_MS. */
#define DIMED_TICK_MS 250
void dimed_tick(struct dimed *d);

/* The loop is about to wait: what was done "once per iteration" may be
 * done again (a socket dump before translating, daemon.c). */
void dimed_iteration_done(struct dimed *d);
/* Timed work (IHMP retransmissions, hold expiry, debounced address
 * events): milliseconds until it is due, or -1 for none. loop.c asks
 * before every wait and calls dimed_timer() when it is due. */
int64_t dimed_timeout_ms(struct dimed *d);
void dimed_timer(struct dimed *d);

struct ctl_server *dimed_ctl_server(struct dimed *d);

#endif
