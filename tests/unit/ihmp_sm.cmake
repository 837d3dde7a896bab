# SPDX-License-Identifier: BSD-2-Clause
# The IHMP state machine: ihmp.c with the codec and the HID table it drives,
# the security modules it calls (signatures with libcrypto, the replay
# window, the rate limiter), a fake clock and a fake network of two (or
# more) instances. Three suites over the same sources: the protocol
# (test_ihmp), path validation (docs/security.md 3.6) and the key paths
# (our key per message, PUBKEY and trust on first use; ihmp_tofu.cmake).
set(DIME_IHMP_SM_SOURCES
  ${PROJECT_SOURCE_DIR}/src/ihmp.c
  ${PROJECT_SOURCE_DIR}/src/ihmp_wire.c
  ${PROJECT_SOURCE_DIR}/src/ihmp_sign.c
  ${PROJECT_SOURCE_DIR}/src/replay.c
  ${PROJECT_SOURCE_DIR}/src/ratelimit.c
  ${PROJECT_SOURCE_DIR}/src/hid.c
  ${PROJECT_SOURCE_DIR}/src/bigalloc.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
dime_unit_test(test_ihmp ${CMAKE_CURRENT_LIST_DIR}/test_ihmp.c
  ${CMAKE_CURRENT_LIST_DIR}/ihmp_fakenet.c ${DIME_IHMP_SM_SOURCES})
target_link_libraries(test_ihmp PRIVATE PkgConfig::CRYPTO)
dime_unit_test(test_ihmp_pathval ${CMAKE_CURRENT_LIST_DIR}/test_ihmp_pathval.c
  ${CMAKE_CURRENT_LIST_DIR}/ihmp_fakenet.c ${DIME_IHMP_SM_SOURCES})
target_link_libraries(test_ihmp_pathval PRIVATE PkgConfig::CRYPTO)
