"""Cohorts and their calendars: memberships, releases, extensions, schedules, feeds."""
