# SPDX-License-Identifier: BSD-2-Clause
# bench_dataplane: dp_packet packets/s per core at 64, 10k and 1M flows.
add_executable(bench_dataplane ${CMAKE_CURRENT_LIST_DIR}/bench_dataplane.c)
target_link_libraries(bench_dataplane PRIVATE dimecore)
