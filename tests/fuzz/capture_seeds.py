#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Capture seed corpora from the running kernel for the harnesses that parse
what the kernel and the firewall tools say to dimed:

  fuzz_ctnl      ctnetlink datagrams: conntrack events (new, update,
                 destroy) and dump replies, for TCP, UDP and ICMP echo over
                 IPv4 and IPv6
  fuzz_rtnl      rtnetlink datagrams: link and address dumps, and the events
                 of adding and removing a veth pair and its addresses
  fuzz_tooltext  iptables-save and ip6tables-save output with dimed's rules
                 installed (by dime-rules-probe, so rules.c's own text), `nft
                 list chain` output of the base chains, and NFQUEUE counter
                 lines as /proc/net/netfilter/nfnetlink_queue prints them

Run as root from the source tree, after a build (it needs
build/tests/tools/dime-rules-probe; -b names another build directory):

  tests/fuzz/capture_seeds.py [-b BUILD]

Everything happens in a network namespace of its own (documentation
addresses only), removed at the end even on failure; the machine's own
namespace is never touched. The seeds are written to tests/fuzz/corpus/
<harness>/, replacing the captured ones (names starting with ct_, rt_ or
txt_); the files are committed, so this only needs running again when the
kernel or the tools change what they print.
"""
import argparse
import glob
import os
import select
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")

NETLINK_ROUTE, NETLINK_NETFILTER = 0, 12
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
NFNL_SUBSYS_CTNETLINK = 1
IPCTNL_MSG_CT_GET, IPCTNL_MSG_CT_DELETE = 1, 2
RTM_GETLINK, RTM_GETADDR = 18, 22
RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR = 0x1, 0x10, 0x100
CT_GROUPS = 0x7  # NFNLGRP_CONNTRACK_NEW, _UPDATE, _DESTROY

V4_A, V4_B = "192.0.2.1", "192.0.2.2"
V6_A, V6_B = "2001:db8::1", "2001:db8::2"


def run(*cmd, check=True, **kw):
    return subprocess.run(list(cmd), check=check, **kw)


def nl_socket(proto, groups):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((0, groups))
    return s


def nl_request(s, mtype, flags, payload, seq):
    hdr = struct.pack("=IHHII", 16 + len(payload), mtype, flags, seq, 0)
    s.send(hdr + payload)


def read_datagrams(s, until_done=False, quiet=0.3, limit=5.0):
    """Datagrams until NLMSG_DONE (until_done) or until the socket has been
    quiet for `quiet` seconds; never longer than `limit`."""
    out, deadline = [], time.monotonic() + limit
    while time.monotonic() < deadline:
        r, _, _ = select.select([s], [], [], quiet)
        if not r:
            if until_done:
                continue
            break
        data = s.recv(1 << 16)
        out.append(data)
        if until_done and done_in(data):
            break
    return out


def done_in(data):
    off = 0
    while off + 16 <= len(data):
        length, mtype = struct.unpack_from("=IH", data, off)
        if mtype in (NLMSG_DONE, NLMSG_ERROR):
            return True
        if length < 16:
            break
        off += (length + 3) & ~3
    return False


def write_seeds(harness, prefix, datagrams):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    for i, data in enumerate(datagrams):
        with open(os.path.join(d, "%s_%d" % (prefix, i)), "wb") as f:
            f.write(data)
    print("%s: %d seeds %s_*" % (harness, len(datagrams), prefix))


# ---- traffic -----------------------------------------------------------------

def tcp_exchange(family, server, client):
    ls = socket.socket(family, socket.SOCK_STREAM)
    ls.bind((server, 0))
    ls.listen(1)
    c = socket.socket(family, socket.SOCK_STREAM)
    c.bind((client, 0))
    c.connect(ls.getsockname()[:2])
    a, _ = ls.accept()
    c.sendall(b"seed")
    a.recv(16)
    c.close()
    a.close()
    ls.close()


def udp_exchange(family, server, client):
    srv = socket.socket(family, socket.SOCK_DGRAM)
    srv.bind((server, 0))
    c = socket.socket(family, socket.SOCK_DGRAM)
    c.bind((client, 0))
    c.sendto(b"seed", srv.getsockname()[:2])
    data, peer = srv.recvfrom(16)
    srv.sendto(data, peer)
    c.recv(16)
    c.close()
    srv.close()


def ping(addr6, addr):
    run("ping", "-6" if addr6 else "-4", "-c", "1", "-W", "1", addr,
        stdout=subprocess.DEVNULL, check=False)


# ---- captures (inside the namespace) -------------------------------------------

def capture_ctnl():
    # Conntrack tracks in a namespace only once a rule needs it.
    run("nft", "-f", "-", input=b"table inet seedct {\n chain o {\n  type filter hook output "
        b"priority 0; policy accept;\n  ct state new counter\n }\n}\n")
    ev = nl_socket(NETLINK_NETFILTER, CT_GROUPS)
    tcp_exchange(socket.AF_INET, V4_A, V4_B)
    tcp_exchange(socket.AF_INET6, V6_A, V6_B)
    udp_exchange(socket.AF_INET, V4_A, V4_B)
    udp_exchange(socket.AF_INET6, V6_A, V6_B)
    ping(False, V4_A)
    ping(True, V6_A)
    events = read_datagrams(ev)

    dump = nl_socket(NETLINK_NETFILTER, 0)
    nfgen = struct.pack("=BBH", socket.AF_UNSPEC, 0, 0)
    nl_request(dump, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET,
               NLM_F_REQUEST | NLM_F_DUMP, nfgen, 1)
    dumps = read_datagrams(dump, until_done=True)
    # A flush destroys every entry: DESTROY events now, not at timeout.
    nl_request(dump, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE,
               NLM_F_REQUEST | NLM_F_ACK, nfgen, 2)
    read_datagrams(dump, until_done=True)
    destroys = read_datagrams(ev)
    run("nft", "delete", "table", "inet", "seedct")
    write_seeds("fuzz_ctnl", "ct_event", events)
    write_seeds("fuzz_ctnl", "ct_dump", dumps)
    write_seeds("fuzz_ctnl", "ct_destroy", destroys)


def capture_rtnl():
    ev = nl_socket(NETLINK_ROUTE, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)
    run("ip", "link", "add", "seed0", "type", "veth", "peer", "name", "seed1")
    run("ip", "addr", "add", "198.51.100.1/24", "dev", "seed0")
    run("ip", "-6", "addr", "add", "2001:db8:1::1/64", "dev", "seed0", "nodad",
        "preferred_lft", "30", "valid_lft", "60")
    run("ip", "link", "set", "seed0", "up")
    run("ip", "link", "set", "seed1", "up")
    adds = read_datagrams(ev)

    dump = nl_socket(NETLINK_ROUTE, 0)
    nl_request(dump, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP,
               struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0), 1)
    links = read_datagrams(dump, until_done=True)
    nl_request(dump, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP,
               struct.pack("=BBBBI", socket.AF_UNSPEC, 0, 0, 0, 0), 2)
    addrs = read_datagrams(dump, until_done=True)

    run("ip", "addr", "del", "198.51.100.1/24", "dev", "seed0")
    run("ip", "link", "del", "seed0")
    dels = read_datagrams(ev)
    write_seeds("fuzz_rtnl", "rt_event_add", adds)
    write_seeds("fuzz_rtnl", "rt_dump_link", links)
    write_seeds("fuzz_rtnl", "rt_dump_addr", addrs)
    write_seeds("fuzz_rtnl", "rt_event_del", dels)


def capture_tooltext(probe):
    texts = []
    run(probe, "install", "ipv6=1",
        ",", "add-pair", "out", V4_A, "203.0.113.130",
        ",", "add-pair", "in", "203.0.113.130", V4_A,
        ",", "add-pair", "out", V6_A, "2001:db8:c::130", stdout=subprocess.DEVNULL)
    # The probe's process is gone: its rules and sets stay for the capture.
    for cmd in (["iptables-save"], ["ip6tables-save"],
                ["nft", "list", "chain", "ip", "raw", "PREROUTING"],
                ["nft", "list", "chain", "ip", "mangle", "OUTPUT"],
                ["nft", "list", "chain", "ip6", "mangle", "OUTPUT"]):
        r = run(*cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
        if r.returncode == 0 and r.stdout:
            texts.append(r.stdout)
    run(probe, "remove-stale", stdout=subprocess.DEVNULL)
    # An empty base chain, as iptables-nft leaves it: the prunable case.
    run("nft", "add", "table", "ip", "seedraw")
    run("nft", "add", "chain", "ip", "seedraw", "PREROUTING",
        "{ type filter hook prerouting priority raw; policy accept; }")
    r = run("nft", "list", "chain", "ip", "seedraw", "PREROUTING", stdout=subprocess.PIPE)
    texts.append(r.stdout)
    run("nft", "delete", "table", "ip", "seedraw")
    # /proc/net/netfilter/nfnetlink_queue, as the kernel formats it.
    line = "%5u %6u %5u %1u %5u %5u %5u %8u %2d\n"
    texts.append((line % (0, 4242, 0, 2, 65531, 0, 0, 1017, 1) +
                  line % (1, 4243, 17, 2, 65531, 3, 1, 99812, 1)).encode())
    write_seeds("fuzz_tooltext", "txt", texts)


def inner(args):
    run("ip", "link", "set", "lo", "up")
    run("ip", "addr", "add", V4_A + "/32", "dev", "lo")
    run("ip", "addr", "add", V4_B + "/32", "dev", "lo")
    run("ip", "-6", "addr", "add", V6_A + "/128", "dev", "lo", "nodad")
    run("ip", "-6", "addr", "add", V6_B + "/128", "dev", "lo", "nodad")
    for pattern in ("ct_*", "rt_*", "txt_*"):
        for f in glob.glob(os.path.join(CORPUS, "fuzz_*", pattern)):
            os.unlink(f)
    capture_ctnl()
    capture_rtnl()
    capture_tooltext(args.probe)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-b", "--build", default=os.path.join(SRC, "build"))
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--probe", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.inner:
        inner(args)
        return 0
    if os.geteuid() != 0:
        sys.exit("capture_seeds.py: run as root (it makes a network namespace)")
    probe = os.path.join(os.path.abspath(args.build), "tests/tools/dime-rules-probe")
    if not os.access(probe, os.X_OK):
        sys.exit("capture_seeds.py: %s is missing: build first" % probe)
    ns = "dime-seeds-%d" % os.getpid()
    run("ip", "netns", "add", ns)
    try:
        run("ip", "netns", "exec", ns, sys.executable, os.path.abspath(__file__),
            "--inner", "--probe", probe)
    finally:
        run("ip", "netns", "del", ns, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
