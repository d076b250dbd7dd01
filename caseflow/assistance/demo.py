"""Demo data for assistance plans (filled in by the demo work of issue 6)."""
