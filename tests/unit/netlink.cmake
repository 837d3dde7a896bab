# SPDX-License-Identifier: BSD-2-Clause
#
# The netlink parsers: ctnetlink conntrack messages (ctnl.c) and rtnetlink
# address and link messages (rtnl.c), each linked alone with libmnl. Their
# socket halves and pin.c are exercised in namespaces by dime-netlink-probe.
dime_unit_test(test_ctnl
  ${CMAKE_CURRENT_LIST_DIR}/test_ctnl.c
  ${PROJECT_SOURCE_DIR}/src/ctnl.c
  ${PROJECT_SOURCE_DIR}/src/addr.c
  ${PROJECT_SOURCE_DIR}/src/log.c)
target_link_libraries(test_ctnl PRIVATE PkgConfig::MNL)
dime_unit_test(test_rtnl
  ${CMAKE_CURRENT_LIST_DIR}/test_rtnl.c
  ${PROJECT_SOURCE_DIR}/src/rtnl.c
  ${PROJECT_SOURCE_DIR}/src/addr.c
  ${PROJECT_SOURCE_DIR}/src/log.c)
target_link_libraries(test_rtnl PRIVATE PkgConfig::MNL)
