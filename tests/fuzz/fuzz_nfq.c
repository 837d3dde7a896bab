// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness for the NFQUEUE receive path's parsing (nfq.c): the
 * walk over a received datagram's messages (nfqio_next_message) and the
 * packet of each (nfqio_packet_parse), which together decide how many
 * bytes the data plane may write at the packet: the rewrite grows packets
 * in place, so a cap one byte too generous is a heap overflow.
 *
 * Input: the first byte sets how much room the receive buffer ("slot") has
 * after the datagram (0 to 4080 bytes, in steps of 16); the rest is the
 * datagram. It is copied to the start of an exactly sized buffer so ASan
 * sees any access past the slot.
 *
 * Beyond "no crash" it checks, for every message:
 *   - the message lies inside the datagram, and its room ends at its own
 *     end or, for the last message, at the end of the slot;
 *   - a parsed packet's payload lies inside its message, cap is 0 for a
 *     truncated copy, never above NFQIO_MANGLE_MAX, never below len when
 *     set, and payload + cap stays within the room; the length in the
 *     kernel is never below the copy's;
 * and then writes cap bytes at the payload, as a rewrite may; only the
 * datagram's last message has room past its end.
 * A violated invariant aborts, which libFuzzer reports as a crash.
 *
 * Seeds: datagrams of one to three packet messages as the kernel lays them
 * out (IPv4 and IPv6 TCP and UDP, GSO, a truncated copy, an error
 * message), written by make_seeds.py into tests/fuzz/corpus/fuzz_nfq.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include "dime/nfq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool ok)
{
	if (!ok)
		abort();
}

static void check_packet(struct nlmsghdr *nlh, const uint8_t *room_end)
{
	const uint8_t *msg_end = (const uint8_t *)nlh + nlh->nlmsg_len;
	struct nfqio_packet pkt;
	int rc = nfqio_packet_parse(nlh, room_end, &pkt);

	require(rc == 0 || rc == -EBADMSG || rc == -ENOENT);
	if (rc == -EBADMSG)
		require(pkt.cap == 0 && pkt.payload == NULL);
	if (rc != 0)
		return;
	require(pkt.wire_len >= pkt.len);
	require(pkt.cap <= NFQIO_MANGLE_MAX);
	if (!pkt.payload) {
		require(pkt.len == 0 && pkt.cap == 0);
		return;
	}
	require(pkt.payload > (const uint8_t *)nlh && pkt.payload + pkt.len <= msg_end);
	if (pkt.truncated)
		require(pkt.cap == 0);
	else if (pkt.len <= NFQIO_MANGLE_MAX)
		require(pkt.cap >= pkt.len);
	require(pkt.payload + pkt.cap <= room_end);
	/* What a rewrite may do: write its whole room. */
	memset(pkt.payload, 0xee, pkt.cap);
}

static void walk(uint8_t *dgram, int len, const uint8_t *slot_end)
{
	const uint8_t *dgram_end = dgram + len, *room_end, *prev_room_end = NULL;
	uint8_t *cursor = dgram;
	int left = len;
	struct nlmsghdr *nlh;

	while ((nlh = nfqio_next_message(&cursor, &left, slot_end, &room_end))) {
		const uint8_t *msg_end = (const uint8_t *)nlh + nlh->nlmsg_len;

		require((uint8_t *)nlh >= dgram && msg_end <= dgram_end);
		require(room_end == msg_end || room_end == slot_end);
		/* Only the last message's room reaches past its end: the one
		 * before this must have ended where it did. */
		require(!prev_room_end || prev_room_end <= (const uint8_t *)nlh);
		if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
			check_packet(nlh, room_end);
		prev_room_end = room_end;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t extra, len;
	uint8_t *slot;

	if (size < 1 || size - 1 > 1u << 20)
		return 0;
	extra = (size_t)data[0] * 16;
	len = size - 1;
	slot = malloc(len + extra ? len + extra : 1);
	if (!slot)
		return 0;
	memcpy(slot, data + 1, len);
	walk(slot, (int)len, slot + len + extra);
	free(slot);
	return 0;
}
