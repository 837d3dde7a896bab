# SPDX-License-Identifier: BSD-2-Clause
dime_unit_test(test_addrwatch
  ${CMAKE_CURRENT_LIST_DIR}/test_addrwatch.c
  ${PROJECT_SOURCE_DIR}/src/addrwatch.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
