/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dimed's control socket: the server side of the protocol in ctl_proto.h.
 * No libev here: the loop owns one watcher for the listening socket and one
 * per client, and this module tells it what each client waits for next.
 *
 *	ctl_server_open()		socket bound, listening
 *	ctl_server_fd()			watch for readable
 *	ctl_server_accept()		on readable; a new client to watch, or none
 *	ctl_client_io(c, r, w)		on the client's events; returns what to
 *					watch next, or CTL_WAIT_CLOSE: stop the
 *					watcher, then ctl_client_close()
 *	ctl_server_close()		after stopping every watcher
 *
 * Bounds: at most CTL_CLIENTS_MAX clients (one more is told "busy" and
 * closed); one request at a time per client, read into a fixed buffer;
 * replies are produced one frame at a time, the next only once the last
 * left, so a client that stops reading pins at most one frame
 * (CTL_FRAME_MAX bytes) of daemon memory. A long listing yields to the
 * loop every CTL_FRAMES_PER_IO frames.
 *
 * Requests that change state (CTL_T_CHANGES_STATE) are refused unless the
 * peer (SO_PEERCRED) is root or dimed's own user; members of group "dime"
 * may read.
 *
 * Events: a client that sends MONITOR becomes a subscriber (at most
 * CTL_MONITORS_MAX; one more is told "monitor-full") and from then on only
 * receives. The daemon reports what happens with ctl_server_event(); each
 * event is encoded once and copied into every subscriber's own buffer of
 * CTL_MONITOR_BUF bytes, then written as far as the socket takes it
 * without blocking. A subscriber whose buffer would overflow (it reads
 * slower than events come) is dropped: it gets the events it had and a
 * final "too-slow" frame, then is closed; counted in
 * ctl_server_stats()->monitor_dropped. The daemon never waits for a
 * subscriber and never holds more than CTL_MONITOR_BUF bytes for one.
 */
#ifndef DIME_CONTROL_H
#define DIME_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"
#include "dime/ctl_proto.h"

#define CTL_SOCKET_PATH "/run/dime/dimed.sock"
#define CTL_SOCKET_GROUP "dime"
#define CTL_CLIENTS_MAX 16
#define CTL_FRAMES_PER_IO 4
#define CTL_MONITORS_MAX 8		/* of the CTL_CLIENTS_MAX */
#define CTL_MONITOR_BUF (256u * 1024u)	/* bytes held for one subscriber */

struct dime_hid_table;
struct dime_flow_table;

/* Hands one counter to the reply: 0, -EINVAL (name empty or longer than
 * CTL_NAME_MAX), -ENOSPC (the counters outgrew one reply frame). */
typedef int (*ctl_stat_fn)(void *emit_ctx, const char *name, uint64_t value);

/* Hands one of the host's addresses to the SHOW_ADDRS reply: 0, -EINVAL
 * (address unset, or ifname longer than CTL_NAME_MAX), -ENOSPC (already
 * CTL_ADDRS_MAX records: stop and return it). rec->flows is ignored: the
 * handler counts the flows from the flow table itself. */
typedef int (*ctl_addr_fn)(void *emit_ctx, const struct ctl_addr_rec *rec);

/* Hands one of our IHMP keys to the SHOW_KEYS reply: 0, -ENOSPC. */
typedef int (*ctl_lkey_fn)(void *emit_ctx, const struct ctl_lkey_rec *rec);

/*
 * What the daemon provides. Every function is called from the loop, between
 * other events, so it sees a consistent table. Tables may be NULL (empty
 * listing). set_locator returns 0 or -errno, which the reply reports through
 * ctl_result_from_errno(): -ENOENT no host owns peer, -EINVAL/-EEXIST the
 * address cannot be that locator, -ENOSPC a table is full.
 *
 * now_ms is required. Every other hook may be NULL: a request that needs a
 * missing one is answered "unknown-command" (command not supported by this
 * dimed).
 *  - addrs: every address of the host as dimed sees it, one emit() per
 *    address and interface (pins included, on lo), any order; 0 or the
 *    first -errno (an emit error may be passed on as it is).
 *  - wall_ms: CLOCK_REALTIME in ms for event time stamps; NULL reads the
 *    clock itself (tests give a fixed one).
 */
struct ctl_backend {
	int (*stats)(void *ctx, ctl_stat_fn emit, void *emit_ctx);
	struct dime_hid_table *(*hids)(void *ctx);
	struct dime_flow_table *(*flows)(void *ctx);
	int (*set_locator)(void *ctx, const struct dime_addr *peer, const struct dime_addr *rloc,
			   const struct dime_addr *lloc, uint64_t now_ms);
	uint64_t (*now_ms)(void *ctx);
	int (*addrs)(void *ctx, ctl_addr_fn emit, void *emit_ctx);
	/* RELOAD: the same path as SIGHUP. 0 when the file was applied,
	 * -EINVAL when it has errors (logged; the running configuration
	 * stays). NULL: not supported. */
	int (*reload)(void *ctx);
	uint64_t (*wall_ms)(void *ctx);
	/* SET_LOCAL_KEY (the handler lets only uid 0 through): install or
	 * remove one of our IHMP keys, write its key id (zeros for a
	 * removal). 0; -EOPNOTSUPP IHMP is off; -EINVAL bad key or list;
	 * -EEXIST a prefix is bound to another list; -ENOSPC too many keys;
	 * -ENOENT nothing to remove. ihmpkeys_ctl_set_local() is one. */
	int (*set_local_key)(void *ctx, const struct ctl_set_local_key *req, uint8_t *key_id,
			     uint8_t *pub);
	/* SHOW_KEYS: every key of ours, one emit() each; 0, -EOPNOTSUPP (IHMP
	 * is off), or the first emit error. ihmpkeys_ctl_list() is one. */
	int (*local_keys)(void *ctx, ctl_lkey_fn emit, void *emit_ctx);
};

/*
 * One event, as the daemon reports it (see enum ctl_event_kind for which
 * fields each kind fills). Unset fields are zero: hid 0, family 0, NULL
 * strings, has_value false. rloc/lloc are indexed CTL_AF4/CTL_AF6 (the
 * same as DIME_AF4/DIME_AF6), so a HID entry's arrays copy over as they
 * are. Text longer than CTL_TEXT_MAX is cut; an ifname longer than
 * CTL_NAME_MAX is left out.
 */
struct ctl_event {
	enum ctl_event_kind kind;
	uint32_t hid;
	struct dime_addr addr;
	struct dime_addr rloc[2], lloc[2];
	bool has_value;
	uint64_t value;
	const char *ifname;
	const char *text;
};

/* The server's own counters; `dimectl stats` lists them as ctl_*. */
struct ctl_server_stats {
	uint64_t monitor_events;	/* events reported (subscribers or not) */
	uint64_t monitor_sent;		/* event frames queued to subscribers */
	uint64_t monitor_dropped;	/* subscribers dropped: fell CTL_MONITOR_BUF behind */
	uint64_t monitor_refused;	/* MONITOR refused: CTL_MONITORS_MAX subscribed */
	uint64_t monitor_bad_events;	/* events that could not be encoded (logged) */
	uint32_t monitors;		/* subscribers now */
};

enum ctl_wait {
	CTL_WAIT_CLOSE = 0,
	CTL_WAIT_READ = 1,
	CTL_WAIT_WRITE = 2,
};

struct ctl_server;
struct ctl_client;

/*
 * Create the socket at path: its directory is created 0750 when missing; a
 * socket already there is replaced only when nobody answers on it
 * (-EADDRINUSE otherwise; -EEXIST when path is not a socket). The socket
 * ends up 0660 group "dime" when that group exists, else 0600 (root only).
 * backend and ctx must outlive the server. 0 or -errno, logged.
 */
int ctl_server_open(struct ctl_server **out, const char *path, const struct ctl_backend *backend,
		    void *ctx);
/* Close every client still open, the socket, and remove its path. */
void ctl_server_close(struct ctl_server *srv);
int ctl_server_fd(const struct ctl_server *srv);
unsigned int ctl_server_clients(const struct ctl_server *srv);
const struct ctl_server_stats *ctl_server_stats(const struct ctl_server *srv);

/*
 * Report an event to every subscriber; srv may be NULL (no control socket
 * yet). Cheap when nobody listens: check ctl_server_monitored() first only
 * if building the event itself costs something. Never blocks, never
 * fails: a subscriber that cannot take it is dropped (see above).
 */
void ctl_server_event(struct ctl_server *srv, const struct ctl_event *ev);
bool ctl_server_monitored(const struct ctl_server *srv);

/*
 * A subscriber is watched for reading while it has nothing to receive.
 * When an event is queued for it, wake(loop_ctx, c) tells the loop to
 * watch c for writing (and then call ctl_client_io as usual), so the
 * events of one loop iteration go out together. wake must only re-arm the
 * watcher: never call ctl_client_io or ctl_client_close from inside.
 * Without a wake function (it is optional) every event is written at once
 * as far as the socket takes it, and what the socket does not take goes
 * out with the next event, or when the client sends or leaves.
 */
typedef void (*ctl_wake_fn)(void *loop_ctx, struct ctl_client *c);
void ctl_server_set_wake(struct ctl_server *srv, ctl_wake_fn wake, void *loop_ctx);

/* A pointer the loop keeps with a client (its watcher); NULL at first. */
void ctl_client_set_data(struct ctl_client *c, void *data);
void *ctl_client_data(const struct ctl_client *c);

/*
 * Accept one pending connection. 0 with *client set to the new client
 * (watch it for reading), or with *client NULL when there was nothing to
 * accept or the client was refused (too many). -errno (logged) when accept
 * itself fails, for example -EMFILE.
 */
int ctl_server_accept(struct ctl_server *srv, struct ctl_client **client);

int ctl_client_fd(const struct ctl_client *c);
/* Do all the reading and writing that is possible without blocking. The
 * flags say which events fired; either may be false. */
enum ctl_wait ctl_client_io(struct ctl_client *c, bool readable, bool writable);
/* Reply bytes held in daemon memory for this client (at most
 * CTL_FRAME_MAX; CTL_MONITOR_BUF for a subscriber). */
size_t ctl_client_pending(const struct ctl_client *c);
/* Close and free; the loop's watcher must be stopped first. */
void ctl_client_close(struct ctl_client *c);

/*
 * Between control.c and ctl_handlers.c: one reply in production. The
 * request, whether its sender may change state, and where a listing
 * stopped, so the next frame carries on from there.
 */
struct ctl_job {
	struct ctl_request req;
	bool may_change;
	bool root;			/* the client's uid (SO_PEERCRED) is 0 */
	bool done;			/* the last frame has been produced */
	uint32_t cursor;		/* flow pool cursor, or the last HID sent */
	const struct ctl_server_stats *server;	/* appended to STATS; may be NULL */
};

/* Write the job's next frame (header and body) into buf, which holds
 * CTL_FRAME_MAX bytes, and return its length. Sets job->done with the
 * last frame. */
size_t ctl_job_next_frame(struct ctl_job *job, const struct ctl_backend *be, void *ctx,
			  uint8_t *buf);

#endif
