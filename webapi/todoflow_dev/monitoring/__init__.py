"""Monitoring as code: dashboards, alert-rule tests and the generated helm values (`make monitoring`)."""
