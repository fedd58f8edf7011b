"""Security headers on every response.

- X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer and X-Frame-Options: DENY everywhere.
- Cache-Control: no-store on everything under /api/ (tokens and per-user data must not sit in a cache).
- Content-Security-Policy: the JSON API allows nothing at all; /docs allows only its own packaged scripts,
  styles and images and its calls to /openapi.json (no CDN, no inline script).
"""

from __future__ import annotations

from flask import Flask, Response, request

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def _secure(response: Response) -> Response:
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    path = request.path
    headers["Content-Security-Policy"] = DOCS_CSP if path == "/docs" or path.startswith("/docs/") else API_CSP
    if path.startswith("/api/"):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


def init_app(app: Flask) -> None:
    """Add the security headers to every response of app."""
    app.after_request(_secure)
