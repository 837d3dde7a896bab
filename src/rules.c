// SPDX-License-Identifier: BSD-2-Clause
/*
 * dimed's iptables rules and ipsets (see rules.h). Three parts:
 *  - pure text: the restore input that installs the rules, and the one
 *    that removes them, computed from what (ip|ip6)tables-save shows;
 *  - running the xtables tools: posix_spawn with the text on stdin and
 *    stdout/stderr collected, bounded in time, never through a shell;
 *  - the pair counts: which addresses each hash:ip column holds and for
 *    how many pairs, so a column entry goes when its last pair goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "dime/ipset.h"
#include "dime/log.h"
#include "dime/rules.h"
#include "dime/textbuf.h"

extern char **environ;

#define TOOL_TIMEOUT_MS 30000	/* a restore waits up to 10 s for the xtables lock */
#define TOOL_OUTPUT_MAX (64u << 20)
#define DESTROY_WAIT_MS 2000	/* a deleted rule may hold its set for a moment */

/* ---- names and config ------------------------------------------------------------ */

static const char *const set_names[RULES_SET_COUNT][2] = {
	[RULES_SET_OUT_LOCAL] = { "dime-out4-l", "dime-out6-l" },
	[RULES_SET_OUT_REMOTE] = { "dime-out4-r", "dime-out6-r" },
	[RULES_SET_OUT_DST] = { "dime-odst4", "dime-odst6" },
	[RULES_SET_IN_REMOTE] = { "dime-in4-r", "dime-in6-r" },
	[RULES_SET_IN_LOCAL] = { "dime-in4-l", "dime-in6-l" },
};

#define LANE_NAMES(v) { "dime-in" v "-r0", "dime-in" v "-r1", "dime-in" v "-r2", "dime-in" v "-r3", \
			"dime-in" v "-r4", "dime-in" v "-r5", "dime-in" v "-r6", "dime-in" v "-r7" }
static const char *const lane_names[2][RULES_LANES] = { LANE_NAMES("4"), LANE_NAMES("6") };
_Static_assert(RULES_LANES == 8, "lane_names lists eight lanes");

const char *rules_lane_set_name(int family, unsigned k)
{
	if (k >= RULES_LANES || (family != AF_INET && family != AF_INET6))
		return NULL;
	return lane_names[family == AF_INET6][k];
}

const char *rules_set_name(enum rules_set set, int family)
{
	if ((unsigned)set >= RULES_SET_COUNT || (family != AF_INET && family != AF_INET6))
		return NULL;
	return set_names[set][family == AF_INET6];
}

int rules_config_check(const struct rules_config *cfg)
{
	if (cfg->ihmp_port == 0) {
		log_warnx("rules: IHMP port 0 is not a port (1..65535)");
		return -EINVAL;
	}
	/* --mark 0/0 matches every packet: nothing would ever be queued. */
	if (cfg->mark == 0) {
		log_warnx("rules: fwmark bit 0 would exempt every packet; use a nonzero mark");
		return -EINVAL;
	}
	return 0;
}

static void icmp_error_rules(struct textbuf *t, const struct rules_config *cfg, int family)
{
	static const char *const v4[] = { "destination-unreachable", "source-quench",
					  "time-exceeded", "parameter-problem" };
	static const char *const v6[] = { "destination-unreachable", "packet-too-big",
					  "time-exceeded", "parameter-problem" };
	const char *const *types = family == AF_INET6 ? v6 : v4;

	for (int i = 0; i < 4; i++)
		textbuf_printf(t, "-A %s -p %s -m %s --%s-type %s -m set --match-set %s dst -j NFQUEUE --queue-num %u\n",
			RULES_CHAIN_IN, family == AF_INET6 ? "ipv6-icmp" : "icmp",
			family == AF_INET6 ? "icmp6" : "icmp", family == AF_INET6 ? "icmpv6" : "icmp",
			types[i], rules_set_name(RULES_SET_IN_LOCAL, family), cfg->queue_in);
}

int rules_render_install(const struct rules_config *cfg, int family, char *buf, size_t size)
{
	struct textbuf t = { .buf = buf, .size = size };
	const char *v = family == AF_INET6 ? "6" : "4";

	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	if ((family != AF_INET && family != AF_INET6) || cfg->ihmp_port == 0 || cfg->mark == 0)
		return -EINVAL;
	textbuf_printf(&t, "# dimed steering rules (IPv%s); dimed removes them at exit\n", v);
	/* Inbound: raw PREROUTING, before conntrack, so conntrack sees the
	 * identifier tuple dimed restores. */
	textbuf_printf(&t, "*raw\n:%s - [0:0]\n", RULES_CHAIN_IN);
	textbuf_printf(&t, "-A %s -i lo -j RETURN\n", RULES_CHAIN_IN);
	/* Packets the kernel already translated (offload.h) carry the mark. */
	textbuf_printf(&t, "-A %s -m mark --mark 0x%x/0x%x -j RETURN\n", RULES_CHAIN_IN, cfg->mark, cfg->mark);
	textbuf_printf(&t, "-A %s -p udp --dport %u -j RETURN\n", RULES_CHAIN_IN, cfg->ihmp_port);
	textbuf_printf(&t, "-A %s -m set --match-set %s src -m set --match-set %s dst -j NFQUEUE --queue-num %u\n",
		RULES_CHAIN_IN, rules_set_name(RULES_SET_IN_REMOTE, family),
		rules_set_name(RULES_SET_IN_LOCAL, family), cfg->queue_in);
	/* ICMP errors about a translated flow come from routers as often as
	 * from the peer (PMTU, unreachable): queue every error addressed to a
	 * local locator of a moved host, so its quote can be translated back. */
	icmp_error_rules(&t, cfg, family);
	/* No jump yet: rules_render_steering() adds it when a set of this
	 * family gets its first member. */
	textbuf_printf(&t, "COMMIT\n");
	/* Outbound: mangle OUTPUT, after conntrack and still in LOCAL_OUT, so
	 * the kernel re-routes a packet whose addresses dimed changed. */
	textbuf_printf(&t, "*mangle\n:%s - [0:0]\n", RULES_CHAIN_OUT);
	/* Loopback traffic, between our own addresses, is never queued. A
	 * packet that leaves by lo to a remote address is not that: it is a
	 * held flow's retransmission taking the pins' fallback route (pin.h). */
	textbuf_printf(&t, "-A %s -o lo -m addrtype --dst-type LOCAL -j RETURN\n", RULES_CHAIN_OUT);
	textbuf_printf(&t, "-A %s -m mark --mark 0x%x/0x%x -j RETURN\n", RULES_CHAIN_OUT, cfg->mark, cfg->mark);
	textbuf_printf(&t, "-A %s -p udp --sport %u -j RETURN\n", RULES_CHAIN_OUT, cfg->ihmp_port);
	textbuf_printf(&t, "-A %s -m set --match-set %s src -m set --match-set %s dst -j NFQUEUE --queue-num %u\n",
		RULES_CHAIN_OUT, rules_set_name(RULES_SET_OUT_LOCAL, family),
		rules_set_name(RULES_SET_OUT_REMOTE, family), cfg->queue_out);
	textbuf_printf(&t, "-A %s -m set --match-set %s dst -j NFQUEUE --queue-num %u\n",
		RULES_CHAIN_OUT, rules_set_name(RULES_SET_OUT_DST, family), cfg->queue_out);
	/* Last, where it cannot short-cut anything, and only when asked: a
	 * rule that needs conntrack, so a namespace that tracks nothing starts
	 * tracking (flows of unconnected UDP sockets are then known too). */
	if (cfg->track_connections)
		textbuf_printf(&t, "-A %s -m conntrack --ctstate INVALID -j RETURN\n", RULES_CHAIN_OUT);
	textbuf_printf(&t, "COMMIT\n");
	return textbuf_result(&t);
}

int rules_render_lane(const struct rules_config *cfg, unsigned k, const struct dime_addr *local, bool on,
		      char *buf, size_t size)
{
	struct textbuf t = { .buf = buf, .size = size };
	char addr[DIME_ADDR_STRLEN];
	const char *set = rules_lane_set_name(local->family, k);

	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	if (!set)
		return -EINVAL;
	dime_addr_fmt(local, addr, sizeof(addr));
	/* The form iptables-save prints, so that take-over finds it. */
	textbuf_printf(&t, "*raw\n%s %s -d %s/%u -m set --match-set %s src -j NFQUEUE --queue-num %u\nCOMMIT\n",
		       on ? "-A" : "-D", RULES_CHAIN_IN, addr, local->family == AF_INET6 ? 128u : 32u, set,
		       cfg->queue_in);
	return textbuf_result(&t);
}

/* The jumps, as the restore line that inserts or deletes each. */
static const struct {
	const char *table, *chain, *target;
} jumps[2] = {
	{ "raw", "PREROUTING", RULES_CHAIN_IN },
	{ "mangle", "OUTPUT", RULES_CHAIN_OUT },
};

static void jump_line(struct textbuf *t, size_t i, bool on)
{
	textbuf_printf(t, "%s %s%s -j %s\n", on ? "-I" : "-D", jumps[i].chain, on ? " 1" : "", jumps[i].target);
}

int rules_render_steering(int family, enum rules_dir dir, bool on, char *buf, size_t size)
{
	struct textbuf t = { .buf = buf, .size = size };
	size_t i = dir == RULES_OUT;

	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	if ((family != AF_INET && family != AF_INET6) || (dir != RULES_IN && dir != RULES_OUT))
		return -EINVAL;
	textbuf_printf(&t, "*%s\n", jumps[i].table);
	jump_line(&t, i, on);
	textbuf_printf(&t, "COMMIT\n");
	return textbuf_result(&t);
}

/* The next line of TEXT, trimmed: *len bytes from the return value. */
static const char *trimmed_line(const char **text, size_t *len)
{
	const char *p = *text, *nl = strchr(p, '\n');
	const char *end = nl ? nl : p + strlen(p);

	*text = nl ? nl + 1 : end;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*len = (size_t)(end - p);
	return p;
}

static bool starts(const char *p, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len >= n && memcmp(p, word, n) == 0;
}

bool rules_chain_prunable(const char *listing)
{
	bool accept = false, chain = false;

	if (!listing)
		return false;
	while (*listing) {
		size_t len;
		const char *p = trimmed_line(&listing, &len);

		if (len == 0 || p[0] == '#' || (len == 1 && p[0] == '}') || starts(p, len, "table "))
			continue;
		if (starts(p, len, "chain ")) {
			if (chain)
				return false;	/* one chain was asked for */
			chain = true;
			continue;
		}
		if (starts(p, len, "type ")) {
			/* "type filter hook prerouting priority raw; policy accept;" */
			static const char pol[] = "policy accept;";

			if (accept || len < sizeof(pol) - 1 || memcmp(p + len - (sizeof(pol) - 1), pol, sizeof(pol) - 1))
				return false;
			accept = true;
			continue;
		}
		return false;	/* a rule, or anything else */
	}
	return chain && accept;
}

/* ---- parsing iptables-save ---------------------------------------------------------- */

/* Bit of one of our chains, 0 for any other name. */
static unsigned our_chain(const char *name, size_t len)
{
	if (len == strlen(RULES_CHAIN_IN) && memcmp(name, RULES_CHAIN_IN, len) == 0)
		return 1;
	if (len == strlen(RULES_CHAIN_OUT) && memcmp(name, RULES_CHAIN_OUT, len) == 0)
		return 2;
	return 0;
}

/* Next whitespace-separated token of p[0..end), double quotes kept whole
 * (iptables-save quotes comments). */
static const char *next_token(const char *p, const char *end, size_t *len)
{
	const char *start;
	bool quoted = false;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	start = p;
	for (; p < end && (quoted || (*p != ' ' && *p != '\t')); p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			quoted = !quoted;
	}
	*len = (size_t)(p - start);
	return *len ? start : NULL;
}

static bool token_is(const char *tok, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(tok, word, len) == 0;
}

/* "-A CHAIN ..." where CHAIN is not ours and the target is one of ours:
 * what follows the "-A" (so that "-D" can take its place), else NULL. */
static const char *jump_to_ours(const char *line, const char *end)
{
	const char *tok, *rest, *p = line;
	size_t len;
	bool target_next = false;

	tok = next_token(p, end, &len);
	if (!tok || !token_is(tok, len, "-A"))
		return NULL;
	rest = p = tok + len;
	tok = next_token(p, end, &len);
	if (!tok || our_chain(tok, len))
		return NULL;
	for (p = tok + len; (tok = next_token(p, end, &len)); p = tok + len) {
		if (target_next && our_chain(tok, len))
			return rest;
		target_next = token_is(tok, len, "-j") || token_is(tok, len, "-g") ||
			      token_is(tok, len, "--jump") || token_is(tok, len, "--goto");
	}
	return NULL;
}

static void emit_chain_removal(struct textbuf *t, unsigned chains)
{
	if (chains & 1)
		textbuf_printf(t, "-F %s\n", RULES_CHAIN_IN);
	if (chains & 2)
		textbuf_printf(t, "-F %s\n", RULES_CHAIN_OUT);
	if (chains & 1)
		textbuf_printf(t, "-X %s\n", RULES_CHAIN_IN);
	if (chains & 2)
		textbuf_printf(t, "-X %s\n", RULES_CHAIN_OUT);
}

/* Takes back the table being written: it had nothing of ours, or its
 * COMMIT never came (cut output), and a restore of a table without COMMIT
 * would fail. After an overflow nothing is taken back: the result is
 * -ENOSPC anyway. */
static void drop_table(struct textbuf *t, size_t table_start)
{
	if (!t->overflow) {
		t->len = table_start;
		t->buf[t->len] = '\0';
	}
}

int rules_render_remove(const char *save, char *buf, size_t size)
{
	struct textbuf t = { .buf = buf, .size = size };
	size_t table_start = 0;
	unsigned chains = 0, deletes = 0;
	bool in_table = false;

	if (size == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (const char *line = save; *line;) {
		const char *nl = strchr(line, '\n');
		const char *end = nl ? nl : line + strlen(line);
		size_t len = (size_t)(end - line);
		const char *rest;

		if (line[0] == '*') {
			if (in_table)
				drop_table(&t, table_start);
			/* Written now, taken back at COMMIT if nothing follows. */
			table_start = t.len;
			in_table = true;
			chains = deletes = 0;
			textbuf_put(&t, line, len);
			textbuf_put(&t, "\n", 1);
		} else if (in_table && line[0] == ':') {
			size_t n = strcspn(line + 1, " \t\n");

			chains |= our_chain(line + 1, n);
		} else if (in_table && (rest = jump_to_ours(line, end))) {
			textbuf_put(&t, "-D", 2);
			textbuf_put(&t, rest, (size_t)(end - rest));
			textbuf_put(&t, "\n", 1);
			deletes++;
		} else if (in_table && len == 6 && memcmp(line, "COMMIT", 6) == 0) {
			if (chains == 0 && deletes == 0) {
				drop_table(&t, table_start);
			} else {
				emit_chain_removal(&t, chains);
				textbuf_printf(&t, "COMMIT\n");
			}
			in_table = false;
		}
		line = nl ? nl + 1 : end;
	}
	if (in_table)
		drop_table(&t, table_start);
	return textbuf_result(&t);
}

/* ---- running the xtables tools ------------------------------------------------------ */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sbuf_free(struct sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Read what FD has now: 1 more may come, 0 EOF, -errno. */
static int sbuf_read(struct sbuf *b, int fd)
{
	for (;;) {
		ssize_t n;

		if (b->cap - b->len < 4096) {
			size_t cap = b->cap ? b->cap * 2 : 16384;
			char *p;

			if (cap > TOOL_OUTPUT_MAX)
				return -EFBIG;
			p = realloc(b->p, cap);
			if (!p)
				return -ENOMEM;
			b->p = p;
			b->cap = cap;
		}
		n = read(fd, b->p + b->len, b->cap - b->len - 1);
		if (n > 0) {
			b->len += (size_t)n;
			b->p[b->len] = '\0';
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 1 : -errno;
	}
}

/* The xtables tools live in sbin, which a daemon's PATH may lack. */
static int find_tool(const char *name, char *path, size_t size)
{
	const char *lists[] = { getenv("PATH"), "/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin" };

	for (size_t i = 0; i < 2; i++) {
		const char *p = lists[i];

		while (p && *p) {
			size_t n = strcspn(p, ":");

			if (n > 0 && snprintf(path, size, "%.*s/%s", (int)n, p, name) < (int)size &&
			    access(path, X_OK) == 0)
				return 0;
			p += n + (p[n] == ':');
		}
	}
	return -ENOENT;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static const int reset_signals[] = {
	SIGPIPE, SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2,
};

struct child {
	pid_t pid;
	int in, out, err;	/* our ends; -1 once closed */
};

static int spawn(struct child *c, const char *path, char *const argv[])
{
	int in[2], out[2] = { -1, -1 }, err[2] = { -1, -1 }, rc;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;

	/* stdin is a socket so that writing to a child that exited early is
	 * EPIPE (MSG_NOSIGNAL), never SIGPIPE to dimed. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)
		return -errno;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[1], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	/* The tool gets default signal handling whatever dimed ignores or blocks. */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&dfl);
	for (size_t i = 0; i < sizeof(reset_signals) / sizeof(reset_signals[0]); i++)
		sigaddset(&dfl, reset_signals[i]);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = -posix_spawn(&c->pid, path, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc < 0)
		goto fail;
	close(in[1]);
	close(out[1]);
	close(err[1]);
	c->in = in[0];
	c->out = out[0];
	c->err = err[0];
	fcntl(c->in, F_SETFL, O_NONBLOCK);
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	fcntl(c->err, F_SETFL, O_NONBLOCK);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&err[i]);
	}
	return rc;
}

/* Feed INPUT to the child and collect its output until both its output
 * streams close or the deadline passes. */
static int pump(struct child *c, const char *input, struct sbuf *out, struct sbuf *err, long deadline)
{
	size_t inlen = input ? strlen(input) : 0, off = 0;

	if (inlen == 0)
		close_fd(&c->in);
	while (c->out >= 0 || c->err >= 0) {
		struct pollfd pfd[3] = {
			{ .fd = c->in, .events = POLLOUT },
			{ .fd = c->out, .events = POLLIN },
			{ .fd = c->err, .events = POLLIN },
		};
		long left = deadline - now_ms();
		int rc;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(pfd, 3, (int)left) < 0 && errno != EINTR)
			return -errno;
		if (c->in >= 0 && pfd[0].revents) {
			ssize_t n = send(c->in, input + off, inlen - off, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n > 0)
				off += (size_t)n;
			/* EPIPE: the tool stopped reading; its stderr says why. */
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || off == inlen)
				close_fd(&c->in);
		}
		if (c->out >= 0 && pfd[1].revents) {
			rc = sbuf_read(out, c->out);
			if (rc < 0)
				return rc;
			if (rc == 0)
				close_fd(&c->out);
		}
		if (c->err >= 0 && pfd[2].revents) {
			rc = sbuf_read(err, c->err);
			if (rc < 0)
				return rc;
			if (rc == 0)
				close_fd(&c->err);
		}
	}
	return 0;
}

/* Reap the child by the deadline, killing it if it overstays. */
static int reap(pid_t pid, long deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;	/* ECHILD: someone else reaped it */
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return -ETIMEDOUT;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 2 * 1000 * 1000 }, NULL);
	}
}

/* The first lines of a tool's stderr, on one line, for a log message. */
static const char *err_summary(const struct sbuf *err, char *buf, size_t size)
{
	size_t j = 0;

	for (size_t i = 0; err->p && i < err->len && j + 1 < size; i++) {
		char ch = err->p[i];

		if (ch == '\n') {
			if (i + 1 == err->len)
				break;
			if (j + 3 >= size)
				break;
			buf[j++] = ';';
			ch = ' ';
		}
		buf[j++] = ch;
	}
	buf[j] = '\0';
	return j ? buf : "(no message)";
}

/*
 * Run TOOL with ARGS (NULL-terminated, argv[0] excluded), INPUT on its
 * stdin; OUT (may be NULL) gets its stdout. 0 when it exited 0; otherwise
 * the failure is logged with its stderr (at debug level when QUIET) and
 * -ENOENT (no such tool), -ETIMEDOUT or -EIO is returned.
 */
static int run_tool(const char *tool, const char *const args[], const char *input, struct sbuf *out,
		    bool quiet)
{
	void (*warn)(const char *, ...) = quiet ? log_debug : log_warnx;
	struct child c = { .pid = -1, .in = -1, .out = -1, .err = -1 };
	struct sbuf errbuf = { 0 }, discard = { 0 };
	char path[PATH_MAX], summary[512];
	char *argv[8];
	long deadline = now_ms() + TOOL_TIMEOUT_MS;
	size_t argc = 0;
	int status = 0, rc, rc2;

	if (find_tool(tool, path, sizeof(path)) < 0) {
		warn("rules: %s not found in PATH or sbin (install %s)", tool,
		     strcmp(tool, "nft") == 0 ? "nftables" : "iptables");
		return -ENOENT;
	}
	/* argv[0] is the tool's name: xtables-multi dispatches on it. */
	argv[argc++] = (char *)tool;
	for (size_t i = 0; args && args[i] && argc < 7; i++)
		argv[argc++] = (char *)args[i];
	argv[argc] = NULL;
	rc = spawn(&c, path, argv);
	if (rc < 0) {
		warn("rules: cannot run %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = pump(&c, input, out ? out : &discard, &errbuf, deadline);
	close_fd(&c.in);
	close_fd(&c.out);
	close_fd(&c.err);
	if (rc < 0)
		kill(c.pid, SIGKILL);
	rc2 = reap(c.pid, rc < 0 ? now_ms() : deadline, &status);
	if (rc == 0)
		rc = rc2;
	if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		if (WIFEXITED(status))
			warn("rules: %s failed (exit %d): %s", tool, WEXITSTATUS(status),
			     err_summary(&errbuf, summary, sizeof(summary)));
		else
			warn("rules: %s killed by signal %d", tool, WTERMSIG(status));
		rc = -EIO;
	} else if (rc < 0) {
		warn("rules: %s: %s", tool, strerror(-rc));
	}
	sbuf_free(&errbuf);
	sbuf_free(&discard);
	return rc;
}

static const char *restore_tool(int family)
{
	return family == AF_INET6 ? "ip6tables-restore" : "iptables-restore";
}

static const char *save_tool(int family)
{
	return family == AF_INET6 ? "ip6tables-save" : "iptables-save";
}

/* --wait: never fail because another process holds the xtables lock (the
 * nft backend ignores it; legacy needs it). --noflush: touch only what the
 * text names. */
static const char *const restore_args[] = { "--wait=10", "--noflush", NULL };

static const char *const nft_script_args[] = { "-f", "-", NULL };

int rules_run_nft(const char *script)
{
	return run_tool("nft", nft_script_args, script, NULL, false);
}

static int rules_run_nft_quiet(const char *script)
{
	return run_tool("nft", nft_script_args, script, NULL, true);
}

/* ---- module state ------------------------------------------------------------------- */

/* One counted address in one column: slot = set * 2 + (family is IPv6). */
struct pnode {
	struct pnode *next;
	struct dime_addr addr;
	uint32_t count;		/* pairs using it */
	int kerr;		/* last kernel error of this apply */
	uint8_t slot;
	bool in_kernel;
	bool touched;		/* listed in the current apply */
};

static struct {
	struct ipset *ipset;
	struct rules_config cfg;
	bool installed;
	struct pnode **buckets;
	size_t nbuckets, naddrs;
	/* Steering on demand (rules.h), per family and chain (gate_of). */
	size_t gate_addrs[4];	/* naddrs of the sets each chain matches */
	bool steer_on[4];
	bool steer_kept[4];	/* taken over while on: never off this run */
	int steer_err[4];	/* a failed "on" within one rules_pairs_apply */
	uint64_t empty_since[4];	/* 0: not empty, or not yet seen empty */
	uint64_t retry_at[4];		/* after a failed "off" */
	/* Inbound lanes (rules.h), by family index. */
	struct lane {
		struct dime_addr local;	/* bound to this local locator */
		uint32_t nodes;		/* counted remotes in its set */
		bool bound;		/* its rule is in DIME-IN */
		bool reserved;		/* the earlier run's (take-over): left alone */
		uint64_t empty_since;
	} lanes[2][RULES_LANES];
	struct rules_stats stats;
} st;

static size_t fam_index(int family)
{
	return family == AF_INET6;
}

/* Slots past the columns' are the lanes': family index * RULES_LANES + k. */
#define LANE_SLOT0 (RULES_SET_COUNT * 2)

static uint8_t lane_slot(size_t fam, unsigned k)
{
	return (uint8_t)(LANE_SLOT0 + fam * RULES_LANES + k);
}

static struct lane *slot_lane(uint8_t slot)
{
	if (slot < LANE_SLOT0)
		return NULL;
	return &st.lanes[(slot - LANE_SLOT0) / RULES_LANES][(slot - LANE_SLOT0) % RULES_LANES];
}

/* The gate (gate_of) whose chain matches the set of a slot (slot_of). */
static size_t slot_gate(uint8_t slot)
{
	enum rules_set set = (enum rules_set)(slot / 2);
	bool out = set == RULES_SET_OUT_LOCAL || set == RULES_SET_OUT_REMOTE || set == RULES_SET_OUT_DST;

	if (slot >= LANE_SLOT0)
		return (size_t)((slot - LANE_SLOT0) / RULES_LANES) * 2;	/* DIME-IN of its family */
	return (size_t)(slot % 2) * 2 + out;
}

static int ipset_ready(void)
{
	return st.ipset ? 0 : ipset_open(&st.ipset);
}

static const int families[] = { AF_INET, AF_INET6 };

static bool family_wanted(const struct rules_config *cfg, int family)
{
	return family == AF_INET || cfg->ipv6;
}

/* ---- the pair counts -------------------------------------------------------------- */

static void counts_clear(void)
{
	for (size_t i = 0; i < st.nbuckets; i++) {
		while (st.buckets[i]) {
			struct pnode *n = st.buckets[i];

			st.buckets[i] = n->next;
			free(n);
		}
	}
	free(st.buckets);
	st.buckets = NULL;
	st.nbuckets = st.naddrs = 0;
	memset(st.gate_addrs, 0, sizeof(st.gate_addrs));
}

static size_t bucket_of(uint8_t slot, const struct dime_addr *addr, size_t nbuckets)
{
	return dime_addr_hash(addr, slot) & (nbuckets - 1);
}

static struct pnode *count_find(uint8_t slot, const struct dime_addr *addr)
{
	if (!st.nbuckets)
		return NULL;
	for (struct pnode *n = st.buckets[bucket_of(slot, addr, st.nbuckets)]; n; n = n->next)
		if (n->slot == slot && dime_addr_eq(&n->addr, addr))
			return n;
	return NULL;
}

static int counts_grow(void)
{
	size_t nb = st.nbuckets ? st.nbuckets * 2 : 64;
	struct pnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < st.nbuckets; i++) {
		while (st.buckets[i]) {
			struct pnode *n = st.buckets[i];
			size_t j = bucket_of(n->slot, &n->addr, nb);

			st.buckets[i] = n->next;
			n->next = b[j];
			b[j] = n;
		}
	}
	free(st.buckets);
	st.buckets = b;
	st.nbuckets = nb;
	return 0;
}

static struct pnode *count_get(uint8_t slot, const struct dime_addr *addr)
{
	struct pnode *n = count_find(slot, addr);
	size_t j;

	if (n)
		return n;
	if (st.naddrs >= st.nbuckets && counts_grow() < 0)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->slot = slot;
	n->addr = *addr;
	j = bucket_of(slot, addr, st.nbuckets);
	n->next = st.buckets[j];
	st.buckets[j] = n;
	st.naddrs++;
	st.gate_addrs[slot_gate(slot)]++;
	if (slot_lane(slot))
		slot_lane(slot)->nodes++;
	return n;
}

/* Forget N unless it still counts or still sits in the kernel. */
static void count_release(struct pnode *n)
{
	struct pnode **pp = &st.buckets[bucket_of(n->slot, &n->addr, st.nbuckets)];

	if (n->count > 0 || n->in_kernel)
		return;
	while (*pp && *pp != n)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = n->next;
		st.gate_addrs[slot_gate(n->slot)]--;
		if (slot_lane(n->slot))
			slot_lane(n->slot)->nodes--;
		free(n);
		st.naddrs--;
	}
}

size_t rules_pair_addresses(void)
{
	return st.naddrs;
}

static uint8_t slot_of(enum rules_set set, int family)
{
	return (uint8_t)(set * 2 + (family == AF_INET6));
}

static const char *slot_set_name(uint8_t slot)
{
	if (slot >= LANE_SLOT0)
		return lane_names[(slot - LANE_SLOT0) / RULES_LANES][(slot - LANE_SLOT0) % RULES_LANES];
	return set_names[slot / 2][slot % 2];
}

/* ---- steering on demand (rules.h) --------------------------------------------- */

/* One gate per family and chain: g = family index * 2 + jump (jumps[]:
 * 0 raw PREROUTING -> DIME-IN, 1 mangle OUTPUT -> DIME-OUT). */
static size_t gate_of(int family, enum rules_dir dir)
{
	return fam_index(family) * 2 + (dir == RULES_OUT);
}

static const char *gate_name(size_t g, char *buf, size_t size)
{
	snprintf(buf, size, "IPv%s %s", g < 2 ? "4" : "6", jumps[g % 2].target);
	return buf;
}

static int steering_set(size_t g, bool on)
{
	char text[256];
	int family = families[g / 2];
	int rc = rules_render_steering(family, g % 2 ? RULES_OUT : RULES_IN, on, text, sizeof(text));

	if (rc >= 0)
		rc = run_tool(restore_tool(family), restore_args, text, NULL, false);
	return rc < 0 ? rc : 0;
}

/* Called before a member of one of the chain's sets goes in: the jump must
 * be there first, or a moved flow's packets would pass untranslated. A
 * failure is tried once per rules_pairs_apply (steer_err), not per pair. */
static int steering_need(int family, enum rules_dir dir)
{
	size_t g = gate_of(family, dir);
	uint64_t t0, took;
	char name[32];
	int rc;

	if (st.steer_on[g])
		return 0;
	if (st.steer_err[g])
		return st.steer_err[g];
	/* Synchronous, and on the way of the hand-off that needs it: the
	 * time it takes is kept (rules_steering_on_max_us). */
	t0 = now_us();
	rc = steering_set(g, true);
	took = now_us() - t0;
	if (rc < 0) {
		st.steer_err[g] = rc;
		st.stats.steering_errors++;
		log_warn_e(-rc, "rules: %s steering cannot be switched on (its jump); the moved flows that need it are not translated",
			   gate_name(g, name, sizeof(name)));
		return rc;
	}
	st.steer_on[g] = true;
	st.empty_since[g] = 0;
	st.stats.steering_on++;
	if (took > st.stats.steering_on_max_us)
		st.stats.steering_on_max_us = took;
	log_debug("rules: %s steering on: jump in place (%llu us)", gate_name(g, name, sizeof(name)),
		  (unsigned long long)took);
	return 0;
}

/*
 * The idle timer steering and lanes share: called while something is
 * unused (its caller resets *since to 0 while it is in use), true once it
 * has been so for RULES_IDLE_MS, and then the timer starts again. +1: a
 * clock that starts at 0 (tests) still counts as seen.
 */
static bool quiet_long_enough(uint64_t *since, uint64_t now_ms)
{
	if (!*since) {
		*since = now_ms + 1;
		return false;
	}
	if (now_ms + 1 - *since < RULES_IDLE_MS)
		return false;
	*since = 0;
	return true;
}

/* ---- inbound lanes (rules.h) ------------------------------------------------- */

int rules_lane_of(const struct dime_addr *local)
{
	size_t f = fam_index(local->family);

	for (unsigned k = 0; k < RULES_LANES; k++)
		if (st.lanes[f][k].bound && !st.lanes[f][k].reserved &&
		    dime_addr_eq(&st.lanes[f][k].local, local))
			return (int)k;
	return -1;
}

static int lane_rule(unsigned k, const struct dime_addr *local, bool on)
{
	char text[256];
	int rc = rules_render_lane(&st.cfg, k, local, on, text, sizeof(text));

	if (rc >= 0)
		rc = run_tool(restore_tool(local->family), restore_args, text, NULL, false);
	return rc < 0 ? rc : 0;
}

/*
 * The lane for pairs with LOCAL: the one bound to it, else a free one bound
 * now (its rule appended to DIME-IN, synchronously: the pair's remote goes
 * in its set right after). -1 when none is free or the rule fails: the
 * pair then goes in the columns, which match it too (and more).
 */
static int lane_bind(const struct dime_addr *local)
{
	size_t f = fam_index(local->family);
	int k = rules_lane_of(local);
	char addr[DIME_ADDR_STRLEN];
	int rc;

	if (k >= 0)
		return k;
	for (unsigned i = 0; i < RULES_LANES; i++) {
		struct lane *l = &st.lanes[f][i];

		if (l->bound || l->reserved || l->nodes)
			continue;
		if ((rc = lane_rule(i, local, true)) < 0) {
			log_warn_e(-rc, "rules: no inbound lane for %s (its rule failed); its pairs use the columns",
				   dime_addr_fmt(local, addr, sizeof(addr)));
			return -1;
		}
		*l = (struct lane){ .local = *local, .bound = true };
		st.stats.lane_binds++;
		log_debug("rules: inbound lane %u bound to %s", i, dime_addr_fmt(local, addr, sizeof(addr)));
		return (int)i;
	}
	st.stats.lane_overflows++;
	return -1;
}

/* Lanes whose pairs all went are unbound RULES_IDLE_MS later (a hand-off's
 * remove-then-add of pairs keeps its lane). */
static void lanes_idle(uint64_t now_ms)
{
	char addr[DIME_ADDR_STRLEN];

	for (size_t f = 0; f < 2; f++) {
		for (unsigned k = 0; k < RULES_LANES; k++) {
			struct lane *l = &st.lanes[f][k];

			if (!l->bound || l->reserved || l->nodes) {
				l->empty_since = 0;
				continue;
			}
			if (!quiet_long_enough(&l->empty_since, now_ms))
				continue;
			if (lane_rule(k, &l->local, false) < 0)
				continue;	/* logged; tried again next tick */
			l->bound = false;
			st.stats.lane_unbinds++;
			log_debug("rules: inbound lane %u of %s unbound", k, dime_addr_fmt(&l->local, addr, sizeof(addr)));
		}
	}
}

/* An empty base chain with policy accept does nothing but still costs every
 * packet a hook call; iptables-nft creates raw PREROUTING and mangle OUTPUT
 * for our jumps and leaves them when the jumps go. Delete the one of gate G
 * if it holds no rule now (nft itself refuses a chain that has rules, so
 * one added in between is safe). With the legacy backend nft sees no such
 * chain: nothing happens. Every failure here is harmless and only logged
 * at debug. */
static void prune_base_chain(size_t g)
{
	const char *nfam = g < 2 ? "ip" : "ip6", *table = jumps[g % 2].table, *chain = jumps[g % 2].chain;
	const char *args[] = { "list", "chain", nfam, table, chain, NULL };
	struct sbuf out = { 0 };
	char del[128];

	if (run_tool("nft", args, NULL, &out, true) == 0 && rules_chain_prunable(out.p ? out.p : "")) {
		snprintf(del, sizeof(del), "delete chain %s %s %s\n", nfam, table, chain);
		if (rules_run_nft_quiet(del) == 0) {
			st.stats.chains_pruned++;
			log_debug("rules: empty base chain %s %s %s deleted", nfam, table, chain);
		}
	}
	sbuf_free(&out);
}

void rules_idle(uint64_t now_ms)
{
	char name[32];

	if (st.installed)
		lanes_idle(now_ms);
	for (size_t g = 0; g < 4; g++) {
		int rc;

		if (!st.installed || !st.steer_on[g] || st.steer_kept[g] || st.gate_addrs[g] > 0) {
			st.empty_since[g] = 0;
			continue;
		}
		if (now_ms < st.retry_at[g] || !quiet_long_enough(&st.empty_since[g], now_ms))
			continue;
		if ((rc = steering_set(g, false)) < 0) {
			st.stats.steering_errors++;
			st.retry_at[g] = now_ms + 60000;
			log_warn_e(-rc, "rules: %s steering stays on (its jump cannot be deleted); retrying in 60 s",
				   gate_name(g, name, sizeof(name)));
			continue;
		}
		st.steer_on[g] = false;
		st.stats.steering_off++;
		log_debug("rules: %s sets empty for %u ms: steering off, jump deleted", gate_name(g, name, sizeof(name)),
			  RULES_IDLE_MS);
		prune_base_chain(g);
	}
}

void rules_get_stats(struct rules_stats *out)
{
	*out = st.stats;
	out->lanes_bound = 0;
	for (size_t f = 0; f < 2; f++) {
		out->on_in[f] = st.steer_on[f * 2];
		out->on_out[f] = st.steer_on[f * 2 + 1];
		for (unsigned k = 0; k < RULES_LANES; k++)
			out->lanes_bound += st.lanes[f][k].bound;
	}
}

/* Bring the kernel in line with the counts of the touched nodes: present
 * iff counted. One batch; failures are left in each node's kerr. */
static void reconcile(struct pnode **touched, size_t nt, struct ipset_op *iops, struct pnode **owner)
{
	size_t k = 0;

	for (size_t i = 0; i < nt; i++) {
		struct pnode *n = touched[i];
		bool want = n->count > 0;

		if (want == n->in_kernel)
			continue;
		iops[k] = (struct ipset_op){ .set = slot_set_name(n->slot), .del = !want, .addr = n->addr };
		owner[k++] = n;
	}
	if (k == 0)
		return;
	ipset_apply(st.ipset, iops, k);
	for (size_t i = 0; i < k; i++) {
		if (iops[i].result == 0)
			owner[i]->in_kernel = !iops[i].del;
		else
			owner[i]->kerr = iops[i].result;
	}
}

static int pair_check(const struct rules_pair_op *op)
{
	if (op->a.family != op->b.family || (op->dir != RULES_OUT && op->dir != RULES_IN))
		return -EINVAL;
	if (op->a.family == AF_INET6 ? !st.cfg.ipv6 : op->a.family != AF_INET)
		return -EAFNOSUPPORT;
	return 0;
}

static void touch(struct pnode *n, struct pnode **touched, size_t *nt)
{
	if (!n->touched) {
		n->touched = true;
		n->kerr = 0;
		touched[(*nt)++] = n;
	}
}

/* Phase 1: counts. nodes[2i], nodes[2i+1] get the pair's two nodes. */
static void count_ops(struct rules_pair_op *ops, size_t n, struct pnode **nodes,
		      struct pnode **touched, size_t *nt)
{
	for (size_t i = 0; i < n; i++) {
		struct rules_pair_op *op = &ops[i];
		enum rules_set sa = op->dir == RULES_OUT ? RULES_SET_OUT_LOCAL : RULES_SET_IN_REMOTE;
		enum rules_set sb = op->dir == RULES_OUT ? RULES_SET_OUT_REMOTE : RULES_SET_IN_LOCAL;
		struct pnode *na, *nb;
		uint8_t slot_a;
		int lane;

		nodes[2 * i] = nodes[2 * i + 1] = NULL;
		op->result = pair_check(op);
		if (op->result < 0)
			continue;
		if (!op->del && (op->result = steering_need(op->a.family, op->dir)) < 0)
			continue;
		/* Inbound, the remote goes in the lane of the local when there
		 * is one (a del: when the pair was counted there). */
		slot_a = slot_of(sa, op->a.family);
		if (op->dir == RULES_IN) {
			lane = op->del ? rules_lane_of(&op->b) : lane_bind(&op->b);
			if (lane >= 0) {
				uint8_t ls = lane_slot(fam_index(op->a.family), (unsigned)lane);
				struct pnode *ln = op->del ? count_find(ls, &op->a) : NULL;

				if (!op->del || (ln && ln->count > 0))
					slot_a = ls;
			}
		}
		if (op->del) {
			na = count_find(slot_a, &op->a);
			nb = count_find(slot_of(sb, op->b.family), &op->b);
			if (!na || !nb || na->count == 0 || nb->count == 0) {
				op->result = -ENOENT;
				continue;
			}
			na->count--;
			nb->count--;
		} else {
			na = count_get(slot_a, &op->a);
			nb = na ? count_get(slot_of(sb, op->b.family), &op->b) : NULL;
			if (!nb) {
				if (na)
					touch(na, touched, nt);	/* released at the end */
				op->result = -ENOMEM;
				continue;
			}
			na->count++;
			nb->count++;
		}
		nodes[2 * i] = na;
		nodes[2 * i + 1] = nb;
		touch(na, touched, nt);
		touch(nb, touched, nt);
	}
}

/* Phase 3: an add whose addresses did not both reach the kernel is undone;
 * a del whose kernel delete failed reports it (the count stays dropped and
 * the entry is retried whenever that address is touched again). */
static bool settle_ops(struct rules_pair_op *ops, size_t n, struct pnode **nodes)
{
	bool undo = false;

	for (size_t i = 0; i < n; i++) {
		struct pnode *na = nodes[2 * i], *nb = nodes[2 * i + 1];

		if (ops[i].result < 0 || !na)
			continue;
		if (!ops[i].del && (!na->in_kernel || !nb->in_kernel)) {
			ops[i].result = !na->in_kernel ? na->kerr : nb->kerr;
			na->count--;
			nb->count--;
			undo = true;
		} else if (ops[i].del && ((na->count == 0 && na->in_kernel) || (nb->count == 0 && nb->in_kernel))) {
			ops[i].result = na->count == 0 && na->in_kernel ? na->kerr : nb->kerr;
		}
	}
	return undo;
}

int rules_pairs_apply(struct rules_pair_op *ops, size_t n)
{
	struct pnode **nodes, **touched, **owner;
	struct ipset_op *iops;
	size_t nt = 0;
	int first = 0;

	if (!st.installed) {
		for (size_t i = 0; i < n; i++)
			ops[i].result = -ENOTCONN;
		return n ? -ENOTCONN : 0;
	}
	memset(st.steer_err, 0, sizeof(st.steer_err));
	nodes = calloc(2 * n + 1, sizeof(*nodes));
	touched = calloc(2 * n + 1, sizeof(*touched));
	owner = calloc(2 * n + 1, sizeof(*owner));
	iops = calloc(2 * n + 1, sizeof(*iops));
	if (!nodes || !touched || !owner || !iops) {
		first = -ENOMEM;
		for (size_t i = 0; i < n; i++)
			ops[i].result = -ENOMEM;
		goto out;
	}
	count_ops(ops, n, nodes, touched, &nt);
	reconcile(touched, nt, iops, owner);
	if (settle_ops(ops, n, nodes))
		reconcile(touched, nt, iops, owner);
	for (size_t i = 0; i < nt; i++) {
		touched[i]->touched = false;
		count_release(touched[i]);
	}
	for (size_t i = 0; i < n && !first; i++)
		first = ops[i].result;
out:
	free(nodes);
	free(touched);
	free(owner);
	free(iops);
	return first;
}

static int pair_one(enum rules_dir dir, bool del, const struct dime_addr *a, const struct dime_addr *b)
{
	struct rules_pair_op op = { .dir = dir, .del = del, .a = *a, .b = *b };

	return rules_pairs_apply(&op, 1);
}

int rules_pair_add(enum rules_dir dir, const struct dime_addr *a, const struct dime_addr *b)
{
	return pair_one(dir, false, a, b);
}

int rules_pair_del(enum rules_dir dir, const struct dime_addr *a, const struct dime_addr *b)
{
	return pair_one(dir, true, a, b);
}

static int odst_check(const struct dime_addr *addr)
{
	if (!st.installed)
		return -ENOTCONN;
	if (addr->family == AF_INET6 ? !st.cfg.ipv6 : addr->family != AF_INET)
		return -EAFNOSUPPORT;
	return 0;
}

/* dime-odst members are kept as nodes too (count 1 while in the kernel), so
 * that steering knows when a family's sets are empty. */
int rules_odst_add(const struct dime_addr *remote_id)
{
	uint8_t slot = slot_of(RULES_SET_OUT_DST, remote_id->family);
	struct pnode *n;
	int err = odst_check(remote_id);

	if (err)
		return err;
	st.steer_err[gate_of(remote_id->family, RULES_OUT)] = 0;
	if ((err = steering_need(remote_id->family, RULES_OUT)) < 0)
		return err;
	if (!(n = count_get(slot, remote_id)))
		return -ENOMEM;
	err = ipset_add_ip(st.ipset, slot_set_name(slot), remote_id);
	if (err == 0) {
		n->in_kernel = true;
		n->count = 1;
	}
	count_release(n);
	return err;
}

int rules_odst_del(const struct dime_addr *remote_id)
{
	uint8_t slot;
	struct pnode *n;
	int err = odst_check(remote_id);

	if (err)
		return err;
	slot = slot_of(RULES_SET_OUT_DST, remote_id->family);
	err = ipset_del_ip(st.ipset, slot_set_name(slot), remote_id);
	if (err == 0 && (n = count_find(slot, remote_id))) {
		n->in_kernel = false;
		n->count = 0;
		count_release(n);
	}
	return err;
}

/* ---- removal -------------------------------------------------------------------- */

/* Delete our rules and chains of one family; *found counts families that had some. */
static int remove_rules(int family, bool must, unsigned *found)
{
	struct sbuf save = { 0 };
	char *text = NULL;
	/* Without ip6tables, or with IPv6 disabled, nothing of ours can be
	 * there unless we installed it: then a failure is no error. */
	int rc = run_tool(save_tool(family), NULL, NULL, &save, !must);

	if (rc < 0) {
		if (!must)
			rc = 0;
		goto out;
	}
	text = malloc(RULES_REMOVE_SIZE(save.len));
	if (!text) {
		rc = -ENOMEM;
		goto out;
	}
	rc = rules_render_remove(save.p ? save.p : "", text, RULES_REMOVE_SIZE(save.len));
	if (rc > 0) {
		(*found)++;
		log_debug("rules: removing with %s:\n%s", restore_tool(family), text);
		rc = run_tool(restore_tool(family), restore_args, text, NULL, false);
	}
	if (rc > 0)
		rc = 0;
out:
	free(text);
	sbuf_free(&save);
	return rc;
}

static int destroy_set(const char *name, unsigned *found)
{
	long deadline = now_ms() + DESTROY_WAIT_MS;
	struct ipset_info info;
	int rc = ipset_header(st.ipset, name, &info);

	if (rc == -ENOENT)
		return 0;
	/* With the nf_tables backend a deleted rule releases its set after
	 * the transaction is freed, asynchronously: retry briefly. */
	while ((rc = ipset_destroy(st.ipset, name)) == -EBUSY && now_ms() < deadline)
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	if (rc == -EBUSY)
		log_warnx("ipset %s: still in use after %d ms (a rule outside dimed's chains references it?)",
			  name, DESTROY_WAIT_MS);
	if (rc == 0)
		(*found)++;
	return rc;
}

static int remove_all(bool stale)
{
	unsigned found = 0, found_sets = 0;
	int first = 0, rc;

	for (size_t i = 0; i < 2; i++) {
		/* IPv4 always; IPv6 must work only when we installed it. */
		bool must = families[i] == AF_INET || (st.installed && st.cfg.ipv6);

		rc = remove_rules(families[i], must, &found);
		if (rc < 0 && !first)
			first = rc;
	}
	rc = ipset_ready();
	if (rc < 0 && !first)
		first = rc;
	for (size_t i = 0; rc == 0 && i < 2; i++) {
		for (int set = 0; set < RULES_SET_COUNT; set++) {
			int r = destroy_set(set_names[set][i], &found_sets);

			if (r < 0 && !first)
				first = r;
		}
		for (unsigned k = 0; k < RULES_LANES; k++) {
			int r = destroy_set(lane_names[i][k], &found_sets);

			if (r < 0 && !first)
				first = r;
		}
	}
	/* The base chains our jumps made iptables-nft create, if left empty. */
	for (size_t g = 0; g < 4; g++)
		if (g < 2 || st.cfg.ipv6 || stale)
			prune_base_chain(g);
	counts_clear();
	st.installed = false;
	memset(st.steer_on, 0, sizeof(st.steer_on));
	memset(st.steer_kept, 0, sizeof(st.steer_kept));
	memset(st.empty_since, 0, sizeof(st.empty_since));
	memset(st.retry_at, 0, sizeof(st.retry_at));
	memset(st.lanes, 0, sizeof(st.lanes));
	if (stale && (found || found_sets))
		log_notice("rules: removed leftovers of an earlier run: rules of %u address families, %u sets",
			   found, found_sets);
	if (first)
		log_warn_e(first, "rules: removal incomplete");
	return first;
}

int rules_remove_stale(void)
{
	return remove_all(true);
}

int rules_remove(void)
{
	int rc = remove_all(false);

	ipset_close(st.ipset);
	st.ipset = NULL;
	return rc;
}

/* ---- installation ----------------------------------------------------------------- */

static int create_sets(int family)
{
	for (int set = 0; set < RULES_SET_COUNT; set++) {
		int rc = ipset_create(st.ipset, rules_set_name((enum rules_set)set, family), "hash:ip",
				      family, RULES_SET_MAXELEM);

		if (rc < 0)
			return rc;
	}
	for (unsigned k = 0; k < RULES_LANES; k++) {
		int rc = ipset_create(st.ipset, rules_lane_set_name(family, k), "hash:ip", family,
				      RULES_SET_MAXELEM);

		if (rc < 0)
			return rc;
	}
	return 0;
}

static int install_rules(const struct rules_config *cfg, int family)
{
	char text[4096];
	int rc = rules_render_install(cfg, family, text, sizeof(text));

	if (rc < 0)
		return rc;
	return run_tool(restore_tool(family), restore_args, text, NULL, false);
}

/*
 * The install text with the earlier run's chain flushed and refilled in
 * the same table transaction instead of created: "-D jump" and "-F chain"
 * in place of the chain's declaration. Fails (and the caller falls back)
 * when the earlier run's chain or jump is not there.
 */
static int render_take_over(const struct rules_config *cfg, int family, const bool steering[2],
			    const char *lanes_text, char *out, size_t size)
{
	char text[4096];
	const char *decl[2] = { ":" RULES_CHAIN_IN " - [0:0]\n", ":" RULES_CHAIN_OUT " - [0:0]\n" };
	const char *with_jump[2] = { "-D PREROUTING -j " RULES_CHAIN_IN "\n-F " RULES_CHAIN_IN "\n",
				     "-D OUTPUT -j " RULES_CHAIN_OUT "\n-F " RULES_CHAIN_OUT "\n" };
	const char *no_jump[2] = { "-F " RULES_CHAIN_IN "\n", "-F " RULES_CHAIN_OUT "\n" };

	int rc = rules_render_install(cfg, family, text, sizeof(text)), table = -1;
	struct textbuf jump = { 0 };
	const char *lanes_here;
	char jbuf[128];
	size_t o = 0;

	if (rc < 0)
		return rc;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
		const char *put = p;
		size_t plen = len;

		for (int i = 0; i < 2; i++) {
			if (len == strlen(decl[i]) && memcmp(p, decl[i], len) == 0) {
				put = steering[i] ? with_jump[i] : no_jump[i];
				plen = strlen(put);
				table = i;
			}
		}
		if (table >= 0 && len == strlen("COMMIT\n") && memcmp(p, "COMMIT\n", len) == 0) {
			/* Before the table's COMMIT: the earlier run's lane rules
			 * (DIME-IN's table), then the jump, in the same
			 * transaction, so steering stays on. */
			jbuf[0] = '\0';
			if (steering[table]) {
				jump = (struct textbuf){ .buf = jbuf, .size = sizeof(jbuf) };
				jump_line(&jump, (size_t)table, true);
				if (textbuf_result(&jump) < 0)
					return -ENOSPC;
			}
			lanes_here = table == 0 ? lanes_text : "";
			if (o + strlen(lanes_here) + strlen(jbuf) + 1 > size)
				return -ENOSPC;
			memcpy(out + o, lanes_here, strlen(lanes_here));
			o += strlen(lanes_here);
			memcpy(out + o, jbuf, strlen(jbuf));
			o += strlen(jbuf);
			table = -1;
		}
		if (o + plen + 1 > size)
			return -ENOSPC;
		memcpy(out + o, put, plen);
		o += plen;
		p += len;
	}
	out[o] = '\0';
	return 0;
}

/*
 * The lane rules in SAVE (iptables-save of FAMILY): appended to LANES as
 * they are, their lanes marked in RESERVED. Take-over puts them back so
 * the earlier run's pairs stay steered; this run leaves those lanes alone.
 */
static void earlier_lanes(const char *save, int family, struct textbuf *lanes, bool reserved[RULES_LANES])
{
	for (const char *line = save; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (starts(line, len, "-A " RULES_CHAIN_IN " ")) {
			for (unsigned k = 0; k < RULES_LANES; k++) {
				char needle[48];
				const char *hit;

				snprintf(needle, sizeof(needle), "--match-set %s src ", lane_names[family == AF_INET6][k]);
				hit = strstr(line, needle);
				if (hit && hit < line + len) {
					reserved[k] = true;
					textbuf_put(lanes, line, len);
					textbuf_put(lanes, "\n", 1);
				}
			}
		}
		line = nl ? nl + 1 : line + len;
	}
}

/* Which of its jumps the earlier run of FAMILY had in place: on[0] raw
 * PREROUTING -> DIME-IN, on[1] mangle OUTPUT -> DIME-OUT; and its lanes. */
static int earlier_steering(int family, bool on[2], struct textbuf *lanes, bool reserved[RULES_LANES])
{
	struct sbuf save = { 0 };
	int rc = run_tool(save_tool(family), NULL, NULL, &save, true);

	if (rc == 0) {
		const char *t = save.p ? save.p : "";

		on[0] = strstr(t, "\n-A PREROUTING -j " RULES_CHAIN_IN "\n") != NULL;
		on[1] = strstr(t, "\n-A OUTPUT -j " RULES_CHAIN_OUT "\n") != NULL;
		earlier_lanes(t, family, lanes, reserved);
		if (lanes->overflow)
			rc = -ENOSPC;
	}
	sbuf_free(&save);
	return rc;
}

static int take_over(const struct rules_config *cfg)
{
	char text[4096 + 256 + RULES_LANES * 160];
	bool steering[4] = { false, false, false, false };	/* by gate */
	char kept_text[128] = "";
	struct textbuf kept = { .buf = kept_text, .size = sizeof(kept_text) };
	unsigned lanes_kept = 0;
	int rc = ipset_ready();

	if (rc < 0)
		return rc;
	st.cfg = *cfg;
	ipset_keep_contents(st.ipset, true);
	for (size_t i = 0; rc == 0 && i < 2; i++)
		if (family_wanted(cfg, families[i]))
			rc = create_sets(families[i]);
	ipset_keep_contents(st.ipset, false);
	for (size_t i = 0; rc == 0 && i < 2; i++) {
		char lanes_buf[RULES_LANES * 160] = "";
		struct textbuf lanes = { .buf = lanes_buf, .size = sizeof(lanes_buf) };
		bool reserved[RULES_LANES] = { false };

		if (!family_wanted(cfg, families[i]))
			continue;
		rc = earlier_steering(families[i], &steering[i * 2], &lanes, reserved);
		if (rc == 0)
			rc = render_take_over(cfg, families[i], &steering[i * 2], lanes_buf, text, sizeof(text));
		for (unsigned k = 0; rc == 0 && k < RULES_LANES; k++)
			st.lanes[i][k] = (struct lane){ .bound = reserved[k], .reserved = reserved[k] };
		if (rc == 0)
			rc = run_tool(restore_tool(families[i]), restore_args, text, NULL, true);
	}
	if (rc < 0)
		return rc;
	st.installed = true;
	/* The earlier run's members are not counted here: a family it was
	 * steering is never switched off in this run. */
	for (size_t g = 0; g < 4; g++) {
		char name[32];

		st.steer_on[g] = st.steer_kept[g] = steering[g];
		if (steering[g])
			textbuf_printf(&kept, "%s%s", kept.len ? ", " : "", gate_name(g, name, sizeof(name)));
	}
	for (size_t f = 0; f < 2; f++)
		for (unsigned k = 0; k < RULES_LANES; k++)
			lanes_kept += st.lanes[f][k].reserved;
	log_info("rules: taken over from the earlier run, sets kept, steering kept on for this run: %s (queue out %u, in %u); %u inbound lanes kept",
		 kept.len ? kept_text : "none", cfg->queue_out, cfg->queue_in, lanes_kept);
	return 0;
}

int rules_install(const struct rules_config *cfg)
{
	int rc = rules_config_check(cfg);

	if (rc < 0)
		return rc;
	/* After a crash, with its state restored: keep steering what the
	 * earlier run steered while this one learns the flows again. The
	 * sets' members from before stay until the sets go at exit; they
	 * only make the kernel queue packets that then pass unchanged. */
	if (cfg->take_over) {
		if (take_over(cfg) == 0)
			return 0;
		log_notice("rules: the earlier run's rules could not be taken over (incomplete, or it was steering nothing); installing afresh");
	}
	rc = rules_remove_stale();
	if (rc < 0) {
		log_warnx("rules: an earlier run's rules could not be removed; not installing");
		return rc;
	}
	st.cfg = *cfg;
	/* From here on a failure removes everything of both families. */
	st.installed = true;
	for (size_t i = 0; rc == 0 && i < 2; i++)
		if (family_wanted(cfg, families[i]))
			rc = create_sets(families[i]);
	for (size_t i = 0; rc == 0 && i < 2; i++)
		if (family_wanted(cfg, families[i]))
			rc = install_rules(cfg, families[i]);
	if (rc < 0) {
		log_warn_e(rc, "rules: installation failed; removing what was added");
		remove_all(false);
		return rc;
	}
	log_info("rules: installed (queue out %u, in %u, IHMP port %u, mark 0x%x%s)", cfg->queue_out,
		 cfg->queue_in, cfg->ihmp_port, cfg->mark, cfg->ipv6 ? ", IPv4 and IPv6" : ", IPv4 only");
	return 0;
}
