# SPDX-License-Identifier: BSD-2-Clause
#
# sysctl.c: the journal a crashed run leaves (parser, and a recovery in a
# temporary directory that restores nothing it cannot read).
dime_unit_test(test_sysctl
  ${CMAKE_CURRENT_LIST_DIR}/test_sysctl.c
  ${PROJECT_SOURCE_DIR}/src/sysctl.c
  ${PROJECT_SOURCE_DIR}/src/log.c)
