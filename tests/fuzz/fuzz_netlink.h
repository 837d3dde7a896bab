/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the netlink harnesses (fuzz_sockdiag, fuzz_ctnl, fuzz_rtnl) share:
 * the input is one received datagram, copied to a buffer of exactly its
 * size (so ASan sees any read past the end) and split into messages as
 * dimed's socket halves do, each whole inside it (nlu_msg_ok).
 */
#ifndef DIME_FUZZ_NETLINK_H
#define DIME_FUZZ_NETLINK_H

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include "dime/nlutil.h"

static inline void fuzz_each_message(const uint8_t *data, size_t size,
				     void (*check)(const struct nlmsghdr *nlh))
{
	uint8_t *copy = malloc(size ? size : 1);
	int left = size > INT_MAX ? INT_MAX : (int)size;

	if (!copy)
		return;
	memcpy(copy, data, size);
	for (const struct nlmsghdr *nlh = (const void *)copy; nlu_msg_ok(nlh, left);
	     nlh = mnl_nlmsg_next(nlh, &left))
		check(nlh);
	free(copy);
}

#endif
