"""Disputes: a learner contests one task verdict; a mentor who did not give it decides."""
