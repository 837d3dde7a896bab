# SPDX-License-Identifier: BSD-2-Clause
#
# privdrop.c's decision (drop, stay, refuse) from facts, and the backend test
# on resolved tool paths. The drop itself needs root and is exercised by the
# netns scenario tests/netns/privdrop.sh.
dime_unit_test(test_privdrop
  ${CMAKE_CURRENT_LIST_DIR}/test_privdrop.c
  ${PROJECT_SOURCE_DIR}/src/privdrop.c
  ${PROJECT_SOURCE_DIR}/src/log.c)
