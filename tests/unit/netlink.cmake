# SPDX-License-Identifier: BSD-2-Clause
#
# The netlink parsers: ctnetlink conntrack messages (ctnl.c) and rtnetlink
# address and link messages (rtnl.c), each linked alone with libmnl and the
# helpers they share (nlutil.c). Their socket halves and pin.c are exercised
# in namespaces by dime-netlink-probe.
foreach(mod ctnl rtnl)
  dime_unit_test(test_${mod}
    ${CMAKE_CURRENT_LIST_DIR}/test_${mod}.c
    ${PROJECT_SOURCE_DIR}/src/${mod}.c
    ${PROJECT_SOURCE_DIR}/src/nlutil.c
    ${PROJECT_SOURCE_DIR}/src/addr.c
    ${PROJECT_SOURCE_DIR}/src/log.c)
  target_link_libraries(test_${mod} PRIVATE PkgConfig::MNL)
endforeach()
