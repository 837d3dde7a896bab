# SPDX-License-Identifier: BSD-2-Clause
# The IHMP state machine: ihmp.c with the codec and the HID table it drives,
# a fake clock and a fake network of two (or more) instances.
dime_unit_test(test_ihmp
  ${CMAKE_CURRENT_LIST_DIR}/test_ihmp.c
  ${PROJECT_SOURCE_DIR}/src/ihmp.c
  ${PROJECT_SOURCE_DIR}/src/ihmp_wire.c
  ${PROJECT_SOURCE_DIR}/src/hid.c
  ${PROJECT_SOURCE_DIR}/src/bigalloc.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
