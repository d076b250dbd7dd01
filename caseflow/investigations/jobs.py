"""Scheduled jobs of the investigations package (filled in by the reminder work of issue 5)."""
