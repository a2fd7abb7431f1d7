"""Reusable widgets that post messages up (scan input, catalogue table, service timer)."""
