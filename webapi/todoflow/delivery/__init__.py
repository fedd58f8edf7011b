"""The delivery service: task events out to users' signed webhooks and reminder emails (`todoflow deliver`)."""
