# SPDX-License-Identifier: BSD-2-Clause
#
# dime-delayline: NFQUEUE one-way delay line for the netns testbed (the kernel
# here has no netem). delayline_core.c is its pure part, unit-tested alone.
add_executable(dime-delayline
  ${CMAKE_CURRENT_LIST_DIR}/delayline.c
  ${CMAKE_CURRENT_LIST_DIR}/delayline_core.c)
target_include_directories(dime-delayline PRIVATE ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(dime-delayline PRIVATE PkgConfig::NFQ PkgConfig::MNL)
