"""Automated checks: a task's pytest suite run against the learner's code in a sandbox.

``core.checks.sandbox.run_suite`` is the one call the rest of the site makes. This
package holds no models or views; see core/checks/sandbox.py for the guarantees.
"""
