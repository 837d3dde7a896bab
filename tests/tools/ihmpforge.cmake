# SPDX-License-Identifier: BSD-2-Clause
#
# dime-ihmpforge: forged, replayed and flooded IHMP messages for the attacker
# scenario (tests/netns/attack.sh) and bench/ihmp_flood.sh, built with
# dimed's own encoder and signer (dimecore: ihmp_wire.c, ihmp_sign.c).
add_executable(dime-ihmpforge ${CMAKE_CURRENT_LIST_DIR}/ihmpforge.c)
target_link_libraries(dime-ihmpforge PRIVATE dimecore)
