# SPDX-License-Identifier: BSD-2-Clause
#
# The StackTrans tables: the HID table alone, and the flow table with the
# HID table it binds to. test_flow inserts 1,000,000 flows (a few seconds,
# ASan included); DIME_TEST_FLOWS=<n> in the environment changes that.
dime_unit_test(test_hid test_hid.c ../../src/hid.c ../../src/bigalloc.c ../../src/addr.c)
dime_unit_test(test_flow test_flow.c ../../src/flow.c ../../src/hid.c ../../src/bigalloc.c ../../src/addr.c)
