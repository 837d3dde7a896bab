// SPDX-License-Identifier: BSD-2-Clause
/*
 * Dropping root after start-up (see privdrop.h). The kernel interface is
 * used directly (capget/capset, prctl): six calls do not justify a library.
 *
 * The order in privdrop_apply() matters: the bounding set is narrowed
 * while CAP_SETPCAP is still effective; PR_SET_KEEPCAPS keeps the permitted
 * set across the uid change (the kernel clears the effective set there);
 * capset then cuts permitted, effective and inheritable down to the kept
 * set, and only then can those be raised as ambient (a capability must be
 * permitted and inheritable for that). Ambient capabilities are what
 * iptables-restore inherits when dimed runs it at exit as a non-root user.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dime/log.h"
#include "dime/privdrop.h"

#define CAP_BIT(c) (UINT64_C(1) << (c))

static const int kept[] = { CAP_NET_ADMIN, CAP_NET_RAW };

uint64_t privdrop_kept_caps(void)
{
	uint64_t mask = 0;

	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		mask |= CAP_BIT(kept[i]);
	return mask;
}

/* ---- the decision (pure) ------------------------------------------------------ */

/* A drop the operator asked for (-u) that cannot be done is refused: the
 * daemon would otherwise run with more privilege than was asked for. The
 * default drop falls back to running as root, saying why. */
enum privdrop_decision privdrop_decide(const struct privdrop_facts *f, const char **why)
{
	enum privdrop_decision cannot = f->user_given ? PRIVDROP_REFUSE : PRIVDROP_STAY;

	*why = NULL;
	if (f->user_exists && f->user_uid == f->euid) {
		*why = f->euid == 0 ? "running as root, as asked" : "already running as that user";
		return PRIVDROP_STAY;
	}
	if (f->euid != 0) {
		*why = "not started as root: only root can change to another user";
		return cannot;
	}
	if (!f->user_exists) {
		*why = "no such user";
		return cannot;
	}
	if (!f->can_setid) {
		*why = "CAP_SETUID or CAP_SETGID is missing (the service's CapabilityBoundingSet?)";
		return cannot;
	}
	if (!f->xtables_nft) {
		*why = "the legacy iptables backend needs root at exit for its lock, /run/xtables.lock";
		return cannot;
	}
	return PRIVDROP_DROP;
}

bool privdrop_path_is_nft(const char *resolved)
{
	const char *base = strrchr(resolved, '/');

	return strstr(base ? base + 1 : resolved, "nft") != NULL;
}

/* ---- facts ------------------------------------------------------------------------ */

static int caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };

	return syscall(SYS_capget, &hdr, data) < 0 ? -errno : 0;
}

static uint64_t caps_effective(void)
{
	struct __user_cap_data_struct data[2];

	if (caps_get(data) < 0)
		return 0;
	return data[0].effective | (uint64_t)data[1].effective << 32;
}

static uint64_t caps_permitted(void)
{
	struct __user_cap_data_struct data[2];

	if (caps_get(data) < 0)
		return 0;
	return data[0].permitted | (uint64_t)data[1].permitted << 32;
}

static int caps_set(uint64_t caps)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	for (int i = 0; i < 2; i++)
		data[i].effective = data[i].permitted = data[i].inheritable = (uint32_t)(caps >> (32 * i));
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

/* Where rules.c finds the tool: PATH, then the sbin directories a daemon's
 * PATH may lack. Resolved through every symlink (the alternatives system). */
static bool tool_resolve(const char *name, char *resolved)
{
	const char *lists[] = { getenv("PATH"), "/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin" };
	char path[PATH_MAX];

	for (size_t i = 0; i < 2; i++) {
		for (const char *p = lists[i]; p && *p;) {
			size_t n = strcspn(p, ":");

			if (n > 0 && snprintf(path, sizeof(path), "%.*s/%s", (int)n, p, name) < (int)sizeof(path) &&
			    access(path, X_OK) == 0 && realpath(path, resolved))
				return true;
			p += n + (p[n] == ':');
		}
	}
	return false;
}

/* Tools that are missing do not count: rules.c reports them itself. */
static bool xtables_nft(void)
{
	static const char *const tools[] = { "iptables-restore", "ip6tables-restore" };
	char resolved[PATH_MAX];

	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		if (!tool_resolve(tools[i], resolved))
			continue;
		if (!privdrop_path_is_nft(resolved)) {
			log_debug("privdrop: %s is %s, not the nf_tables backend", tools[i], resolved);
			return false;
		}
	}
	return true;
}

/* ---- plan ------------------------------------------------------------------------- */

static int lookup_user(const char *name, struct privdrop_plan *plan, struct privdrop_facts *f)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int err = getpwnam_r(name, &pw, buf, sizeof(buf), &res);

	if (err && err != ENOENT && err != ESRCH) {
		log_err_e(err, "user %s: cannot look it up", name);
		return -err;
	}
	f->user_exists = res != NULL;
	if (res) {
		plan->uid = f->user_uid = pw.pw_uid;
		plan->gid = pw.pw_gid;
	}
	return 0;
}

int privdrop_plan(struct privdrop_plan *plan, const char *user, const char *rundir)
{
	const char *name = user ? user : PRIVDROP_DEFAULT_USER;
	struct privdrop_facts f = { .user_given = user != NULL, .euid = geteuid() };
	uint64_t setid = CAP_BIT(CAP_SETUID) | CAP_BIT(CAP_SETGID);
	enum privdrop_decision d;
	const char *why;
	int err;

	memset(plan, 0, sizeof(*plan));
	if (strlen(name) >= sizeof(plan->user) || (rundir && strlen(rundir) >= sizeof(plan->rundir))) {
		log_errx("user %s: name or runtime directory too long", name);
		return -ENAMETOOLONG;
	}
	snprintf(plan->user, sizeof(plan->user), "%s", name);
	if ((err = lookup_user(name, plan, &f)) < 0)
		return err;
	f.can_setid = (caps_effective() & setid) == setid;
	f.xtables_nft = xtables_nft();
	d = privdrop_decide(&f, &why);
	if (d == PRIVDROP_REFUSE) {
		log_errx("user %s: cannot run as this user: %s", name, why);
		return f.user_exists ? -EPERM : -ENOENT;
	}
	if (d == PRIVDROP_STAY) {
		if (!f.user_given && f.euid == 0)
			log_notice("user %s: %s; staying root (-u root says so without this notice)", name, why);
		else
			log_info("user %s: %s", name, why);
		return 0;
	}
	plan->drop = true;
	if (rundir)
		snprintf(plan->rundir, sizeof(plan->rundir), "%s", rundir);
	return 0;
}

/* ---- apply ------------------------------------------------------------------------ */

/* dimed's own runtime directory becomes the user's, so that it can still
 * remove its control socket at exit. Only a root-owned directory that is
 * not writable by others is taken, and never through a symlink. */
static void hand_over_dir(const char *dir, uid_t uid)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("privdrop: %s: cannot open", dir);
		return;
	}
	if (fstat(fd, &st) < 0)
		log_warn("privdrop: %s: cannot stat", dir);
	else if (st.st_uid != uid && (st.st_uid != 0 || (st.st_mode & S_IWOTH)))
		log_warnx("privdrop: %s: not handed to uid %u (owned by uid %u, mode %04o)", dir,
			  (unsigned)uid, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	else if (st.st_uid != uid && fchown(fd, uid, (gid_t)-1) < 0)
		log_warn("privdrop: %s: cannot hand it to uid %u; the control socket will outlive dimed",
			 dir, (unsigned)uid);
	close(fd);
}

/* Needs CAP_SETPCAP; without it (a service bounding set that lacks it) the
 * bounding set stays as the service manager left it. */
static int narrow_bounding(uint64_t keep)
{
	for (unsigned long cap = 0; cap < 64; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (r < 0)
			break;	/* EINVAL: past the last capability this kernel knows */
		if (r == 1 && !(keep & CAP_BIT(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	}
	return 0;
}

static int raise_ambient(void)
{
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)kept[i], 0, 0) < 0)
			return -errno;
	return 0;
}

static int become(const struct privdrop_plan *p, uint64_t keep)
{
	int err;

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;
	if ((err = narrow_bounding(keep)) < 0)
		log_notice("privdrop: bounding set not narrowed (%s): CAP_SETPCAP is missing", strerror(-err));
	if (setgroups(0, NULL) < 0 || setresgid(p->gid, p->gid, p->gid) < 0 ||
	    setresuid(p->uid, p->uid, p->uid) < 0)
		return -errno;
	if ((err = caps_set(keep)) < 0 || (err = raise_ambient()) < 0)
		return err;
	/* Not inherited by iptables-restore, and no setuid binary may raise it. */
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* The uid change also left dimed undumpable, and it stays so: no core
	 * file or same-user process gets at its memory (IHMP keys). */
	return 0;
}

/* The drop is only trusted once root is seen to be out of reach. */
static int verify(const struct privdrop_plan *p, uint64_t keep)
{
	uid_t r, e, s;

	if (setresuid(0, 0, 0) == 0 || setuid(0) == 0) {
		log_errx("privdrop: root could be regained after the drop to %s", p->user);
		return -EPERM;
	}
	if (getresuid(&r, &e, &s) < 0 || r != p->uid || e != p->uid || s != p->uid ||
	    getegid() != p->gid || caps_effective() != keep || caps_permitted() != keep) {
		log_errx("privdrop: credentials after the drop are not uid %u with only the kept capabilities",
			 (unsigned)p->uid);
		return -EPERM;
	}
	return 0;
}

int privdrop_apply(const struct privdrop_plan *p)
{
	uint64_t keep = privdrop_kept_caps();
	int err;

	if (!p->drop)
		return 0;
	if (p->rundir[0])
		hand_over_dir(p->rundir, p->uid);
	if ((err = become(p, keep)) < 0) {
		log_err_e(err, "privdrop: cannot become user %s (uid %u, gid %u)", p->user,
			  (unsigned)p->uid, (unsigned)p->gid);
		return err;
	}
	if ((err = verify(p, keep)) < 0)
		return err;
	log_info("privdrop: running as user %s (uid %u, gid %u) with CAP_NET_ADMIN and CAP_NET_RAW only",
		 p->user, (unsigned)p->uid, (unsigned)p->gid);
	return 0;
}
