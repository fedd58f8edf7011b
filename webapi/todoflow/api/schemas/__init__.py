"""Marshmallow schemas: they validate requests, shape responses and generate /openapi.json."""
