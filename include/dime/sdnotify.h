/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * systemd's readiness protocol without libsystemd: one datagram to the
 * socket named in $NOTIFY_SOCKET. A no-op (returning 0) outside systemd.
 */
#ifndef DIME_SDNOTIFY_H
#define DIME_SDNOTIFY_H

/* Send state ("READY=1", "STOPPING=1", "STATUS=..."): 0 or -errno. */
int sd_notify_state(const char *state);

#endif
