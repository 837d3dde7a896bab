# SPDX-License-Identifier: BSD-2-Clause
#
# dime-netlink-probe: drives ctnl.c, rtnl.c, sockdiag.c, pin.c and sysctl.c against the
# kernel for netns scenarios (conntrack, address and socket events, dumps, pins,
# interface sysctls), one key=value line per event.
add_executable(dime-netlink-probe
  ${CMAKE_CURRENT_LIST_DIR}/netlink_probe.c
  ${PROJECT_SOURCE_DIR}/src/ctnl.c
  ${PROJECT_SOURCE_DIR}/src/rtnl.c
  ${PROJECT_SOURCE_DIR}/src/sockdiag.c
  ${PROJECT_SOURCE_DIR}/src/pin.c
  ${PROJECT_SOURCE_DIR}/src/nlutil.c
  ${PROJECT_SOURCE_DIR}/src/sysctl.c
  ${PROJECT_SOURCE_DIR}/src/addr.c
  ${PROJECT_SOURCE_DIR}/src/log.c)
target_include_directories(dime-netlink-probe PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(dime-netlink-probe PRIVATE PkgConfig::MNL)
