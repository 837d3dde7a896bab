/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Dropping root after start-up. dimed opens its queues, netlink sockets and
 * control socket and installs its rules as root, then becomes an ordinary
 * user (by default "dime") that keeps only the capabilities the running
 * daemon and its exit path use:
 *  - CAP_NET_ADMIN: NFQUEUE verdicts, conntrack and rtnetlink requests,
 *    ipset, identifier pins on lo, /proc/sys/net writes (the kernel gives a
 *    network admin root's access to them), iptables-restore at exit;
 *  - CAP_NET_RAW: the raw socket the legacy iptables tools open, and SO_MARK.
 * Both are also made ambient, so the iptables-save/-restore that dimed runs
 * at exit get them across execve. Everything else goes from every set,
 * including the bounding set, and no_new_privs is set.
 *
 * Two steps: privdrop_plan() before start-up decides from facts (is there
 * such a user, may we change uid, which iptables backend) whether to drop,
 * so that a drop that cannot work is refused before anything is installed;
 * privdrop_apply() after start-up does it. The decision itself is a pure
 * function, privdrop_decide().
 */
#ifndef DIME_PRIVDROP_H
#define DIME_PRIVDROP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define PRIVDROP_DEFAULT_USER "dime"

/* Bit n stands for capability n (linux/capability.h numbers). */
uint64_t privdrop_kept_caps(void);

struct privdrop_facts {
	bool user_given;	/* -u: the operator asked for this user */
	bool user_exists;
	uid_t user_uid;		/* when it exists */
	uid_t euid;		/* ours now */
	bool can_setid;		/* CAP_SETUID and CAP_SETGID are effective */
	bool xtables_nft;	/* every iptables-restore found is the nf_tables one */
};

enum privdrop_decision {
	PRIVDROP_DROP,		/* become the user */
	PRIVDROP_STAY,		/* keep running as we are (why says so) */
	PRIVDROP_REFUSE,	/* the operator asked for a drop that cannot work */
};

/* *why gets a sentence for the log (for STAY and REFUSE; NULL for DROP). */
enum privdrop_decision privdrop_decide(const struct privdrop_facts *f, const char **why);

/* True when a resolved tool path (realpath of iptables-restore) is the
 * nf_tables build, which needs no lock file. */
bool privdrop_path_is_nft(const char *resolved);

struct privdrop_plan {
	bool drop;
	uid_t uid;
	gid_t gid;
	char user[64];
	char rundir[108];	/* handed to the user before the drop; "" for none */
};

/*
 * Before start-up. user: the -u argument, NULL for the default (drop to
 * "dime" when that is possible, stay otherwise). rundir: dimed's own
 * runtime directory (control socket, state) to hand to the user so it can
 * still remove its files at exit, or NULL. 0, or -EPERM/-ENOENT after
 * logging why the requested drop cannot be done.
 */
int privdrop_plan(struct privdrop_plan *plan, const char *user, const char *rundir);

/* After start-up: become plan->user with the kept capabilities, and check
 * that root cannot be regained. 0 or -errno (logged). A no-op when the
 * plan says stay. */
int privdrop_apply(const struct privdrop_plan *plan);

#endif
