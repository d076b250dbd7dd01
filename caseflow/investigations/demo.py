"""Demo data for judicial aid cases (filled in by the demo work of issue 5)."""
