"""The API's extensions, created once and bound to an app with init_app."""

from __future__ import annotations

from argon2 import PasswordHasher, Type

from todoflow.api.database import Database
from todoflow.api.verified_tokens import CachingJWTManager

db = Database()
jwt = CachingJWTManager()
# argon2id at OWASP's recommended m=19 MiB, t=2, p=1 (Password Storage Cheat Sheet); verify reads each
# stored hash's own parameters, and login rehashes older ones whose parameters differ.
passwords = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
