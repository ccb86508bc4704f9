"""Put on PYTHONPATH by the test suite when the clock is moved: a Python process a test
starts runs on the test's moved clock (see moved_clock.py)."""

import os
import sys

if os.environ.get("WORKLIST_TEST_CLOCK_ANCHOR"):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from moved_clock import travel_from_anchor

    _traveller = travel_from_anchor()
