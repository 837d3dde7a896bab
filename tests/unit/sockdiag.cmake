# SPDX-License-Identifier: BSD-2-Clause
#
# The sock_diag core (sockdiag.c): the dump request and the parser of dump
# replies and destroy broadcasts, linked alone with libmnl and the netlink
# helpers it shares (nlutil.c). Its socket half is exercised in namespaces
# by dime-netlink-probe (sockdiag-check).
dime_unit_test(test_sockdiag
  ${CMAKE_CURRENT_LIST_DIR}/test_sockdiag.c
  ${PROJECT_SOURCE_DIR}/src/sockdiag.c
  ${PROJECT_SOURCE_DIR}/src/nlutil.c
  ${PROJECT_SOURCE_DIR}/src/addr.c
  ${PROJECT_SOURCE_DIR}/src/log.c)
target_link_libraries(test_sockdiag PRIVATE PkgConfig::MNL)
