#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Scenario 24: the short soak (CI): 60 s of continuous call set-up and
tear-down, 3 calls per second held 0.5 s each. Every call completes, the
daemon's memory does not grow (VmRSS at 10 s against the end, < 5 %), and
calls, pinholes and dialogs are back to 0 once the ended dialogs' grace
time has passed. test_30_soak.py is the 10-minute version."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadlib as L  # noqa: E402

if __name__ == "__main__":
    L.run_soak("e2e_24_soak_short", 60, sample_every=5)
