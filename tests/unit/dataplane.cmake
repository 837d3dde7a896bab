# SPDX-License-Identifier: BSD-2-Clause
# offload.c is linked for offload_flow_valid() only; its I/O half needs
# rules.c and the netlink helpers.
dime_unit_test(test_dataplane test_dataplane.c ../../src/dataplane.c ../../src/pkt.c
  ../../src/csum.c ../../src/flow.c ../../src/hid.c ../../src/bigalloc.c ../../src/addr.c
  ../../src/offload.c ../../src/rules.c ../../src/ipset.c ../../src/nlutil.c ../../src/log.c)
target_link_libraries(test_dataplane PRIVATE PkgConfig::MNL)
