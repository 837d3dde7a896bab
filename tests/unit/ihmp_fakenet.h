/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fake network of the IHMP state machine suites (test_ihmp.c,
 * test_ihmp_pathval.c): a fake clock (now), HOSTS hosts that each own a HID
 * table and an ihmp instance (H[i]; the suite creates them with its own
 * configuration), and a queue that carries SEND actions between them. A
 * datagram arrives when its source is still up at its sender and its
 * destination is up somewhere, unless drop_fn says otherwise; nat_fn may
 * rewrite it on the way. Every datagram sent is also decoded into LOG.
 */
#ifndef DIME_TEST_IHMP_FAKENET_H
#define DIME_TEST_IHMP_FAKENET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/ihmp.h"

#define HOSTS 3
#define QMAX 4096
#define LOGMAX 8192

struct host {
	struct dime_hid_table *t;
	struct ihmp *ih;
	unsigned int nup;
	struct dime_addr up[IHMP_LOCAL_MAX + 4];
	unsigned int changed, lost;	/* LOCATORS_CHANGED, PEER_LOST actions */
	uint32_t changed_hid, lost_hid;	/* ... the last one's HID */
};

struct pkt {
	int from;
	struct dime_addr src, dst;
	uint16_t sport, dport, len;
	uint8_t buf[IHMP_MSG_MAX];
};

/* Every datagram sent, decoded, for assertions. */
struct logrec {
	int from;
	uint64_t at;
	struct dime_addr src, dst;
	uint16_t dport;
	struct ihmp_msg m;
};

extern struct host H[HOSTS];
extern struct pkt *Q;
extern unsigned int qhead, qtail;
extern struct logrec *LOG;
extern unsigned int nlog;
extern uint64_t now;
extern struct ihmp_actions *ACTS;
extern bool (*drop_fn)(const struct pkt *p);	/* drop filter; NULL: deliver */
extern void (*nat_fn)(struct pkt *p);		/* NAT on the way; NULL: none */
extern uint64_t rnd_state;

/* Deterministic ihmp_config.random over rnd_state (set it in setup). */
uint64_t fake_random(void *ctx);
/* The queue, the log and the action list; now = 1000000. The hosts are
 * the suite's to create (and to free before fakenet_free). */
void fakenet_alloc(void);
void fakenet_free(void);

/* Execute host i's actions: SENDs join the queue and the log. */
void collect(int i);
int owner(const struct dime_addr *a);
void deliver_n(unsigned int n);
void deliver(void);
/* Timers and the network up to time t. */
void run_until(uint64_t t);
void up(int i, const char *text);
void down(int i, const char *text);
/* As StackTrans does for an outbound flow lid -> rid. */
uint32_t flow(int i, const char *lid, const char *rid);
struct dime_hid_entry *hid_of(int i, const char *addr);
bool has(const struct dime_addr_set *s, const char *text);
bool set_eq(const struct dime_addr_set *x, const struct dime_addr_set *y);
unsigned int count(unsigned int from, int host, uint8_t type, uint8_t acked);
const struct logrec *find(unsigned int from, int host, uint8_t type, unsigned int nth);
/* Hand a message to host i as if it came from src:5150 to dst; its length. */
size_t inject(int i, struct ihmp_msg *m, const char *src, const char *dst);
/* A (192.0.2.1) and B (198.51.100.1) after A opened a flow to B. */
void pair_v4(void);

#endif
