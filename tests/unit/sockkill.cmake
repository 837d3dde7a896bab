# SPDX-License-Identifier: BSD-2-Clause
# The ICMP messages dimed injects to tell local sockets about their peer
# (sockkill.c): built as bytes and checked here; their effect on real
# sockets is exercised in namespaces (tests/netns/ihmp.sh).
dime_unit_test(test_sockkill
  ${CMAKE_CURRENT_LIST_DIR}/test_sockkill.c
  ${PROJECT_SOURCE_DIR}/src/sockkill.c
  ${PROJECT_SOURCE_DIR}/src/nlutil.c
  ${PROJECT_SOURCE_DIR}/src/csum.c
  ${PROJECT_SOURCE_DIR}/src/addr.c
  ${PROJECT_SOURCE_DIR}/src/log.c)
target_link_libraries(test_sockkill PRIVATE PkgConfig::MNL)
