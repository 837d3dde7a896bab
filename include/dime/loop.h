/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The event loop (libev) that drives a started daemon until SIGTERM or
 * SIGINT. ready() is called once every watcher is armed (sd_notify READY);
 * reload() on every SIGHUP (NULL: SIGHUP is logged and ignored).
 * Returns the signal that stopped it, or -errno when the loop could not start.
 */
#ifndef DIME_LOOP_H
#define DIME_LOOP_H

struct dimed;

int loop_run(struct dimed *d, void (*ready)(void), void (*reload)(struct dimed *d));

#endif
