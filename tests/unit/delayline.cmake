# SPDX-License-Identifier: BSD-2-Clause
dime_unit_test(test_delayline
  ${CMAKE_CURRENT_LIST_DIR}/test_delayline.c
  ${PROJECT_SOURCE_DIR}/tests/tools/delayline_core.c)
