# SPDX-License-Identifier: BSD-2-Clause
# bench_rewrite: packets per second per core of pkt_parse + pkt_rewrite.
add_executable(bench_rewrite ${CMAKE_CURRENT_LIST_DIR}/bench_rewrite.c)
target_link_libraries(bench_rewrite PRIVATE dimecore)
