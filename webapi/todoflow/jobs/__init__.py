"""The job commands Airflow runs: expand recurrences, sweep due dates, write the event log (one CLI, `todoflow`)."""
