# SPDX-License-Identifier: BSD-2-Clause
dime_unit_test(test_dataplane test_dataplane.c ../../src/dataplane.c ../../src/pkt.c
  ../../src/csum.c ../../src/flow.c ../../src/hid.c ../../src/bigalloc.c ../../src/addr.c)
