# SPDX-License-Identifier: BSD-2-Clause
# The packet core: checksum arithmetic alone, then parsing and rewriting.
dime_unit_test(test_csum
  ${CMAKE_CURRENT_LIST_DIR}/test_csum.c
  ${PROJECT_SOURCE_DIR}/src/csum.c)
dime_unit_test(test_pkt
  ${CMAKE_CURRENT_LIST_DIR}/test_pkt.c
  ${PROJECT_SOURCE_DIR}/src/pkt.c
  ${PROJECT_SOURCE_DIR}/src/csum.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
