"""The API key format: `fs_admin_<id>_<secret>`, `fs_sdk_<id>_<secret>` and `fs_client_<id>_<secret>`, and
monitoring triggers' URL secrets (`fs_trigger_<secret>`), hashed for storage.

Generates, parses and verifies keys; never stores or logs a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

ADMIN_PREFIX = "fs_admin_"
SDK_PREFIX = "fs_sdk_"
CLIENT_PREFIX = "fs_client_"  # public: embedded in browser and mobile code
TRIGGER_PREFIX = "fs_trigger_"  # a trigger's URL: no id to look up, the row is found by the secret's hash
_KEY_ID = re.compile(r"[0-9a-f]{12}")


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    secret: str  # the whole key; shown once, never stored
    secret_hash: str


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def generate(prefix: str) -> NewKey:
    key_id = secrets.token_hex(6)
    token = f"{prefix}{key_id}_{secrets.token_urlsafe(32)}"
    return NewKey(key_id, token, hash_key(token))


def generate_secret(prefix: str) -> NewKey:
    """A secret found by its hash alone (`key_id` is empty): for credentials that travel in a URL."""
    token = f"{prefix}{secrets.token_urlsafe(32)}"
    return NewKey("", token, hash_key(token))


def from_token(token: str) -> NewKey:
    """A key made from an operator-chosen token (FLAGSTAFF_ADMIN_TOKEN), which need not follow our format."""
    return NewKey(key_id_of(token, ADMIN_PREFIX), token, hash_key(token))


def key_id_of(token: str, prefix: str) -> str:
    """The lookup id: embedded in our own keys; derived from the hash for foreign tokens."""
    if token.startswith(prefix):
        candidate = token[len(prefix) : len(prefix) + 12]
        if _KEY_ID.fullmatch(candidate) and token[len(prefix) + 12 : len(prefix) + 13] == "_":
            return candidate
    return "t" + hash_key(token)[:15]


def matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(token), stored_hash)
