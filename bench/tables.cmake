# SPDX-License-Identifier: BSD-2-Clause
#
# bench_tables: flow and HID lookups per second at 0, 10k and 1M flows, and
# bytes per flow entry. Run by hand: ./bench/bench_tables [lookups-per-case]
add_executable(bench_tables bench_tables.c)
target_link_libraries(bench_tables PRIVATE dimecore)
