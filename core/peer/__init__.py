"""Peer review: assignments, the peer queue, majority verdicts, ratings and reports."""
