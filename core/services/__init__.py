"""Writes that span models (HackSoft style): ``<entity>_<action>(*, ...) -> T``."""
