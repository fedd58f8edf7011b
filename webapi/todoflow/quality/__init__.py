"""Data-quality checks that keep the schedules consistent (Great Expectations over PostgreSQL)."""
