"""flask-jwt-extended's manager, remembering the claims of the tokens a worker has already verified.

A client presents the same access token on every request for its whole lifetime, and PyJWT parses a
token four times per request (about a fifth of a list request's CPU). A token string whose signature
this worker has verified once with a key has the same claims every time, so they are kept by key and
exact string: any change to a token is another entry and goes through full verification. Expiry is
re-checked on every use, and revocation is checked on every request by the blocklist loader, outside
this cache.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import current_app
from flask_jwt_extended import JWTManager

CAPACITY = 10_000


class CachingJWTManager(JWTManager):
    """JWTManager whose token decoding skips signature verification for strings verified before."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        super().__init__()
        self._capacity = capacity
        # Keyed by (signing key, token): apps with different keys never share a verification.
        self._verified: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _decode_jwt_from_config(
        self, encoded_token: str, csrf_value: Any = None, allow_expired: bool = False
    ) -> dict[str, Any]:
        cacheable = csrf_value is None and not allow_expired
        key = (current_app.config["JWT_SECRET_KEY"], encoded_token)
        if cacheable:
            claims = self._verified.get(key)
            # PyJWT's rule with no leeway: valid while now < exp.
            if claims is not None and time.time() < claims["exp"]:
                return claims
        claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        if cacheable and isinstance(claims.get("exp"), int):
            with self._lock:
                if len(self._verified) >= self._capacity:
                    # Insertion order: forget the oldest verification first.
                    del self._verified[next(iter(self._verified))]
                self._verified[key] = claims
        return claims
