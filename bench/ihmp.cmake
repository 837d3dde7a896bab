# SPDX-License-Identifier: BSD-2-Clause
# bench_ihmp: IHMP messages per second per core, with and without signatures.
add_executable(bench_ihmp ${CMAKE_CURRENT_LIST_DIR}/bench_ihmp.c)
target_link_libraries(bench_ihmp PRIVATE dimecore)
