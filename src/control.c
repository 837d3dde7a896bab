// SPDX-License-Identifier: BSD-2-Clause
/*
 * dimed's control socket (control.h): the listening UNIX socket, its
 * directory and permissions, and each client's non-blocking state machine:
 * read one request (header, then exactly the announced body), hand it to
 * ctl_handlers.c, write the reply frame by frame, then read the next.
 *
 * Failure policy, written once: a frame whose header is not ours (magic,
 * version, flags, length) or whose body does not decode gets one error
 * reply and the connection is closed, because the byte stream can no
 * longer be trusted to be in step. A well-formed request for an unknown
 * command gets CTL_E_UNKNOWN_COMMAND and the connection stays open, so a
 * newer dimectl can probe an older dimed. Any socket error closes the
 * client quietly (debug log): it is the client's loss, not the daemon's.
 *
 * Monitor subscribers (MONITOR): each has a ring of CTL_MONITOR_BUF bytes.
 * An event is encoded once and copied into every ring, and written when
 * the socket is writable (see push_event). The last CTL_HDR_LEN bytes of
 * a ring are kept free, so the frame that ends the stream (too-slow, or
 * the daemon stopping) always fits. A subscriber whose ring cannot take the next
 * event is dropped: it keeps the events it was given, gets "too-slow",
 * and is closed once that is out. Nothing a subscriber sends is read as a
 * request: any byte from it, or its end of stream, closes it.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dime/control.h"
#include "dime/log.h"

struct ctl_server {
	int fd;
	char *path;
	dev_t dev;
	ino_t ino;
	const struct ctl_backend *be;
	void *ctx;
	struct ctl_client *clients[CTL_CLIENTS_MAX];
	unsigned int nclients;
	unsigned int next_id;
	bool bound;			/* the path is ours to remove */
	bool refusing;			/* warned that the bound was reached */
	bool accept_failing;		/* warned that accept fails */
	bool monitor_refusing;		/* warned that CTL_MONITORS_MAX was reached */
	bool bad_event_logged;
	struct ctl_server_stats stats;
	uint64_t seq;			/* of the last event sent to subscribers */
	ctl_wake_fn wake;
	void *wake_ctx;
};

struct ctl_client {
	struct ctl_server *srv;
	int fd;
	unsigned int id;
	pid_t pid;
	uid_t uid;
	bool may_change;
	bool closing;			/* close once the queued bytes are out */
	bool job_active;
	bool have_hdr;
	struct ctl_hdr hdr;
	struct ctl_job job;
	size_t in_len;
	uint8_t in[CTL_REQUEST_MAX];
	uint8_t err_frame[CTL_HDR_LEN];
	uint8_t *frame;			/* CTL_FRAME_MAX bytes while a job runs */
	const uint8_t *wptr;
	size_t wlen, woff;
	void *data;			/* the loop's */
	enum ctl_wait waiting;		/* what the loop watches for */
	/* A monitor subscriber: its ring of CTL_MONITOR_BUF bytes. */
	bool monitor;
	bool mon_dropped;		/* fell behind: the rest, then close */
	bool mon_gone;			/* its socket failed: close at the next call */
	uint8_t *ring;
	size_t rhead, rlen;
};

/* Bytes of an encoded event frame, with room to spare (about 570 used). */
#define EVENT_FRAME_MAX 1024

static void end_subscription(struct ctl_client *c);

/* ---- Socket setup ---- */

/* The gid of CTL_SOCKET_GROUP, or -ENOENT when the group does not exist. */
static int socket_group(gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[4096];
	int err = getgrnam_r(CTL_SOCKET_GROUP, &gr, buf, sizeof(buf), &res);

	if (err)
		return -err;
	if (!res)
		return -ENOENT;
	*gid = gr.gr_gid;
	return 0;
}

/* Create the socket's directory if missing (one level only): 0750, and
 * group "dime" when it exists so its members can reach the socket. */
static int ensure_dir(const char *path, bool have_group, gid_t gid)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0750) < 0) {
		int err = errno;

		if (err == EEXIST)
			return 0;
		log_err_e(err, "control: %s: cannot create the socket directory", dir);
		return -err;
	}
	if (chmod(dir, 0750) < 0 || (have_group && chown(dir, (uid_t)-1, gid) < 0))
		log_warn("control: %s: cannot set mode 0750 group " CTL_SOCKET_GROUP, dir);
	return 0;
}

/* A socket left by a dimed that died is removed; one that answers belongs
 * to a running dimed and is left alone, as is anything not a socket. */
static int clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, rc, err;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_errx("control: %s exists and is not a socket; not replacing it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		log_err_e(err, "control: socket");
		return -err;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	err = rc < 0 ? errno : 0;
	close(fd);
	if (err == ECONNREFUSED) {
		if (unlink(path) < 0 && errno != ENOENT) {
			err = errno;
			log_err_e(err, "control: %s: cannot remove the stale socket", path);
			return -err;
		}
		log_info("control: %s: removed the stale socket of an earlier dimed", path);
		return 0;
	}
	if (err == 0 || err == EAGAIN || err == EINPROGRESS) {
		log_errx("control: %s: another dimed is answering on this socket", path);
		return -EADDRINUSE;
	}
	log_err_e(err, "control: %s: cannot tell whether the socket is in use", path);
	return -err;
}

/* Bound with umask 0177 (0600), then opened to the group: the socket is
 * never reachable by anyone else, even for an instant. */
static int bind_socket(int fd, const char *path, const struct sockaddr_un *sun, bool have_group,
		       gid_t gid)
{
	mode_t old = umask(0177);
	int rc = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));

	if (rc < 0)
		rc = -errno;
	umask(old);
	if (rc < 0) {
		log_err_e(rc, "control: %s: bind", path);
		return rc;
	}
	if (!have_group)
		return 0;
	if (chown(path, (uid_t)-1, gid) < 0 || chmod(path, 0660) < 0) {
		log_warn("control: %s: cannot give group " CTL_SOCKET_GROUP " access; root only",
			 path);
		chmod(path, 0600);
	}
	return 0;
}

static int server_socket(struct ctl_server *srv, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	bool have_group;
	gid_t gid = 0;
	struct stat st;
	int err;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_errx("control: socket path too long (%zu bytes at most): %s",
			 sizeof(sun.sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	have_group = socket_group(&gid) == 0;
	err = ensure_dir(path, have_group, gid);
	if (!err)
		err = clear_stale(path, &sun);
	if (err)
		return err;
	srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->fd < 0) {
		err = -errno;
		log_err_e(err, "control: socket");
		return err;
	}
	err = bind_socket(srv->fd, path, &sun, have_group, gid);
	if (err)
		return err;
	srv->bound = true;
	if (listen(srv->fd, CTL_CLIENTS_MAX) < 0 || stat(path, &st) < 0) {
		err = -errno;
		log_err_e(err, "control: %s: listen", path);
		return err;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	log_info("control: listening on %s (%s)", path,
		 have_group ? "mode 0660, group " CTL_SOCKET_GROUP : "mode 0600, root only");
	return 0;
}

int ctl_server_open(struct ctl_server **out, const char *path, const struct ctl_backend *backend,
		    void *ctx)
{
	struct ctl_server *srv = calloc(1, sizeof(*srv));
	int err;

	if (!srv || !(srv->path = strdup(path))) {
		free(srv);
		return -ENOMEM;
	}
	srv->fd = -1;
	srv->be = backend;
	srv->ctx = ctx;
	err = server_socket(srv, path);
	if (err) {
		if (srv->fd >= 0)
			close(srv->fd);
		if (srv->bound)
			unlink(path);
		free(srv->path);
		free(srv);
		return err;
	}
	*out = srv;
	return 0;
}

void ctl_server_close(struct ctl_server *srv)
{
	struct stat st;

	if (!srv)
		return;
	for (unsigned int i = 0; i < CTL_CLIENTS_MAX; i++)
		if (srv->clients[i])
			ctl_client_close(srv->clients[i]);
	close(srv->fd);
	/* Remove the path only if it is still our socket. */
	if (stat(srv->path, &st) == 0 && st.st_dev == srv->dev && st.st_ino == srv->ino)
		unlink(srv->path);
	free(srv->path);
	free(srv);
}

int ctl_server_fd(const struct ctl_server *srv)
{
	return srv->fd;
}

unsigned int ctl_server_clients(const struct ctl_server *srv)
{
	return srv->nclients;
}

const struct ctl_server_stats *ctl_server_stats(const struct ctl_server *srv)
{
	return &srv->stats;
}

void ctl_server_set_wake(struct ctl_server *srv, ctl_wake_fn wake, void *loop_ctx)
{
	srv->wake = wake;
	srv->wake_ctx = loop_ctx;
}

/* ---- Accepting ---- */

/* The refusal fits any fresh socket buffer, so one non-blocking send
 * either delivers it or the client is gone anyway. */
static void refuse(struct ctl_server *srv, int fd)
{
	uint8_t frame[CTL_HDR_LEN];

	if (!srv->refusing)
		log_warnx("control: %u clients connected; refusing more until one leaves",
			  CTL_CLIENTS_MAX);
	srv->refusing = true;
	send(fd, frame, ctl_reply_hdr_only(frame, 0, CTL_E_BUSY), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void peer_credentials(struct ctl_client *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	c->pid = 0;
	c->uid = (uid_t)-1;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && len == sizeof(cred)) {
		c->pid = cred.pid;
		c->uid = cred.uid;
		log_debug("control: client %u connected: pid %d uid %u gid %u", c->id, (int)cred.pid,
			  (unsigned int)cred.uid, (unsigned int)cred.gid);
	} else {
		log_debug("control: client %u connected, credentials unknown", c->id);
	}
	c->may_change = c->uid == 0 || c->uid == geteuid();
}

int ctl_server_accept(struct ctl_server *srv, struct ctl_client **client)
{
	struct ctl_client *c;
	int fd;

	*client = NULL;
	fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == ECONNABORTED)
			return 0;
		/* EMFILE and friends repeat on every wakeup: say it once. */
		if (!srv->accept_failing)
			log_warn_e(err, "control: accept");
		srv->accept_failing = true;
		return -err;
	}
	srv->accept_failing = false;
	if (srv->nclients == CTL_CLIENTS_MAX) {
		refuse(srv, fd);
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		log_warnx("control: out of memory for a new client");
		return -ENOMEM;
	}
	c->srv = srv;
	c->fd = fd;
	c->id = ++srv->next_id;
	c->waiting = CTL_WAIT_READ;
	peer_credentials(c);
	for (unsigned int i = 0; i < CTL_CLIENTS_MAX; i++) {
		if (!srv->clients[i]) {
			srv->clients[i] = c;
			break;
		}
	}
	srv->nclients++;
	*client = c;
	return 0;
}

/* ---- One client ---- */

int ctl_client_fd(const struct ctl_client *c)
{
	return c->fd;
}

size_t ctl_client_pending(const struct ctl_client *c)
{
	return c->wlen - c->woff + c->rlen;
}

void ctl_client_set_data(struct ctl_client *c, void *data)
{
	c->data = data;
}

void *ctl_client_data(const struct ctl_client *c)
{
	return c->data;
}

/* The client no longer counts as a subscriber (dropped or leaving). */
static void unsubscribe(struct ctl_client *c)
{
	if (!c->monitor || c->mon_dropped)
		return;
	c->mon_dropped = true;
	if (--c->srv->stats.monitors < CTL_MONITORS_MAX)
		c->srv->monitor_refusing = false;
}

void ctl_client_close(struct ctl_client *c)
{
	struct ctl_server *srv = c->srv;

	end_subscription(c);
	unsubscribe(c);
	for (unsigned int i = 0; i < CTL_CLIENTS_MAX; i++)
		if (srv->clients[i] == c)
			srv->clients[i] = NULL;
	srv->nclients--;
	if (srv->nclients < CTL_CLIENTS_MAX)
		srv->refusing = false;
	log_debug("control: client %u closed", c->id);
	close(c->fd);
	free(c->frame);
	free(c->ring);
	free(c);
}

/* A header-only reply; the connection stays open unless closing. */
static void queue_hdr(struct ctl_client *c, uint16_t type, enum ctl_result r, bool closing)
{
	c->wlen = ctl_reply_hdr_only(c->err_frame, type, r);
	c->wptr = c->err_frame;
	c->woff = 0;
	c->closing = closing;
}

static void queue_error(struct ctl_client *c, uint16_t type, enum ctl_result r)
{
	log_info("control: client %u (pid %d uid %d): %s; closing", c->id, (int)c->pid,
		 (int)c->uid, ctl_result_str(r));
	queue_hdr(c, type, r, true);
}

/* Write what is queued: 0 when all went, -EAGAIN, or another -errno. */
static int flush(struct ctl_client *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = send(c->fd, c->wptr + c->woff, c->wlen - c->woff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		c->woff += (size_t)n;
	}
	c->wlen = c->woff = 0;
	return 0;
}

/* Before closing on an error: discard what the client already sent. A
 * UNIX socket closed with unread data makes the peer's next read fail
 * with ECONNRESET instead of a clean end of stream after our reply.
 * Bounded: a client that keeps sending just gets the reset. */
static void drain(struct ctl_client *c)
{
	uint8_t sink[4096];

	for (int i = 0; i < 16; i++)
		if (recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
			break;
}

/* Read until `want` bytes of the request are in: 0 when they are,
 * -EAGAIN, -EPIPE at end of stream, or another -errno. */
static int fill(struct ctl_client *c, size_t want)
{
	while (c->in_len < want) {
		ssize_t n = recv(c->fd, c->in + c->in_len, want - c->in_len, MSG_DONTWAIT);

		if (n == 0)
			return -EPIPE;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		c->in_len += (size_t)n;
	}
	return 0;
}

/* ---- Monitor subscribers ---- */

static size_t ring_room(const struct ctl_client *c)
{
	return CTL_MONITOR_BUF - c->rlen;
}

/* The caller checked the room. */
static void ring_put(struct ctl_client *c, const uint8_t *p, size_t n)
{
	size_t tail = (c->rhead + c->rlen) % CTL_MONITOR_BUF;
	size_t first = n < CTL_MONITOR_BUF - tail ? n : CTL_MONITOR_BUF - tail;

	memcpy(c->ring + tail, p, first);
	memcpy(c->ring, p + first, n - first);
	c->rlen += n;
}

/* Write what the ring holds: 0 when all went, -EAGAIN, or another -errno. */
static int ring_flush(struct ctl_client *c)
{
	while (c->rlen) {
		size_t first = c->rlen < CTL_MONITOR_BUF - c->rhead ? c->rlen :
								    CTL_MONITOR_BUF - c->rhead;
		struct iovec iov[2] = { { c->ring + c->rhead, first },
					{ c->ring, c->rlen - first } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = c->rlen > first ? 2 : 1 };
		ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		c->rhead = (c->rhead + (size_t)n) % CTL_MONITOR_BUF;
		c->rlen -= (size_t)n;
	}
	c->rhead = 0;
	return 0;
}

/* The loop watches c for reading; it has bytes to write now. */
static void want_write(struct ctl_client *c)
{
	if (c->waiting != CTL_WAIT_READ)
		return;
	if (c->srv->wake) {
		c->srv->wake(c->srv->wake_ctx, c);
		c->waiting = CTL_WAIT_WRITE;
	} else if (c->mon_dropped || c->mon_gone) {
		/* No wake function: ending our reading side makes the socket
		 * readable at once, so the loop calls us and we can ask for
		 * writing. Only for a client we are done reading from. */
		shutdown(c->fd, SHUT_RD);
	}
}

/* Queue a header-only frame that ends the stream: it always fits, as
 * every event left CTL_HDR_LEN bytes free. */
static void end_stream(struct ctl_client *c, enum ctl_result r)
{
	uint8_t frame[CTL_HDR_LEN];

	ring_put(c, frame, ctl_reply_hdr_only(frame, CTL_T_MONITOR, r));
}

static void flush_now(struct ctl_client *c)
{
	int err = ring_flush(c);

	if (err && err != -EAGAIN) {
		log_debug("control: client %u: %s", c->id, strerror(-err));
		c->mon_gone = true;
	}
	if (err)
		want_write(c);
}

static void drop_slow(struct ctl_client *c)
{
	c->srv->stats.monitor_dropped++;
	unsubscribe(c);
	log_notice("control: client %u (pid %d uid %d) fell %zu bytes behind the event stream: "
		   "dropped", c->id, (int)c->pid, (int)c->uid, c->rlen);
	end_stream(c, CTL_E_TOO_SLOW);
	flush_now(c);
	/* Even when all went out: the loop must call us to close it. */
	want_write(c);
}

/*
 * With a wake function, events are batched: queued, and written when the
 * loop finds the socket writable, in one call for all of them (a burst of
 * hand-off events costs one write, not one each). Once a quarter of the
 * ring is in use, or without a wake function, they are written at once.
 */
static void push_event(struct ctl_client *c, const uint8_t *frame, size_t len)
{
	if (!c || !c->monitor || c->mon_dropped || c->mon_gone)
		return;
	if (ring_room(c) < len + CTL_HDR_LEN)
		flush_now(c);
	if (c->mon_gone)
		return;
	if (ring_room(c) < len + CTL_HDR_LEN) {
		drop_slow(c);
		return;
	}
	ring_put(c, frame, len);
	c->srv->stats.monitor_sent++;
	if (c->srv->wake && c->rlen < CTL_MONITOR_BUF / 4)
		want_write(c);
	else
		flush_now(c);
}

/* MONITOR: from now on this client only receives. The first frame says
 * the subscription is in place (MORE, empty). */
static enum ctl_wait subscribe(struct ctl_client *c)
{
	struct ctl_server *srv = c->srv;
	struct ctl_hdr hdr = { .version = CTL_VERSION, .flags = CTL_F_REPLY | CTL_F_MORE,
			       .type = CTL_T_MONITOR };
	uint8_t ack[CTL_HDR_LEN];

	if (srv->stats.monitors == CTL_MONITORS_MAX) {
		srv->stats.monitor_refused++;
		if (!srv->monitor_refusing)
			log_warnx("control: %u clients monitor events; refusing more until one leaves",
				  CTL_MONITORS_MAX);
		srv->monitor_refusing = true;
		queue_hdr(c, CTL_T_MONITOR, CTL_E_MONITOR_FULL, false);
		return CTL_WAIT_WRITE;
	}
	c->ring = malloc(CTL_MONITOR_BUF);
	if (!c->ring) {
		log_warnx("control: client %u: out of memory for an event stream", c->id);
		queue_hdr(c, CTL_T_MONITOR, CTL_E_INTERNAL, false);
		return CTL_WAIT_WRITE;
	}
	c->monitor = true;
	srv->stats.monitors++;
	log_info("control: client %u (pid %d uid %d) monitors events", c->id, (int)c->pid,
		 (int)c->uid);
	ctl_hdr_put(ack, &hdr);
	ring_put(c, ack, sizeof(ack));
	return CTL_WAIT_WRITE;
}

/* A subscriber's turn: write; once all is out, watch for it leaving. */
static enum ctl_wait monitor_io(struct ctl_client *c)
{
	uint8_t sink[256];
	ssize_t n;
	int err = c->mon_gone ? -EPIPE : ring_flush(c);

	if (err == -EAGAIN)
		return CTL_WAIT_WRITE;
	if (err) {
		log_debug("control: client %u: %s", c->id, strerror(-err));
		c->mon_gone = true;
		return CTL_WAIT_CLOSE;
	}
	if (c->mon_dropped)
		return CTL_WAIT_CLOSE;
	n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return CTL_WAIT_READ;
	if (n > 0)
		log_info("control: client %u sent a request while monitoring; closing", c->id);
	c->mon_gone = true;	/* it ended the stream: no end frame */
	return CTL_WAIT_CLOSE;
}

static void fill_event(struct ctl_event_rec *rec, const struct ctl_event *ev)
{
	memset(rec, 0, sizeof(*rec));
	rec->hid = ev->hid;
	rec->addr = ev->addr;
	memcpy(rec->rloc, ev->rloc, sizeof(rec->rloc));
	memcpy(rec->lloc, ev->lloc, sizeof(rec->lloc));
	rec->has_value = ev->has_value;
	rec->value = ev->has_value ? ev->value : 0;
	if (ev->ifname && strlen(ev->ifname) <= CTL_NAME_MAX)
		snprintf(rec->ifname, sizeof(rec->ifname), "%s", ev->ifname);
	if (ev->text)
		snprintf(rec->text, sizeof(rec->text), "%s", ev->text);
}

static uint64_t wall_ms(const struct ctl_server *srv)
{
	struct timespec ts;

	if (srv->be->wall_ms)
		return srv->be->wall_ms(srv->ctx);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The whole frame of one event into buf (EVENT_FRAME_MAX bytes): its
 * length, or 0 when the event cannot be encoded (logged once). */
static size_t encode_event(struct ctl_server *srv, const struct ctl_event *ev, uint8_t *buf)
{
	struct ctl_event_rec rec;
	const char *kind = ctl_event_kind_name(ev->kind);
	struct ctl_hdr hdr = { .version = CTL_VERSION, .flags = CTL_F_REPLY | CTL_F_MORE,
			       .type = CTL_T_MONITOR };
	struct ctl_writer w;
	int err = -EINVAL;

	fill_event(&rec, ev);
	rec.seq = srv->seq + 1;
	rec.time_ms = wall_ms(srv);
	rec.mono_ms = srv->be->now_ms(srv->ctx);
	ctl_writer_init(&w, buf + CTL_HDR_LEN, EVENT_FRAME_MAX - CTL_HDR_LEN);
	if (kind) {
		snprintf(rec.kind, sizeof(rec.kind), "%s", kind);
		err = ctl_put_event_rec(&w, &rec);
	}
	if (err) {
		srv->stats.monitor_bad_events++;
		if (!srv->bad_event_logged)
			log_warn_e(err, "control: event of kind %d cannot be sent to monitors",
				   (int)ev->kind);
		srv->bad_event_logged = true;
		return 0;
	}
	hdr.len = (uint32_t)w.len;
	ctl_hdr_put(buf, &hdr);
	srv->seq++;
	return CTL_HDR_LEN + w.len;
}

bool ctl_server_monitored(const struct ctl_server *srv)
{
	return srv && srv->stats.monitors > 0;
}

void ctl_server_event(struct ctl_server *srv, const struct ctl_event *ev)
{
	uint8_t frame[EVENT_FRAME_MAX];
	size_t len;

	if (!srv)
		return;
	srv->stats.monitor_events++;
	if (!srv->stats.monitors)
		return;
	len = encode_event(srv, ev, frame);
	for (unsigned int i = 0; len && i < CTL_CLIENTS_MAX; i++)
		push_event(srv->clients[i], frame, len);
}

/* A subscriber closed by the daemon (it stops) is told, as far as its
 * socket takes it right now, that the stream ends here. One that left
 * or failed gets nothing: the send would fail anyway. */
static void end_subscription(struct ctl_client *c)
{
	if (!c->monitor || c->mon_dropped || c->mon_gone)
		return;
	end_stream(c, CTL_OK);
	ring_flush(c);
}

static int start_job(struct ctl_client *c, const struct ctl_request *req)
{
	c->frame = malloc(CTL_FRAME_MAX);
	if (!c->frame) {
		log_warnx("control: client %u: out of memory for a reply", c->id);
		return -ENOMEM;
	}
	memset(&c->job, 0, sizeof(c->job));
	c->job.req = *req;
	c->job.may_change = c->may_change;
	c->job.root = c->uid == 0;
	c->job.server = &c->srv->stats;
	c->job_active = true;
	return 0;
}

static void end_job(struct ctl_client *c)
{
	free(c->frame);
	c->frame = NULL;
	c->job_active = false;
	explicit_bzero(&c->job.req.key, sizeof(c->job.req.key));
}

/* Take in one request. CTL_WAIT_READ: not complete yet; CTL_WAIT_CLOSE:
 * the client left; CTL_WAIT_WRITE: a job started or an error is queued. */
static enum ctl_wait read_request(struct ctl_client *c)
{
	struct ctl_request req;
	enum ctl_result r;
	int err = fill(c, CTL_HDR_LEN);

	if (!err && !c->have_hdr) {
		r = ctl_hdr_get(c->in, CTL_HDR_LEN, false, &c->hdr);
		if (r != CTL_OK) {
			queue_error(c, c->hdr.type, r);
			return CTL_WAIT_WRITE;
		}
		c->have_hdr = true;
	}
	if (!err)
		err = fill(c, CTL_HDR_LEN + c->hdr.len);
	if (err == -EAGAIN)
		return CTL_WAIT_READ;
	if (err) {
		if (err != -EPIPE || c->in_len)
			log_debug("control: client %u left mid-request: %s", c->id, strerror(-err));
		return CTL_WAIT_CLOSE;
	}
	r = ctl_request_decode(&c->hdr, c->in + CTL_HDR_LEN, c->hdr.len, &req);
	/* SET_LOCAL_KEY carries a private key: no copy outlives its use. */
	explicit_bzero(c->in, CTL_HDR_LEN + c->hdr.len);
	c->in_len = 0;
	c->have_hdr = false;
	if (r == CTL_OK && req.type == CTL_T_MONITOR)
		return subscribe(c);
	if (r == CTL_OK || r == CTL_E_UNKNOWN_COMMAND) {
		/* Unknown commands go through the handlers too, which answer
		 * CTL_E_UNKNOWN_COMMAND and keep the connection. */
		err = start_job(c, &req);
		explicit_bzero(&req.key, sizeof(req.key));
		return err ? CTL_WAIT_CLOSE : CTL_WAIT_WRITE;
	}
	explicit_bzero(&req.key, sizeof(req.key));
	queue_error(c, c->hdr.type, r);
	return CTL_WAIT_WRITE;
}

static enum ctl_wait client_io(struct ctl_client *c)
{
	unsigned int frames = 0;
	enum ctl_wait next;

	for (;;) {
		if (c->wlen) {
			int err = flush(c);

			if (err == -EAGAIN)
				return CTL_WAIT_WRITE;
			if (err) {
				log_debug("control: client %u: %s", c->id, strerror(-err));
				return CTL_WAIT_CLOSE;
			}
		}
		if (c->closing) {
			drain(c);
			return CTL_WAIT_CLOSE;
		}
		if (c->monitor)
			return monitor_io(c);
		if (c->job_active && c->job.done) {
			end_job(c);
			continue;
		}
		if (c->job_active) {
			/* Yield now and then: the loop has packets to move. */
			if (frames++ == CTL_FRAMES_PER_IO)
				return CTL_WAIT_WRITE;
			c->wlen = ctl_job_next_frame(&c->job, c->srv->be, c->srv->ctx, c->frame);
			c->wptr = c->frame;
			c->woff = 0;
			continue;
		}
		next = read_request(c);
		if (next != CTL_WAIT_WRITE)
			return next;
	}
}

enum ctl_wait ctl_client_io(struct ctl_client *c, bool readable, bool writable)
{
	c->waiting = client_io(c);
	return c->waiting;
}
