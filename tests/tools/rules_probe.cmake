# SPDX-License-Identifier: BSD-2-Clause
#
# dime-rules-probe: drives rules.c and ipset.c by hand inside a test
# namespace (install, remove, pairs, raw ipset operations, a batch timing);
# tests/netns/rules.sh runs it.
add_executable(dime-rules-probe
  ${CMAKE_CURRENT_LIST_DIR}/rules_probe.c
  ${PROJECT_SOURCE_DIR}/src/rules.c
  ${PROJECT_SOURCE_DIR}/src/ipset.c
  ${PROJECT_SOURCE_DIR}/src/nlutil.c)
target_link_libraries(dime-rules-probe PRIVATE dimecore PkgConfig::MNL)
