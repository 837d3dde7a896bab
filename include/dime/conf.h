/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The configuration file, /etc/dime/dime.conf (see dime.conf(5)): one
 * directive and its value per line, '#' starts a comment.
 *
 * conf.c owns the table of directives, and that table is the single source
 * of dimed's defaults for everything the file can set: dimed builds its
 * dimed_config with conf_to_daemon() from a parsed file, never from
 * literals of its own.
 *
 * conf_parse() is pure: (text, length) in, a fresh struct dime_conf out,
 * every error reported as "FILE:LINE: message" with the allowed values
 * stated. It never opens files (conf_load() does) and never writes *out
 * unless the whole text is clean, so a file with one error applies nothing.
 * Each setting records whether, and on which line, it was set: a value of 0
 * never means "default".
 */
#ifndef DIME_CONF_H
#define DIME_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dime/addr.h"

struct dimed_config;
struct dime_flow_timeouts;

#define CONF_FILE_MAX (64u << 10)	/* bytes; a larger file is refused */
#define CONF_LINE_MAX 1024u		/* bytes, newline excluded */
#define CONF_PATH_MAX 108u		/* sun_path, NUL included */
#define CONF_IFLIST_MAX 128u		/* ignore-interfaces, NUL included */
#define CONF_IFPATTERNS_MAX 16u		/* patterns in it */
#define CONF_ERRORS_MAX 64u		/* kept; the rest are counted */
#define CONF_ERROR_LEN 320u
#define CONF_BOUND_KEYS_MAX 8u		/* "ihmp-key PATH ADDR|PREFIX..." lines */
#define CONF_KEY_PREFIXES_MAX 16u	/* addresses or prefixes on one of them */

/* Directives, in the order dime.conf(5) and conf_print() list them. */
enum conf_key {
	CONF_CONTROL_SOCKET,
	CONF_STATE_FILE,
	CONF_IGNORE_INTERFACES,
	CONF_QUEUE_OUT,
	CONF_QUEUE_IN,
	CONF_IHMP_PORT,
	CONF_IHMP,
	CONF_HOLD_TIME,
	CONF_IHMP_RTO,
	CONF_HELLO_RETRIES,
	CONF_HANDOFF_RETRIES,
	CONF_IHMP_AUTH,
	CONF_IHMP_KEY,
	CONF_IHMP_PEER_KEYS,
	CONF_IHMP_TOFU,
	CONF_IHMP_RATE_LIMIT,
	CONF_IHMP_RATE_LIMIT_GLOBAL,
	CONF_IHMP_PATH_VALIDATION,
	CONF_FWMARK,
	CONF_MAX_HOSTS,
	CONF_MAX_FLOWS,
	CONF_QUEUE_LENGTH,
	CONF_QUEUE_RCVBUF,
	CONF_IPV6,
	CONF_MANAGE_SYSCTLS,
	CONF_OFFLOAD,
	CONF_TRACK_CONNECTIONS,
	CONF_LOG_LEVEL,
	CONF_FLOW_TIMEOUT_TCP_ESTABLISHED,
	CONF_FLOW_TIMEOUT_TCP_TRANSITORY,
	CONF_FLOW_TIMEOUT_UDP,
	CONF_FLOW_TIMEOUT_ICMP,
	CONF_KEY_COUNT,
};

/* "ihmp-key PATH ADDR|PREFIX...": a key for some local addresses only
 * (the plain "ihmp-key PATH" is the default key, for all of them). A bare
 * address is a /32 or /128; host bits are zero. */
struct conf_bound_key {
	char path[CONF_PATH_MAX];
	unsigned line;
	unsigned n;
	struct dime_addr net[CONF_KEY_PREFIXES_MAX];
	uint8_t len[CONF_KEY_PREFIXES_MAX];
};

/* Values are meaningful only where set[] says so; conf_apply_defaults()
 * fills the others. Durations are in milliseconds, sizes in bytes. */
struct dime_conf {
	char control_socket[CONF_PATH_MAX];
	char state_file[CONF_PATH_MAX];
	char ignore_interfaces[CONF_IFLIST_MAX];
	uint32_t queue_out;
	uint32_t queue_in;
	uint32_t ihmp_port;
	bool ihmp;
	uint64_t hold_time;
	uint64_t ihmp_rto;
	uint32_t hello_retries;
	uint32_t handoff_retries;
	uint32_t ihmp_auth;		/* enum ihmp_auth_mode */
	char ihmp_key[CONF_PATH_MAX];
	char ihmp_peer_keys[CONF_PATH_MAX];
	bool ihmp_tofu;
	unsigned n_bound_keys;
	struct conf_bound_key bound_keys[CONF_BOUND_KEYS_MAX];
	uint32_t ihmp_rate_limit;	/* messages per second; 0: no limits */
	uint32_t ihmp_rate_limit_global;
	bool ihmp_path_validation;	/* docs/security.md 3.6 */
	uint32_t fwmark;
	uint32_t max_hosts;
	uint32_t max_flows;
	uint32_t queue_length;
	uint64_t queue_rcvbuf;
	bool ipv6;
	bool manage_sysctls;
	bool offload;			/* offload.h */
	bool track_connections;		/* rules.h: dimed's rule that needs conntrack */
	int log_level;			/* enum log_level */
	uint64_t flow_timeout_tcp_established;
	uint64_t flow_timeout_tcp_transitory;
	uint64_t flow_timeout_udp;
	uint64_t flow_timeout_icmp;

	bool set[CONF_KEY_COUNT];
	unsigned line[CONF_KEY_COUNT];	/* where set; 0 for the command line */
};

/* The first CONF_ERRORS_MAX messages, each a full "FILE:LINE: message"
 * line without newline; count is the total. */
struct conf_errors {
	unsigned count;
	char msg[CONF_ERRORS_MAX][CONF_ERROR_LEN];
};

/* Everything unset, no error. */
void conf_init(struct dime_conf *c);
void conf_errors_init(struct conf_errors *errs);

/*
 * Parse len bytes of text (NUL bytes are errors, not terminators).
 * filename only prefixes messages. errs is reset first. Returns 0 with *out
 * replaced by the parsed settings (unset ones unset), or -EINVAL with every
 * error in errs and *out untouched.
 */
int conf_parse(const char *text, size_t len, const char *filename, struct dime_conf *out,
	       struct conf_errors *errs);

/*
 * Set one directive from outside the file (a command-line option), with
 * the same checks as a line of the file; origin prefixes the message
 * ("-s"). Returns 0, or -EINVAL with the error appended to errs (and c
 * unchanged), or -ENOENT for an unknown name.
 */
int conf_set(struct dime_conf *c, const char *name, const char *value, const char *origin,
	     struct conf_errors *errs);

/* Give every unset setting its default (still marked unset). */
void conf_apply_defaults(struct dime_conf *c);
bool conf_is_set(const struct dime_conf *c, enum conf_key key);
const char *conf_key_name(enum conf_key key);

/*
 * Fill every field of *cfg, *timeouts and *log_level (each may be NULL)
 * from c, defaults for what c leaves unset. cfg's paths (ctl_path,
 * ihmp_key_path, ihmp_peer_keys_dir) point into c, which must outlive cfg.
 */
void conf_to_daemon(const struct dime_conf *c, struct dimed_config *cfg,
		    struct dime_flow_timeouts *timeouts, int *log_level);

/* The effective configuration, every directive set or default, one per
 * line, in a form conf_parse() reads back to the same values. */
void conf_print(const struct dime_conf *c, FILE *out);
/* The shipped conf/dime.conf: every directive commented out with its
 * default and help text. */
void conf_print_template(FILE *out);

/* Print the errors kept, one per line, and a line for those dropped. */
void conf_errors_print(const struct conf_errors *errs, FILE *out);

/*
 * Read and parse the file at path: a regular file of at most CONF_FILE_MAX
 * bytes that nobody but root (or the file's owner when that is us) can
 * write. A missing file is not an error when missing_ok (all defaults).
 * Returns 0 with *out set, or -errno / -EINVAL with the reason in errs.
 */
int conf_load(const char *path, bool missing_ok, struct dime_conf *out,
	      struct conf_errors *errs);

#endif
