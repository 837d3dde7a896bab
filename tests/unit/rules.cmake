# SPDX-License-Identifier: BSD-2-Clause
#
# The rules module's pure parts: the restore text it installs (compared with
# the golden files in golden/; DIME_UPDATE_GOLDEN=1 rewrites them) and the
# removal text it derives from iptables-save output. No kernel contact: the
# netns test tests/netns/rules.sh covers that.
dime_unit_test(test_rules
  ${CMAKE_CURRENT_LIST_DIR}/test_rules.c
  ${PROJECT_SOURCE_DIR}/src/rules.c
  ${PROJECT_SOURCE_DIR}/src/ipset.c
  ${PROJECT_SOURCE_DIR}/src/nlutil.c
  ${PROJECT_SOURCE_DIR}/src/log.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
target_link_libraries(test_rules PRIVATE PkgConfig::MNL)
target_compile_definitions(test_rules PRIVATE
  DIME_GOLDEN_DIR="${CMAKE_CURRENT_LIST_DIR}/golden")
