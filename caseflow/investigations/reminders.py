"""Reminders for proposals waiting for approval (filled in by the reminder work of issue 5)."""
