"""The local stack: real PostgreSQL, Kafka (KRaft), Airflow and the API on 127.0.0.1, state under .dev/."""
