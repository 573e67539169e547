"""Datadog subtasks, in the order they run: collect → extract → convert."""
