"""Scheduled jobs of the assistance package (filled in by the reminder work of issue 6)."""
