# SPDX-License-Identifier: BSD-2-Clause
#
# dime-manyconn: many parallel byte-verified TCP connections to one peer, for
# the IHMP scale scenario and benchmark. Links nothing but libc.
add_executable(dime-manyconn ${CMAKE_CURRENT_LIST_DIR}/manyconn.c)
