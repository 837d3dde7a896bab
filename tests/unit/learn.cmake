# SPDX-License-Identifier: BSD-2-Clause
#
# learn.c: which reported sockets are flows, and how they are oriented.
dime_unit_test(test_learn
  ${CMAKE_CURRENT_LIST_DIR}/test_learn.c
  ${PROJECT_SOURCE_DIR}/src/learn.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
