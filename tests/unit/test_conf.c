// SPDX-License-Identifier: BSD-2-Clause
/*
 * The configuration parser (conf.c), mostly through golden files in
 * tests/unit/golden/conf/: each NAME.conf there is parsed with the file name
 * "NAME.conf"; a clean one must print (conf_print) exactly NAME.out, a bad
 * one must report exactly NAME.err. The same goldens are then checked
 * against the real program: `dimed -n -v -f NAME.conf` run in that
 * directory must write NAME.out and "configuration OK", `dimed -n -f` the
 * errors of NAME.err. conf/dime.conf is a golden of conf_print_template().
 *
 * After an intended change: DIME_GOLDEN_UPDATE=1 ./test_conf rewrites the
 * .out/.err goldens and conf/dime.conf (a new NAME.conf gets the one its
 * result calls for); review with git diff. On a mismatch the actual output
 * is left in golden-actual/ in the build directory.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dime/conf.h"
#include "dime/control.h"
#include "dime/daemon.h"
#include "dime/flow.h"
#include "dime/ihmp_sign.h"
#include "dime/log.h"

#if !defined(DIME_GOLDEN_DIR) || !defined(DIME_SOURCE_DIR) || !defined(DIMED_PATH)
#error "conf.cmake defines DIME_GOLDEN_DIR, DIME_SOURCE_DIR and DIMED_PATH"
#endif

/* ---- files and goldens ---- */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void write_file(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static bool updating(void)
{
	return getenv("DIME_GOLDEN_UPDATE") != NULL;
}

/* Compare out with the file at path (rewrite it when updating). */
static void golden(const char *path, const char *out, size_t len)
{
	char actual[512];
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t glen = 0;
	char *want;

	if (updating()) {
		write_file(path, out, len);
		return;
	}
	want = read_file(path, &glen);
	if (!want || glen != len || memcmp(want, out, len) != 0) {
		mkdir("golden-actual", 0755);
		snprintf(actual, sizeof(actual), "golden-actual/%s", base);
		write_file(actual, out, len);
		free(want);
		ck_abort_msg("%s differs from the golden: diff -u %s %s", base, path, actual);
	}
	free(want);
}

struct mem {
	FILE *f;
	char *buf;
	size_t len;
};

static FILE *mem_open(struct mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	ck_assert_ptr_nonnull(m->f);
	return m->f;
}

static void mem_close(struct mem *m)
{
	ck_assert_int_eq(fclose(m->f), 0);
}

static char *print_conf(const struct dime_conf *c, size_t *len)
{
	struct mem m;

	conf_print(c, mem_open(&m));
	mem_close(&m);
	*len = m.len;
	return m.buf;
}

static char *print_errors(const struct conf_errors *e, size_t *len)
{
	struct mem m;

	conf_errors_print(e, mem_open(&m));
	mem_close(&m);
	*len = m.len;
	return m.buf;
}

static char *golden_path(const char *name, const char *ext)
{
	static char path[512];
	size_t stem = strlen(name) - strlen(".conf");

	snprintf(path, sizeof(path), "%s/%.*s%s", DIME_GOLDEN_DIR, (int)stem, name, ext);
	return path;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Parse golden/NAME with "NAME" as the file name. */
static int parse_golden(const char *name, struct dime_conf *c, struct conf_errors *e)
{
	char path[512];
	size_t len;
	char *text;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", DIME_GOLDEN_DIR, name);
	text = read_file(path, &len);
	ck_assert_msg(text != NULL, "cannot read %s", path);
	rc = conf_parse(text, len, name, c, e);
	free(text);
	return rc;
}

static int is_conf(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

/* The golden inputs, sorted. */
static int golden_inputs(struct dirent ***list)
{
	int n = scandir(DIME_GOLDEN_DIR, list, is_conf, alphasort);

	ck_assert_int_gt(n, 20);
	return n;
}

static void free_list(struct dirent **list, int n)
{
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* ---- the table ---- */

START_TEST(test_table)
{
	for (int i = 0; i < CONF_KEY_COUNT; i++) {
		const char *name = conf_key_name((enum conf_key)i);

		ck_assert_ptr_nonnull(name);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(name, conf_key_name((enum conf_key)j));
	}
	ck_assert_ptr_null(conf_key_name(CONF_KEY_COUNT));
}
END_TEST

/* ---- goldens, in process ---- */

static void check_golden(const char *name)
{
	struct dime_conf c;
	struct conf_errors e;
	char *out, *want_out = golden_path(name, ".out");
	bool want_ok = exists(want_out);
	size_t len;
	int rc;

	rc = parse_golden(name, &c, &e);
	if (updating())
		want_ok = rc == 0;
	else
		ck_assert_msg(want_ok != exists(golden_path(name, ".err")),
			      "%s needs exactly one of .out and .err", name);
	if (want_ok) {
		ck_assert_msg(rc == 0, "%s: expected clean, got %u errors, first: %s", name, e.count,
			      e.count ? e.msg[0] : "");
		out = print_conf(&c, &len);
		golden(golden_path(name, ".out"), out, len);
	} else {
		ck_assert_msg(rc == -EINVAL, "%s: expected errors, parsed clean", name);
		ck_assert_uint_gt(e.count, 0);
		out = print_errors(&e, &len);
		golden(golden_path(name, ".err"), out, len);
	}
	free(out);
}

START_TEST(test_goldens)
{
	struct dirent **list;
	int n = golden_inputs(&list);

	for (int i = 0; i < n; i++)
		check_golden(list[i]->d_name);
	free_list(list, n);
}
END_TEST

/* print -> parse -> print gives the same text, with everything set. */
START_TEST(test_roundtrip)
{
	static const char *const names[] = { "ok_all_set.conf", "ok_empty.conf", "ok_syntax.conf" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct dime_conf c, again;
		struct conf_errors e;
		char *first, *second;
		size_t l1, l2;

		ck_assert_int_eq(parse_golden(names[i], &c, &e), 0);
		first = print_conf(&c, &l1);
		ck_assert_int_eq(conf_parse(first, l1, "printed", &again, &e), 0);
		/* "ihmp-key PATH PREFIX..." lines follow the plain one. */
		ck_assert_uint_eq(again.n_bound_keys, c.n_bound_keys);
		for (int k = 0; k < CONF_KEY_COUNT; k++) {
			ck_assert(conf_is_set(&again, (enum conf_key)k));
			ck_assert_uint_eq(again.line[k], (unsigned)k + 1 +
					  (k > CONF_IHMP_KEY ? c.n_bound_keys : 0));
		}
		second = print_conf(&again, &l2);
		ck_assert_uint_eq(l1, l2);
		ck_assert_mem_eq(first, second, l1);
		free(first);
		free(second);
	}
}
END_TEST

START_TEST(test_one_error_applies_nothing)
{
	struct dime_conf c, before;
	struct conf_errors e;

	ck_assert_int_eq(parse_golden("ok_all_set.conf", &c, &e), 0);
	memcpy(&before, &c, sizeof(c));
	ck_assert_int_eq(parse_golden("err_one.conf", &c, &e), -EINVAL);
	ck_assert_uint_eq(e.count, 1);
	ck_assert_mem_eq(&c, &before, sizeof(c));
	/* And from the start: a fresh struct stays as it was. */
	conf_init(&c);
	memcpy(&before, &c, sizeof(c));
	ck_assert_int_eq(parse_golden("err_one.conf", &c, &e), -EINVAL);
	ck_assert_mem_eq(&c, &before, sizeof(c));
}
END_TEST

/* ---- the shipped file ---- */

/* conf/dime.conf is conf_print_template(); it parses to nothing set, and
 * with every directive uncommented to exactly the defaults. */
START_TEST(test_template)
{
	struct dime_conf c, none;
	struct conf_errors e;
	struct mem m;
	char *line, *save, *uncommented, *defaults, *printed;
	size_t len, dlen, plen, o = 0;

	conf_print_template(mem_open(&m));
	mem_close(&m);
	golden(DIME_SOURCE_DIR "/conf/dime.conf", m.buf, m.len);

	ck_assert_int_eq(conf_parse(m.buf, m.len, "dime.conf", &c, &e), 0);
	for (int k = 0; k < CONF_KEY_COUNT; k++)
		ck_assert(!conf_is_set(&c, (enum conf_key)k));

	uncommented = calloc(1, m.len + 1);
	ck_assert_ptr_nonnull(uncommented);
	for (line = strtok_r(m.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z')
			o += (size_t)sprintf(uncommented + o, "%s\n", line + 1);
	}
	ck_assert_int_eq(conf_parse(uncommented, o, "dime.conf", &c, &e), 0);
	for (int k = 0; k < CONF_KEY_COUNT; k++)
		ck_assert(conf_is_set(&c, (enum conf_key)k));
	conf_init(&none);
	defaults = print_conf(&none, &dlen);
	printed = print_conf(&c, &plen);
	ck_assert_uint_eq(dlen, plen);
	ck_assert_mem_eq(defaults, printed, dlen);
	len = strlen(uncommented);
	ck_assert_uint_eq(len, o);
	free(defaults);
	free(printed);
	free(uncommented);
	free(m.buf);
}
END_TEST

/* ---- mapping to the daemon ---- */

/* The defaults dimed ran with before the file existed, and flow.c's. */
START_TEST(test_defaults)
{
	struct dimed_config cfg;
	struct dime_flow_timeouts to, flow_defaults;
	struct dime_conf c;
	int level = -1;

	conf_init(&c);
	memset(&cfg, 0xa5, sizeof(cfg));
	conf_to_daemon(&c, &cfg, &to, &level);
	ck_assert_str_eq(cfg.ctl_path, CTL_SOCKET_PATH);
	ck_assert_uint_eq(cfg.queue_out, 5100);
	ck_assert_uint_eq(cfg.queue_in, 5101);
	ck_assert_uint_eq(cfg.ihmp_port, 5150);
	ck_assert_uint_eq(cfg.mark, 0x4d000000);
	ck_assert_uint_eq(cfg.hid_capacity, 65536);
	ck_assert_uint_eq(cfg.flow_capacity, 1u << 20);
	ck_assert_uint_eq(cfg.nfq_maxlen, 16384);
	ck_assert_uint_eq(cfg.nfq_rcvbuf, 16u << 20);
	ck_assert(cfg.ipv6);
	ck_assert(cfg.manage_sysctls);
	ck_assert_uint_eq(cfg.ihmp_auth, IHMP_AUTH_OPPORTUNISTIC);
	ck_assert_str_eq(cfg.ihmp_key_path, "/etc/dime/ihmp.key");
	ck_assert_str_eq(cfg.ihmp_peer_keys_dir, "/etc/dime/peers");
	ck_assert_uint_eq(cfg.ihmp_rate, 50);
	ck_assert_uint_eq(cfg.ihmp_rate_global, 1000);
	ck_assert_int_eq(level, LOG_LEVEL_INFO);
	dime_flow_timeouts_default(&flow_defaults);
	ck_assert_mem_eq(&to, &flow_defaults, sizeof(to));
}
END_TEST

START_TEST(test_to_daemon)
{
	struct dimed_config cfg;
	struct dime_flow_timeouts to;
	struct dime_conf c;
	struct conf_errors e;
	int level;

	ck_assert_int_eq(parse_golden("ok_all_set.conf", &c, &e), 0);
	conf_to_daemon(&c, &cfg, &to, &level);
	ck_assert_str_eq(cfg.ctl_path, "/run/dime-test/ctl.sock");
	ck_assert_ptr_eq(cfg.ctl_path, c.control_socket);
	ck_assert_uint_eq(cfg.queue_out, 7);
	ck_assert_uint_eq(cfg.queue_in, 65535);
	ck_assert_uint_eq(cfg.ihmp_port, 65000);
	ck_assert_uint_eq(cfg.mark, 0x100);
	ck_assert_uint_eq(cfg.hid_capacity, 4194304);
	ck_assert_uint_eq(cfg.flow_capacity, 16777216);
	ck_assert_uint_eq(cfg.nfq_maxlen, 1);
	ck_assert_uint_eq(cfg.nfq_rcvbuf, 1u << 30);
	ck_assert(!cfg.ipv6);
	ck_assert(!cfg.manage_sysctls);
	ck_assert_uint_eq(cfg.ihmp_auth, IHMP_AUTH_REQUIRED);
	ck_assert_str_eq(cfg.ihmp_key_path, "/etc/dime-test/host.key");
	ck_assert_ptr_eq(cfg.ihmp_key_path, c.ihmp_key);
	ck_assert_str_eq(cfg.ihmp_peer_keys_dir, "/etc/dime-test/peers");
	ck_assert_ptr_eq(cfg.ihmp_peer_keys_dir, c.ihmp_peer_keys);
	ck_assert_uint_eq(cfg.ihmp_rate, 0);
	ck_assert_uint_eq(cfg.ihmp_rate_global, 1000000);
	ck_assert_int_eq(level, LOG_LEVEL_DEBUG);
	ck_assert_uint_eq(to.tcp_established, 720 * 3600);
	ck_assert_uint_eq(to.tcp_transitory, 90);
	ck_assert_uint_eq(to.udp, 1);
	ck_assert_uint_eq(to.icmp, 120);
	/* Each output is optional. */
	conf_to_daemon(&c, NULL, NULL, NULL);
}
END_TEST

/* ---- command-line overrides ---- */

START_TEST(test_set)
{
	struct dime_conf c, before;
	struct conf_errors e;

	conf_init(&c);
	conf_errors_init(&e);
	ck_assert_int_eq(conf_set(&c, "control-socket", "/tmp/x.sock", "-s", &e), 0);
	ck_assert(conf_is_set(&c, CONF_CONTROL_SOCKET));
	ck_assert_uint_eq(c.line[CONF_CONTROL_SOCKET], 0);
	ck_assert_str_eq(c.control_socket, "/tmp/x.sock");
	ck_assert_int_eq(conf_set(&c, "log-level", "debug", "-l", &e), 0);
	ck_assert_int_eq(c.log_level, LOG_LEVEL_DEBUG);
	ck_assert_uint_eq(e.count, 0);

	memcpy(&before, &c, sizeof(c));
	ck_assert_int_eq(conf_set(&c, "control-socket", "relative", "-s", &e), -EINVAL);
	ck_assert_int_eq(conf_set(&c, "control-socket", "/a b", "-s", &e), -EINVAL);
	ck_assert_int_eq(conf_set(&c, "control-socket", "/a#b", "-s", &e), -EINVAL);
	ck_assert_int_eq(conf_set(&c, "queue-in", "5100", "-q", &e), -EINVAL);
	ck_assert_int_eq(conf_set(&c, "no-such-thing", "1", "-x", &e), -ENOENT);
	ck_assert_mem_eq(&c, &before, sizeof(c));
	ck_assert_uint_eq(e.count, 4);
	ck_assert_str_eq(e.msg[0], "-s: \"control-socket\" must be an absolute path, got \"relative\"");
	ck_assert_str_eq(e.msg[1], "-s: \"control-socket\" cannot hold blanks, '#' or control "
				   "characters, got \"/a b\"");
	ck_assert_str_eq(e.msg[3], "-q: \"queue-in\" must differ from \"queue-out\" (default), "
				   "both are 5100");
}
END_TEST

/* ---- limits ---- */

static char *filled(size_t n, char ch)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

START_TEST(test_limits)
{
	struct dime_conf c;
	struct conf_errors e;
	char *text, want[128];

	/* A line of exactly CONF_LINE_MAX bytes (CR LF not counted) is fine. */
	text = filled(CONF_LINE_MAX + 2, '#');
	ck_assert_int_eq(conf_parse(text, CONF_LINE_MAX, "f", &c, &e), 0);
	memcpy(text + CONF_LINE_MAX, "\r\n", 2);
	ck_assert_int_eq(conf_parse(text, CONF_LINE_MAX + 2, "f", &c, &e), 0);
	ck_assert_int_eq(conf_parse(text, CONF_LINE_MAX + 1, "f", &c, &e), 0);
	text[CONF_LINE_MAX] = '#';
	ck_assert_int_eq(conf_parse(text, CONF_LINE_MAX + 1, "f", &c, &e), -EINVAL);
	ck_assert_str_eq(e.msg[0], "f:1: line is longer than 1024 bytes");
	free(text);

	/* A file of exactly CONF_FILE_MAX bytes is read; one more is not. */
	text = filled(CONF_FILE_MAX + 1, '\n');
	text[0] = '#';
	ck_assert_int_eq(conf_parse(text, CONF_FILE_MAX, "f", &c, &e), 0);
	ck_assert_int_eq(conf_parse(text, CONF_FILE_MAX + 1, "f", &c, &e), -EINVAL);
	ck_assert_uint_eq(e.count, 1);
	ck_assert_str_eq(e.msg[0], "f: file is larger than 65536 bytes");
	free(text);

	/* A NUL byte is an error, not the end of the text. */
	ck_assert_int_eq(conf_parse("ipv6 no\n\0queue-out 1\n", 21, "f", &c, &e), -EINVAL);
	ck_assert_str_eq(e.msg[0], "f:2: control character 0x00 in column 1");
	ck_assert_int_eq(conf_parse("", 0, "f", &c, &e), 0);

	/* User text quoted back is bounded and escaped. */
	text = filled(200, 'z');
	text[0] = '\xff';
	ck_assert_int_eq(conf_parse(text, 200, "f", &c, &e), -EINVAL);
	free(text);
	/* 48 bytes of it: the escaped byte and 47 others. */
	text = filled(47, 'z');
	snprintf(want, sizeof(want), "f:1: unknown directive \"\\xff%s...\"", text);
	ck_assert_str_eq(e.msg[0], want);
	free(text);
}
END_TEST

/* ---- conf_load ---- */

static char tmpdir[64];

static void tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dime-test-conf-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *tmp_file(const char *name, const char *text, size_t len, mode_t mode)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	write_file(path, text, len);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

START_TEST(test_load)
{
	struct dime_conf c;
	struct conf_errors e;
	char path[160], msg[CONF_ERROR_LEN];
	const char *p;
	char *big;

	tmp_setup();
	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	memset(&c, 0x5a, sizeof(c));
	ck_assert_int_eq(conf_load(path, true, &c, &e), 0);
	for (int k = 0; k < CONF_KEY_COUNT; k++)
		ck_assert(!conf_is_set(&c, (enum conf_key)k));
	ck_assert_int_eq(conf_load(path, false, &c, &e), -ENOENT);
	snprintf(msg, sizeof(msg), "%s: cannot open: No such file or directory", path);
	ck_assert_str_eq(e.msg[0], msg);

	p = tmp_file("good.conf", "queue-out 7\n", 12, 0644);
	ck_assert_int_eq(conf_load(p, false, &c, &e), 0);
	ck_assert_uint_eq(c.queue_out, 7);
	ck_assert_uint_eq(c.line[CONF_QUEUE_OUT], 1);

	p = tmp_file("bad.conf", "queue-out 70000\n", 16, 0644);
	ck_assert_int_eq(conf_load(p, false, &c, &e), -EINVAL);
	snprintf(msg, sizeof(msg), "%s:1: \"queue-out\" must be 0..65535, got 70000", p);
	ck_assert_str_eq(e.msg[0], msg);
	ck_assert_uint_eq(c.queue_out, 7);

	/* Writable by others than root: refused, whatever it holds. */
	p = tmp_file("open.conf", "queue-out 7\n", 12, 0666);
	ck_assert_int_eq(conf_load(p, false, &c, &e), -EPERM);
	snprintf(msg, sizeof(msg), "%s: refusing a file that others than root can write (owner uid "
				   "%u, mode 0666): chown root and chmod go-w it", p, (unsigned)geteuid());
	ck_assert_str_eq(e.msg[0], msg);
	p = tmp_file("group.conf", "queue-out 7\n", 12, 0664);
	ck_assert_int_eq(conf_load(p, false, &c, &e), -EPERM);
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(p, 12345, 0), 0);
		ck_assert_int_eq(chmod(p, 0644), 0);
		ck_assert_int_eq(conf_load(p, false, &c, &e), -EPERM);
	}

	ck_assert_int_eq(conf_load(tmpdir, false, &c, &e), -EINVAL);
	snprintf(msg, sizeof(msg), "%s: not a regular file", tmpdir);
	ck_assert_str_eq(e.msg[0], msg);
	snprintf(path, sizeof(path), "%s/fifo.conf", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(conf_load(path, true, &c, &e), -EINVAL);

	big = filled(CONF_FILE_MAX + 1, '\n');
	p = tmp_file("big.conf", big, CONF_FILE_MAX + 1, 0600);
	ck_assert_int_eq(conf_load(p, false, &c, &e), -EINVAL);
	snprintf(msg, sizeof(msg), "%s: file is larger than 65536 bytes", p);
	ck_assert_str_eq(e.msg[0], msg);
	p = tmp_file("max.conf", big, CONF_FILE_MAX, 0600);
	ck_assert_int_eq(conf_load(p, false, &c, &e), 0);
	free(big);
	tmp_teardown();
}
END_TEST

/* ---- the program ---- */

struct run {
	int status;		/* exit code, or -1 when it did not exit */
	char *out, *err;
	size_t out_len, err_len;
};

/* Run dimed with args in the golden directory, outputs captured. */
static void run_dimed(struct run *r, const char *const *args)
{
	char outp[64], errp[64];
	const char *argv[16] = { "dimed" };
	int st, fo, fe;
	pid_t pid;
	size_t n = 1;

	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	snprintf(outp, sizeof(outp), "/tmp/dime-test-conf-out-%d", (int)getpid());
	snprintf(errp, sizeof(errp), "/tmp/dime-test-conf-err-%d", (int)getpid());
	fo = open(outp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	fe = open(errp, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert(fo >= 0 && fe >= 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Plain "dimed: " prefixes, not journald's. */
		unsetenv("JOURNAL_STREAM");
		if (chdir(DIME_GOLDEN_DIR) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(126);
		execv(DIMED_PATH, (char *const *)argv);
		_exit(127);
	}
	close(fo);
	close(fe);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->out = read_file(outp, &r->out_len);
	r->err = read_file(errp, &r->err_len);
	ck_assert(r->out && r->err);
	unlink(outp);
	unlink(errp);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void check_cli_golden(const char *name)
{
	const char *check[] = { "-n", "-v", "-f", name, NULL };
	char *want_out = golden_path(name, ".out");
	struct run r;

	run_dimed(&r, check);
	if (exists(want_out)) {
		ck_assert_msg(r.status == 0, "dimed -n -v -f %s: exit %d: %s", name, r.status, r.err);
		golden(want_out, r.out, r.out_len);
		ck_assert_str_eq(r.err, "configuration OK\n");
	} else {
		ck_assert_msg(r.status == 1, "dimed -n -v -f %s: exit %d", name, r.status);
		ck_assert_uint_eq(r.out_len, 0);
		golden(golden_path(name, ".err"), r.err, r.err_len);
	}
	run_free(&r);
}

START_TEST(test_cli_goldens)
{
	struct dirent **list;
	int n;

	if (updating())
		return;
	n = golden_inputs(&list);
	for (int i = 0; i < n; i++)
		check_cli_golden(list[i]->d_name);
	free_list(list, n);
}
END_TEST

START_TEST(test_cli)
{
	const char *missing[] = { "-n", "-f", "no-such.conf", NULL };
	const char *overrides[] = { "-n", "-v", "-f", "ok_all_set.conf", "-s", "/tmp/o.sock", "-l",
				    "notice", NULL };
	const char *bad_socket[] = { "-n", "-f", "ok_empty.conf", "-s", "x", NULL };
	/* Without -n, a bad file stops dimed before it needs or touches
	 * anything of the system. */
	const char *start[] = { "-f", "err_one.conf", NULL };
	struct run r;

	run_dimed(&r, missing);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "no-such.conf: cannot open: No such file or directory\n");
	run_free(&r);

	run_dimed(&r, overrides);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_eq(strstr(r.out, "control-socket               /tmp/o.sock\n"), r.out);
	ck_assert_ptr_nonnull(strstr(r.out, "\nlog-level                    notice\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "\nqueue-out                    7\n"));
	run_free(&r);

	run_dimed(&r, bad_socket);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "-s: \"control-socket\" must be an absolute path, got \"x\"\n");
	run_free(&r);

	run_dimed(&r, start);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "dimed: err_one.conf:6: \"queue-length\" must be 1..4194304, got 0\n"
				"dimed: err_one.conf: not starting: the configuration has 1 error "
				"(check with dimed -n)\n");
	run_free(&r);
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("parse");
	TCase *cli = tcase_create("dimed");

	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_goldens);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_one_error_applies_nothing);
	tcase_add_test(tc, test_template);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_to_daemon);
	tcase_add_test(tc, test_set);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_load);
	suite_add_tcase(s, tc);
	tcase_add_test(cli, test_cli_goldens);
	tcase_add_test(cli, test_cli);
	tcase_set_timeout(cli, 60);
	suite_add_tcase(s, cli);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
