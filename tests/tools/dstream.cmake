# SPDX-License-Identifier: BSD-2-Clause
#
# dstream: byte-verified TCP/UDP stream sender and receiver (streamcheck.c is
# its pure verifier core). Links nothing but libc, so it runs in any namespace.
add_executable(dstream ${CMAKE_CURRENT_LIST_DIR}/dstream.c ${CMAKE_CURRENT_LIST_DIR}/streamcheck.c)
target_include_directories(dstream PRIVATE ${PROJECT_SOURCE_DIR}/include)
