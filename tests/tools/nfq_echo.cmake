# SPDX-License-Identifier: BSD-2-Clause
#
# dime-nfq-echo: answers an NFQUEUE through dimed's nfq module without
# changing packets (plain or rewritten verdicts); bench/nfq_overhead.sh uses
# it. Links the I/O module, its netlink helpers and the log sink only, not dimecore.
add_executable(dime-nfq-echo
  ${CMAKE_CURRENT_LIST_DIR}/nfq_echo.c
  ${PROJECT_SOURCE_DIR}/src/nfq.c
  ${PROJECT_SOURCE_DIR}/src/nlutil.c
  ${PROJECT_SOURCE_DIR}/src/log.c)
target_include_directories(dime-nfq-echo PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(dime-nfq-echo PRIVATE PkgConfig::NFQ PkgConfig::MNL)
