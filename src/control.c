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
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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
};

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
	return c->wlen - c->woff;
}

void ctl_client_close(struct ctl_client *c)
{
	struct ctl_server *srv = c->srv;

	for (unsigned int i = 0; i < CTL_CLIENTS_MAX; i++)
		if (srv->clients[i] == c)
			srv->clients[i] = NULL;
	srv->nclients--;
	if (srv->nclients < CTL_CLIENTS_MAX)
		srv->refusing = false;
	log_debug("control: client %u closed", c->id);
	close(c->fd);
	free(c->frame);
	free(c);
}

static void queue_error(struct ctl_client *c, uint16_t type, enum ctl_result r)
{
	log_info("control: client %u (pid %d uid %d): %s; closing", c->id, (int)c->pid,
		 (int)c->uid, ctl_result_str(r));
	c->wlen = ctl_reply_hdr_only(c->err_frame, type, r);
	c->wptr = c->err_frame;
	c->woff = 0;
	c->closing = true;
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
	c->job_active = true;
	return 0;
}

static void end_job(struct ctl_client *c)
{
	free(c->frame);
	c->frame = NULL;
	c->job_active = false;
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
	c->in_len = 0;
	c->have_hdr = false;
	if (r == CTL_OK || r == CTL_E_UNKNOWN_COMMAND) {
		/* Unknown commands go through the handlers too, which answer
		 * CTL_E_UNKNOWN_COMMAND and keep the connection. */
		return start_job(c, &req) ? CTL_WAIT_CLOSE : CTL_WAIT_WRITE;
	}
	queue_error(c, c->hdr.type, r);
	return CTL_WAIT_WRITE;
}

enum ctl_wait ctl_client_io(struct ctl_client *c, bool readable, bool writable)
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
