# SPDX-License-Identifier: BSD-2-Clause
# The key paths of the IHMP state machine: our key per message (HOST_ID),
# the PUBKEY TLV and trust on first use, over two ihmp instances and a
# fake network (docs/security.md 5).
dime_unit_test(test_ihmp_tofu
  ${CMAKE_CURRENT_LIST_DIR}/test_ihmp_tofu.c
  ${PROJECT_SOURCE_DIR}/src/ihmp.c
  ${PROJECT_SOURCE_DIR}/src/ihmp_wire.c
  ${PROJECT_SOURCE_DIR}/src/ihmp_sign.c
  ${PROJECT_SOURCE_DIR}/src/replay.c
  ${PROJECT_SOURCE_DIR}/src/ratelimit.c
  ${PROJECT_SOURCE_DIR}/src/hid.c
  ${PROJECT_SOURCE_DIR}/src/bigalloc.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
target_link_libraries(test_ihmp_tofu PRIVATE PkgConfig::CRYPTO)
