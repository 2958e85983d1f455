"""Telling people: in-app notifications, email preferences, deadline reminders and
the email task."""
