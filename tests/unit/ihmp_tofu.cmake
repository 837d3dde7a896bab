# SPDX-License-Identifier: BSD-2-Clause
# The key paths of the IHMP state machine: our key per message (HOST_ID),
# the PUBKEY TLV and trust on first use, over two ihmp instances and a
# fake network (docs/security.md 5). Sources: ihmp_sm.cmake (included
# before this fragment: the fragments are read in name order).
dime_unit_test(test_ihmp_tofu ${CMAKE_CURRENT_LIST_DIR}/test_ihmp_tofu.c ${DIME_IHMP_SM_SOURCES})
target_link_libraries(test_ihmp_tofu PRIVATE PkgConfig::CRYPTO)
