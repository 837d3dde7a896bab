# SPDX-License-Identifier: BSD-2-Clause
#
# offload.c's pure parts: the nft table text and the nf_tables batches,
# parsed back with libmnl. The kernel's side is tests/netns/stacktrans.sh's.
dime_unit_test(test_offload
  ${CMAKE_CURRENT_LIST_DIR}/test_offload.c
  ${PROJECT_SOURCE_DIR}/src/offload.c
  ${PROJECT_SOURCE_DIR}/src/rules.c
  ${PROJECT_SOURCE_DIR}/src/ipset.c
  ${PROJECT_SOURCE_DIR}/src/nlutil.c
  ${PROJECT_SOURCE_DIR}/src/log.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
target_link_libraries(test_offload PRIVATE PkgConfig::MNL)
