# SPDX-License-Identifier: BSD-2-Clause
#
# The NFQUEUE module's one pure part: the parser of the kernel's queue
# counters in /proc. Its socket half is exercised in namespaces
# (tests/netns/stacktrans.sh, dime-nfq-echo).
dime_unit_test(test_nfq_stats
  ${CMAKE_CURRENT_LIST_DIR}/test_nfq_stats.c
  ${PROJECT_SOURCE_DIR}/src/nfq.c
  ${PROJECT_SOURCE_DIR}/src/nlutil.c
  ${PROJECT_SOURCE_DIR}/src/log.c)
target_link_libraries(test_nfq_stats PRIVATE PkgConfig::NFQ PkgConfig::NFNL PkgConfig::MNL)
