"""Dashboards, the progress matrix and the staff boards."""
