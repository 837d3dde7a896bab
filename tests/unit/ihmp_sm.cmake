# SPDX-License-Identifier: BSD-2-Clause
# The IHMP state machine: ihmp.c with the codec and the HID table it drives,
# the security modules it calls (signatures with libcrypto, the replay
# window, the rate limiter), a fake clock and a fake network of two (or
# more) instances.
dime_unit_test(test_ihmp
  ${CMAKE_CURRENT_LIST_DIR}/test_ihmp.c
  ${PROJECT_SOURCE_DIR}/src/ihmp.c
  ${PROJECT_SOURCE_DIR}/src/ihmp_wire.c
  ${PROJECT_SOURCE_DIR}/src/ihmp_sign.c
  ${PROJECT_SOURCE_DIR}/src/replay.c
  ${PROJECT_SOURCE_DIR}/src/ratelimit.c
  ${PROJECT_SOURCE_DIR}/src/hid.c
  ${PROJECT_SOURCE_DIR}/src/bigalloc.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
target_link_libraries(test_ihmp PRIVATE PkgConfig::CRYPTO)
# Path validation (docs/security.md 3.6): its own suite over the same sources.
dime_unit_test(test_ihmp_pathval
  ${CMAKE_CURRENT_LIST_DIR}/test_ihmp_pathval.c
  ${PROJECT_SOURCE_DIR}/src/ihmp.c
  ${PROJECT_SOURCE_DIR}/src/ihmp_wire.c
  ${PROJECT_SOURCE_DIR}/src/ihmp_sign.c
  ${PROJECT_SOURCE_DIR}/src/replay.c
  ${PROJECT_SOURCE_DIR}/src/ratelimit.c
  ${PROJECT_SOURCE_DIR}/src/hid.c
  ${PROJECT_SOURCE_DIR}/src/bigalloc.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
target_link_libraries(test_ihmp_pathval PRIVATE PkgConfig::CRYPTO)
