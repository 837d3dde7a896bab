# SPDX-License-Identifier: BSD-2-Clause
# IHMP keys from the configuration (ihmpkeys.c): peer key file names and
# prefixes, longest-prefix lookup, and ihmpkeys_setup over key files in a
# temporary directory, with the key file code and libcrypto it uses.
dime_unit_test(test_ihmpkeys
  ${CMAKE_CURRENT_LIST_DIR}/test_ihmpkeys.c
  ${PROJECT_SOURCE_DIR}/src/ihmpkeys.c
  ${PROJECT_SOURCE_DIR}/src/ihmp_sign.c
  ${PROJECT_SOURCE_DIR}/src/ihmp_wire.c
  ${PROJECT_SOURCE_DIR}/src/log.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
target_link_libraries(test_ihmpkeys PRIVATE PkgConfig::CRYPTO)
