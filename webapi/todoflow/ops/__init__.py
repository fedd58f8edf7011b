"""Operational commands: migrations and topic creation."""
