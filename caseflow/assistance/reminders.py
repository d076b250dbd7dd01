"""Reminders for assistance items (filled in by the reminder work of issue 6)."""
