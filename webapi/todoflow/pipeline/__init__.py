"""The Airflow side of the jobs: one job definition per job and one factory that turns it into a task.

Importing this package is cheap (stdlib and airflow.sdk only): DAG files import it at parse time.
"""
