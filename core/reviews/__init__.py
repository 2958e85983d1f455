"""Submissions and their review: attempts, iterations, mentor claims and reviews,
the discussion thread, scores and their receipts, waits and escalation."""
