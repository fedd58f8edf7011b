"""What the API, the outbox relay and the pipeline jobs share: settings, schema, recurrence math, events."""
