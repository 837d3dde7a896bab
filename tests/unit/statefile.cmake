# SPDX-License-Identifier: BSD-2-Clause
#
# The state file: format, strict parser, rules on a structure, and the
# atomic write / careful read helpers in a temporary directory.
dime_unit_test(test_statefile
  ${CMAKE_CURRENT_LIST_DIR}/test_statefile.c
  ${PROJECT_SOURCE_DIR}/src/statefile.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
