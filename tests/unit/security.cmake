# SPDX-License-Identifier: BSD-2-Clause
# IHMP security building blocks (docs/security.md), each alone: signatures
# and key files with the codec and libcrypto, the replay window, and the
# rate limiter with the address helpers.
dime_unit_test(test_ihmp_sign
  ${CMAKE_CURRENT_LIST_DIR}/test_ihmp_sign.c
  ${PROJECT_SOURCE_DIR}/src/ihmp_sign.c
  ${PROJECT_SOURCE_DIR}/src/ihmp_wire.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
target_link_libraries(test_ihmp_sign PRIVATE PkgConfig::CRYPTO)
dime_unit_test(test_replay
  ${CMAKE_CURRENT_LIST_DIR}/test_replay.c
  ${PROJECT_SOURCE_DIR}/src/replay.c)
dime_unit_test(test_ratelimit
  ${CMAKE_CURRENT_LIST_DIR}/test_ratelimit.c
  ${PROJECT_SOURCE_DIR}/src/ratelimit.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
