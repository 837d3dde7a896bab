# SPDX-License-Identifier: BSD-2-Clause
# The IHMP wire format: the pure codec alone. libcrypto only so the suite can
# sign and verify real Ed25519 signatures over ihmp_sig_input.
dime_unit_test(test_ihmp_wire
  ${CMAKE_CURRENT_LIST_DIR}/test_ihmp_wire.c
  ${PROJECT_SOURCE_DIR}/src/ihmp_wire.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
target_link_libraries(test_ihmp_wire PRIVATE PkgConfig::CRYPTO)
