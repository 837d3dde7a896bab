#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Write the seed corpora of tests/fuzz/corpus/ (run from anywhere; the
files are committed, so this only needs running again when a seed changes).

Seeds give libFuzzer valid starting points that random bytes would take
long to find: well-formed IHMP messages of several types (among them the
docs/ihmp.md section 6 examples), message sequences for the receive-path
harness, IPv4/IPv6 TCP/UDP packets with correct checksums for the
packet core, and NFQUEUE datagrams carrying such packets. Only documentation addresses are used.
"""
import ipaddress
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

HELLO, PATH_PROBE, ADDR_UP, ADDR_UP_UNREACH, ADDR_DOWN = 1, 2, 3, 4, 5
HANDOFF, ACK, NAT_ENTRY = 7, 9, 10
T_HOST_ID, T_ACKED, T_SOURCE, T_NEW, T_OLD, T_ADV, T_OBSERVED, T_NAT_MAP = 1, 2, 3, 4, 5, 6, 7, 8
T_NONCE, T_COUNTER, T_PUBKEY, T_SIG = 9, 10, 0x0b, 0x10


def ip(text):
    return ipaddress.ip_address(text).packed


def tlv(t, value):
    return struct.pack(">HH", t, len(value)) + value


def msg(mtype, seq, tlvs, flags=0):
    body = b"".join(tlvs)
    return struct.pack(">BBHHH", 1, mtype, flags, seq, 8 + len(body)) + body


def nonce(n):
    return tlv(T_NONCE, struct.pack(">Q", n))


def signature():
    # Algorithm 1, a key id, and 64 bytes that verify under no key.
    return tlv(T_SIG, bytes([1]) + bytes(range(0xa0, 0xa8)) + bytes(64))


def ihmp_seeds():
    return {
        "hello_v4_v6": msg(HELLO, 0x1234, [tlv(T_HOST_ID, ip("192.0.2.1")),
                                           tlv(T_ADV, ip("192.0.2.1")),
                                           tlv(T_ADV, ip("2001:db8::1"))], flags=0x0008),
        "signed_ack_probe": msg(ACK, 0xbeef, [tlv(T_HOST_ID, ip("198.51.100.7")),
                                              tlv(T_ACKED, bytes([PATH_PROBE])),
                                              tlv(T_OBSERVED, struct.pack(">H", 40001) +
                                                  ip("203.0.113.5")),
                                              tlv(T_NONCE, bytes(range(1, 9))),
                                              tlv(T_COUNTER, struct.pack(">Q", 256)),
                                              signature()], flags=0x0004),
        "nat_entry": msg(NAT_ENTRY, 1, [tlv(T_HOST_ID, ip("203.0.113.1")),
                                        tlv(T_NAT_MAP, bytes([6, 4, 6, 0]) +
                                            struct.pack(">HH", 40001, 80) +
                                            ip("203.0.113.1") + ip("2001:db8::10"))]),
        "path_probe": msg(PATH_PROBE, 7, [tlv(T_HOST_ID, ip("192.0.2.1")),
                                          tlv(T_SOURCE, ip("192.0.2.2")), nonce(99)]),
        "handoff_v6": msg(HANDOFF, 9, [tlv(T_HOST_ID, ip("2001:db8::1")),
                                       tlv(T_NEW, ip("2001:db8:1::7")),
                                       tlv(T_OLD, ip("2001:db8::1")), nonce(5)], flags=0x0001),
        "addr_up": msg(ADDR_UP, 10, [tlv(T_HOST_ID, ip("192.0.2.1")),
                                     tlv(T_NEW, ip("198.51.100.9")), nonce(6)]),
        "addr_down": msg(ADDR_DOWN, 11, [tlv(T_HOST_ID, ip("192.0.2.1")),
                                         tlv(T_OLD, ip("192.0.2.2")), nonce(7),
                                         tlv(0x0042, b"ext")]),
        "signed_hello_pubkey": msg(HELLO, 4, [tlv(T_HOST_ID, ip("192.0.2.1")),
                                              tlv(T_ADV, ip("192.0.2.1")), nonce(9),
                                              tlv(T_COUNTER, struct.pack(">Q", 257)),
                                              tlv(T_PUBKEY, bytes([1]) + bytes(range(32))),
                                              signature()]),
        "ack_hello": msg(ACK, 3, [tlv(T_HOST_ID, ip("192.0.2.1")),
                                  tlv(T_ACKED, bytes([HELLO])),
                                  tlv(T_ADV, ip("192.0.2.1")),
                                  tlv(T_ADV, ip("203.0.113.7")), nonce(8)]),
    }


def record(ctl, data):
    return struct.pack(">BH", ctl, len(data)) + data


def rx_seeds():
    """fuzz_ihmp_rx input: a mode byte, then [ctl][len][bytes] records. The
    peer at 198.51.100.7 (source 0) says HELLO, then moves to 198.51.100.8
    (source 1) and drops its old address."""
    peer, moved = "198.51.100.7", "198.51.100.8"
    hello = msg(HELLO, 1, [tlv(T_HOST_ID, ip(peer)), tlv(T_ADV, ip(peer)),
                           tlv(T_ADV, ip(moved)), nonce(11)])
    probe_ack = msg(ACK, 2, [tlv(T_HOST_ID, ip(moved)), tlv(T_ACKED, bytes([PATH_PROBE])),
                             nonce(12)])
    handoff = msg(HANDOFF, 3, [tlv(T_HOST_ID, ip(peer)), tlv(T_NEW, ip(moved)),
                               tlv(T_OLD, ip(peer)), nonce(13)])
    down = msg(ADDR_DOWN, 4, [tlv(T_HOST_ID, ip(moved)), tlv(T_OLD, ip(peer)), nonce(14)])
    ack_hello = msg(ACK, 0, [tlv(T_HOST_ID, ip(peer)), tlv(T_ACKED, bytes([HELLO])),
                             tlv(T_ADV, ip(peer)), nonce(0)])
    plain = record(0x00, hello) + record(0x01, probe_ack) + record(0x01, handoff) + \
        record(0x11, down)
    signed = record(0x20, hello) + record(0x21, handoff) + record(0x61, handoff) + \
        record(0x31, down)
    local = record(0x00, hello) + record(0x80, bytes([3])) + record(0x80, bytes([2])) + \
        record(0x10, b"") + record(0x90, b"")
    return {
        "plain_off": bytes([0]) + plain,
        "signed_required": bytes([2]) + signed,
        "signed_opportunistic": bytes([1]) + signed,
        "unsigned_required": bytes([2]) + plain,
        "active_hello": bytes([4]) + record(0x00, ack_hello) + record(0x10, b""),
        "local_events": bytes([0]) + local,
    }


CTL_MAGIC, CTL_VERSION = 0xD1C7, 1
CTL_T_SHOW_KEYS, CTL_T_SET_LOCAL_KEY = 0x0007, 0x0103
CTL_A_KEY_SEED, CTL_A_KEY_PREFIX, CTL_A_KEY_REMOVE = 0x0004, 0x0005, 0x0006


def ctl_request(mtype, body):
    return struct.pack(">HBBHHI", CTL_MAGIC, CTL_VERSION, 0, mtype, 0, len(body)) + body


def ctl_prefix(text, length):
    return tlv(CTL_A_KEY_PREFIX, bytes([length]) + ip(text))


def ctl_seeds():
    """fuzz_ctl input: whole requests as dimectl sends them (the seed is a
    made-up private key, never a real one)."""
    seed = tlv(CTL_A_KEY_SEED, bytes(range(0x40, 0x60)))
    return {
        "show_keys": ctl_request(CTL_T_SHOW_KEYS, b""),
        "set_local_key_all": ctl_request(CTL_T_SET_LOCAL_KEY, seed),
        "set_local_key_prefixes": ctl_request(CTL_T_SET_LOCAL_KEY,
                                              ctl_prefix("192.0.2.0", 24) +
                                              ctl_prefix("2001:db8::1", 128) + seed),
        "set_local_key_remove": ctl_request(CTL_T_SET_LOCAL_KEY,
                                            ctl_prefix("198.51.100.0", 24) +
                                            tlv(CTL_A_KEY_REMOVE, bytes([1]))),
    }


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def l4(proto, src, dst, sport, dport, payload):
    if proto == 6:
        hdr = struct.pack(">HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    else:
        hdr = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0)
    seg = hdr + payload
    if len(src) == 4:
        pseudo = src + dst + struct.pack(">BBH", 0, proto, len(seg))
    else:
        pseudo = src + dst + struct.pack(">IxxxB", len(seg), proto)
    c = csum(pseudo + seg) or 0xffff
    off = 16 if proto == 6 else 6
    return seg[:off] + struct.pack(">H", c) + seg[off + 2:]


def ipv4(proto, s, d, sport, dport, payload=b"seed"):
    src, dst = ip(s), ip(d)
    seg = l4(proto, src, dst, sport, dport, payload)
    hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1, 0x4000, 64, proto, 0,
                      src, dst)
    return hdr[:10] + struct.pack(">H", csum(hdr)) + hdr[12:] + seg


def ipv6(proto, s, d, sport, dport, payload=b"seed"):
    src, dst = ip(s), ip(d)
    seg = l4(proto, src, dst, sport, dport, payload)
    return struct.pack(">IHBB", 6 << 28, len(seg), proto, 64) + src + dst + seg


def pkt_seeds():
    return {
        "v4_tcp_syn": ipv4(6, "192.0.2.1", "198.51.100.7", 40000, 80, b""),
        "v4_udp": ipv4(17, "192.0.2.1", "203.0.113.5", 5150, 5150),
        "v6_tcp": ipv6(6, "2001:db8::1", "2001:db8:1::7", 40000, 443, b"data"),
        "v6_udp": ipv6(17, "2001:db8::1", "2001:db8:2::5", 53000, 53),
    }


NFQA_PACKET_HDR, NFQA_MARK, NFQA_INDEV, NFQA_OUTDEV = 1, 3, 5, 6
NFQA_PAYLOAD, NFQA_CAP_LEN, NFQA_SKB_INFO = 10, 13, 14
NFQA_SKB_CSUMNOTREADY, NFQA_SKB_GSO = 1, 2
NF_INET_PRE_ROUTING, NF_INET_LOCAL_OUT = 0, 3


def nla(t, value):
    """A netlink attribute, padded to 4 bytes (host byte order header)."""
    raw = struct.pack("=HH", 4 + len(value), t) + value
    return raw + b"\0" * (-len(raw) % 4)


def nfq_packet(pid, packet, hook=NF_INET_LOCAL_OUT, queue=0, skbinfo=0, cap_len=None,
               copy=None):
    """One NFQNL_MSG_PACKET message as the kernel lays it out: the packet
    header first, the payload last (copy: bytes actually copied)."""
    proto = 0x0800 if packet[0] >> 4 == 4 else 0x86DD
    attrs = nla(NFQA_PACKET_HDR, struct.pack(">IHB", pid, proto, hook))
    attrs += nla(NFQA_MARK, struct.pack(">I", 0x40000000 if hook == NF_INET_LOCAL_OUT else 0))
    attrs += nla(NFQA_OUTDEV if hook == NF_INET_LOCAL_OUT else NFQA_INDEV, struct.pack(">I", 2))
    if skbinfo:
        attrs += nla(NFQA_SKB_INFO, struct.pack(">I", skbinfo))
    if cap_len is not None:
        attrs += nla(NFQA_CAP_LEN, struct.pack(">I", cap_len))
    attrs += nla(NFQA_PAYLOAD, packet if copy is None else packet[:copy])
    body = struct.pack("=BBH", 0, 0, struct.unpack("=H", struct.pack(">H", queue))[0]) + attrs
    return struct.pack("=IHHII", 16 + len(body), (3 << 8) | 0, 0, 0, 0) + body


def nlmsg_error(err, seq):
    """An NLMSG_ERROR answering a request of ours (the config ack)."""
    inner = struct.pack("=IHHII", 16, 0, 0, seq, 0)
    return struct.pack("=IHHII", 16 + 4 + 16, 2, 0, seq, 0) + struct.pack("=i", err) + inner


def nfq_seeds():
    """Datagrams as the queue socket reads them; the first byte is the
    harness's room after the datagram (in 16-byte steps)."""
    v4 = ipv4(6, "192.0.2.1", "203.0.113.130", 40000, 5201, b"x" * 100)
    v6 = ipv6(17, "2001:db8::1", "2001:db8:c::130", 53000, 5201, b"y" * 64)
    big = ipv4(6, "192.0.2.1", "203.0.113.130", 40000, 5201, b"z" * 3000)
    return {
        "one_v4_tcp": b"\x10" + nfq_packet(1, v4),
        "one_v6_udp_in": b"\x00" + nfq_packet(2, v6, hook=NF_INET_PRE_ROUTING, queue=1),
        "three_in_one": b"\x40" + nfq_packet(3, v4) + nfq_packet(4, v6, skbinfo=NFQA_SKB_CSUMNOTREADY)
        + nfq_packet(5, v4),
        "gso_big": b"\xff" + nfq_packet(6, big, skbinfo=NFQA_SKB_GSO | NFQA_SKB_CSUMNOTREADY),
        "truncated_copy": b"\x10" + nfq_packet(7, big, cap_len=len(big), copy=1500),
        "ack_then_packet": b"\x10" + nlmsg_error(0, 9) + nfq_packet(8, v4),
    }


def write(corpus, seeds):
    d = os.path.join(HERE, "corpus", corpus)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("fuzz_ihmp", ihmp_seeds())
    write("fuzz_ihmp_rx", rx_seeds())
    write("fuzz_ctl", ctl_seeds())
    write("fuzz_pkt", pkt_seeds())
    write("fuzz_nfq", nfq_seeds())
