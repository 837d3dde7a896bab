# SPDX-License-Identifier: BSD-2-Clause
#
# log.c: the rate limiter's pure core with a fake clock, and the public
# functions end to end with stderr captured (plain and journald prefixes).
dime_unit_test(test_log
  ${CMAKE_CURRENT_LIST_DIR}/test_log.c
  ${PROJECT_SOURCE_DIR}/src/log.c)
