# SPDX-License-Identifier: BSD-2-Clause
#
# The configuration file: conf.c against the golden files in golden/conf/
# (and conf/dime.conf, a golden of the template), then dimed -n itself on
# the same goldens. flow.c is linked only to compare the flow timeouts'
# defaults with the flow table's own.
dime_unit_test(test_conf
  ${CMAKE_CURRENT_LIST_DIR}/test_conf.c
  ${PROJECT_SOURCE_DIR}/src/conf.c
  ${PROJECT_SOURCE_DIR}/src/log.c
  ${PROJECT_SOURCE_DIR}/src/flow.c
  ${PROJECT_SOURCE_DIR}/src/hid.c
  ${PROJECT_SOURCE_DIR}/src/bigalloc.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
add_dependencies(test_conf dimed)
target_compile_definitions(test_conf PRIVATE
  DIMED_PATH="$<TARGET_FILE:dimed>"
  DIME_GOLDEN_DIR="${CMAKE_CURRENT_LIST_DIR}/golden/conf"
  DIME_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
