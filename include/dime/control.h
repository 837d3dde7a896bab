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

struct dime_hid_table;
struct dime_flow_table;

/* Hands one counter to the reply: 0, -EINVAL (name empty or longer than
 * CTL_NAME_MAX), -ENOSPC (the counters outgrew one reply frame). */
typedef int (*ctl_stat_fn)(void *emit_ctx, const char *name, uint64_t value);

/*
 * What the daemon provides. Every function is called from the loop, between
 * other events, so it sees a consistent table. Tables may be NULL (empty
 * listing). set_locator returns 0 or -errno, which the reply reports through
 * ctl_result_from_errno(): -ENOENT no host owns peer, -EINVAL/-EEXIST the
 * address cannot be that locator, -ENOSPC a table is full.
 */
struct ctl_backend {
	int (*stats)(void *ctx, ctl_stat_fn emit, void *emit_ctx);
	struct dime_hid_table *(*hids)(void *ctx);
	struct dime_flow_table *(*flows)(void *ctx);
	int (*set_locator)(void *ctx, const struct dime_addr *peer, const struct dime_addr *rloc,
			   const struct dime_addr *lloc, uint64_t now_ms);
	uint64_t (*now_ms)(void *ctx);
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
/* Reply bytes held in daemon memory for this client (at most CTL_FRAME_MAX). */
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
	bool done;			/* the last frame has been produced */
	uint32_t cursor;		/* flow pool cursor, or the last HID sent */
};

/* Write the job's next frame (header and body) into buf, which holds
 * CTL_FRAME_MAX bytes, and return its length. Sets job->done with the
 * last frame. */
size_t ctl_job_next_frame(struct ctl_job *job, const struct ctl_backend *be, void *ctx,
			  uint8_t *buf);

#endif
