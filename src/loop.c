// SPDX-License-Identifier: BSD-2-Clause
/*
 * The event loop: the only file besides main.c that knows libev. One io
 * watcher per daemon descriptor, one per control client, a periodic tick,
 * and the signals that stop the daemon. A handler that reports leftover
 * work (a busy queue drained in bounded rounds) is called again from an
 * idle watcher, so one flooded queue cannot starve the others.
 */
#include <errno.h>
#include <stddef.h>
#include <ev.h>
#include <signal.h>
#include <stdlib.h>

#include "dime/control.h"
#include "dime/daemon.h"
#include "dime/log.h"
#include "dime/loop.h"

struct fd_watch {
	ev_io io;
	struct loop *l;
	enum dimed_fd which;
	bool pending;		/* more work left after the last call */
};

struct client_watch {
	ev_io io;
	struct loop *l;
	struct ctl_client *client;
	struct client_watch *prev, *next;
};

struct loop {
	struct ev_loop *ev;
	struct dimed *d;
	struct fd_watch fds[DIMED_FD_COUNT];
	ev_idle again;
	ev_timer tick;
	ev_prepare before_wait;
	ev_timer due;		/* the daemon's next timed work (IHMP, debounce) */
	ev_signal sigterm, sigint, sighup;
	int stop_signal;
	void (*reload)(struct dimed *d);
	struct client_watch *clients;	/* every connected control client */
};

static void run_fd(struct fd_watch *w)
{
	int rc = dimed_readable(w->l->d, w->which);

	w->pending = rc > 0;
	if (rc < 0 && rc != -EAGAIN)
		log_debug("descriptor %d: %d", w->which, rc);
	if (w->pending)
		ev_idle_start(w->l->ev, &w->l->again);
}

static void on_fd(struct ev_loop *ev, ev_io *io, int revents)
{
	run_fd((struct fd_watch *)io);
}

/* Leftover work: one more bounded round for every descriptor that had some. */
static void on_again(struct ev_loop *ev, ev_idle *idle, int revents)
{
	struct loop *l = (struct loop *)((char *)idle - offsetof(struct loop, again));
	bool more = false;

	for (int i = 0; i < DIMED_FD_COUNT; i++) {
		if (!l->fds[i].pending)
			continue;
		run_fd(&l->fds[i]);
		more |= l->fds[i].pending;
	}
	if (!more)
		ev_idle_stop(ev, idle);
}

static void client_free(struct client_watch *cw)
{
	ev_io_stop(cw->l->ev, &cw->io);
	ctl_client_close(cw->client);
	if (cw->prev)
		cw->prev->next = cw->next;
	else
		cw->l->clients = cw->next;
	if (cw->next)
		cw->next->prev = cw->prev;
	free(cw);
}

static void client_rearm(struct client_watch *cw, enum ctl_wait wait)
{
	if (wait == CTL_WAIT_CLOSE) {
		client_free(cw);
		return;
	}
	ev_io_stop(cw->l->ev, &cw->io);
	ev_io_set(&cw->io, ctl_client_fd(cw->client), wait == CTL_WAIT_WRITE ? EV_WRITE : EV_READ);
	ev_io_start(cw->l->ev, &cw->io);
}

/* A monitoring client has events to write (control.h): watch it for
 * writing. Only re-arms; the client is served when it is writable. */
static void on_ctl_wake(void *loop_ctx, struct ctl_client *client)
{
	struct client_watch *cw = ctl_client_data(client);

	if (cw)
		client_rearm(cw, CTL_WAIT_WRITE);
}

static void on_client(struct ev_loop *ev, ev_io *io, int revents)
{
	struct client_watch *cw = (struct client_watch *)io;

	client_rearm(cw, ctl_client_io(cw->client, revents & EV_READ, revents & EV_WRITE));
}

static void on_ctl_listen(struct ev_loop *ev, ev_io *io, int revents)
{
	struct fd_watch *w = (struct fd_watch *)io;
	struct ctl_client *client;
	struct client_watch *cw;

	if (ctl_server_accept(dimed_ctl_server(w->l->d), &client) < 0 || !client)
		return;
	cw = calloc(1, sizeof(*cw));
	if (!cw) {
		log_warnx("control: out of memory for a client");
		ctl_client_close(client);
		return;
	}
	cw->l = w->l;
	cw->client = client;
	ctl_client_set_data(client, cw);
	cw->next = w->l->clients;
	if (cw->next)
		cw->next->prev = cw;
	w->l->clients = cw;
	ev_io_init(&cw->io, on_client, ctl_client_fd(client), EV_READ);
	ev_io_start(ev, &cw->io);
}

static void on_tick(struct ev_loop *ev, ev_timer *t, int revents)
{
	struct loop *l = (struct loop *)((char *)t - offsetof(struct loop, tick));

	dimed_tick(l->d);
	/* Summaries of rate-limited log lines appear on time even when
	 * nothing else is logged. */
	log_ratelimit_flush();
}

static void on_due(struct ev_loop *ev, ev_timer *t, int revents)
{
	struct loop *l = (struct loop *)((char *)t - offsetof(struct loop, due));

	dimed_timer(l->d);
}

/* Before every wait: arm the timer for the daemon's next deadline, which
 * any handler of this iteration may have moved. */
static void on_before_wait(struct ev_loop *ev, ev_prepare *p, int revents)
{
	struct loop *l = (struct loop *)((char *)p - offsetof(struct loop, before_wait));
	int64_t ms;

	dimed_iteration_done(l->d);
	ms = dimed_timeout_ms(l->d);
	ev_timer_stop(ev, &l->due);
	if (ms < 0)
		return;
	ev_timer_set(&l->due, (double)ms / 1000.0, 0.);
	ev_timer_start(ev, &l->due);
}

static void on_signal(struct ev_loop *ev, ev_signal *s, int revents)
{
	struct loop *l = s->data;

	if (s->signum == SIGHUP) {
		if (l->reload)
			l->reload(l->d);
		else
			log_notice("SIGHUP: this dimed does not reload its configuration");
		return;
	}
	log_notice("signal %d: stopping", s->signum);
	l->stop_signal = s->signum;
	ev_break(ev, EVBREAK_ALL);
}

static void signal_init(struct loop *l, ev_signal *s, int signum)
{
	ev_signal_init(s, on_signal, signum);
	s->data = l;
	ev_signal_start(l->ev, s);
}

int loop_run(struct dimed *d, void (*ready)(void), void (*reload)(struct dimed *d))
{
	struct loop l = { .d = d, .reload = reload };

	l.ev = ev_default_loop(EVFLAG_AUTO | EVFLAG_SIGNALFD);
	if (!l.ev) {
		log_errx("libev: cannot create the event loop");
		return -ENOMEM;
	}
	for (int i = 0; i < DIMED_FD_COUNT; i++) {
		l.fds[i].l = &l;
		l.fds[i].which = (enum dimed_fd)i;
		if (dimed_fd(d, i) < 0)
			continue;	/* a module that is off (IHMP, IPv6) */
		ev_io_init(&l.fds[i].io, i == DIMED_FD_CTL ? on_ctl_listen : on_fd, dimed_fd(d, i), EV_READ);
		ev_io_start(l.ev, &l.fds[i].io);
	}
	ev_init(&l.due, on_due);
	ev_prepare_init(&l.before_wait, on_before_wait);
	ev_prepare_start(l.ev, &l.before_wait);
	ev_idle_init(&l.again, on_again);
	ev_timer_init(&l.tick, on_tick, DIMED_TICK_MS / 1000.0, DIMED_TICK_MS / 1000.0);
	ev_timer_start(l.ev, &l.tick);
	if (dimed_ctl_server(d))
		ctl_server_set_wake(dimed_ctl_server(d), on_ctl_wake, &l);
	signal_init(&l, &l.sigterm, SIGTERM);
	signal_init(&l, &l.sigint, SIGINT);
	signal_init(&l, &l.sighup, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (ready)
		ready();
	ev_run(l.ev, 0);
	/* Clients first: the server would free them under our watchers. */
	while (l.clients)
		client_free(l.clients);
	return l.stop_signal;
}
