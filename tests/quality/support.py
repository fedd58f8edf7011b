"""The instant the quality tests' schedule is built for (shared by the fixtures and the tests)."""

from datetime import UTC, datetime, timedelta

AS_OF = datetime.now(UTC).replace(microsecond=0)
CREATED = AS_OF - timedelta(days=3)
