"""``make bench``: the load-test harness (bench/run.py) and its baseline page."""
