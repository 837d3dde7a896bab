# SPDX-License-Identifier: BSD-2-Clause
#
# The verifier core of dstream, driven with byte arrays and a fake clock.
dime_unit_test(test_streamcheck test_streamcheck.c ../tools/streamcheck.c)
