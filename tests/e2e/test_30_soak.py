#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 30: the soak (ctest label "long", not in the default run):
10 minutes of continuous call set-up and tear-down, 3 calls per second held
0.5 s each (1800 calls). Every call completes, the daemon's memory does not
grow between minute 1 and minute 10 (VmRSS, < 5 %), and calls, pinholes and
dialogs are back to 0 after the calls end."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadlib as L  # noqa: E402

if __name__ == "__main__":
    L.run_soak("e2e_30_soak", 600, sample_every=10)
