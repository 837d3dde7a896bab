# SPDX-License-Identifier: BSD-2-Clause
dime_unit_test(test_sdnotify test_sdnotify.c ../../src/sdnotify.c)
