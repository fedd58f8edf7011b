"""The outbox relay: publishes the event outbox to Kafka (`todoflow relay`)."""
