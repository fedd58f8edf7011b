"""Helpers of the API tests: the test password, a logged-in user, the one error shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PASSWORD = "correct horse battery"


@dataclass
class ApiUser:
    """A registered, logged-in user."""

    id: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def error_of(response: Any) -> dict[str, Any]:
    """The error object of an error response, after checking the shape every error must have."""
    document = response.get_json()
    assert response.mimetype == "application/json", response.data[:200]
    assert set(document) == {"error"}, document
    assert set(document["error"]) == {"code", "message", "details"}, document
    assert isinstance(document["error"]["message"], str) and document["error"]["message"]
    assert isinstance(document["error"]["details"], dict)
    return document["error"]
