"""Identifiers shaped like API Gateway's.

Connection, request and message ids are 16 characters: 15 from the base64url alphabet and a
trailing ``=`` (spec §3, inferred from captured events). API ids are 10 lowercase alphanumerics.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import string
import uuid

__all__ = ["ACCOUNT_ID", "CONNECTION_ID", "is_connection_id", "new_api_id", "new_id", "new_uuid"]

#: The shape of a connection id (also request and message ids).
CONNECTION_ID = re.compile(r"[A-Za-z0-9_-]{15}=")

#: The account id used in ARNs; any 12 digits would do.
ACCOUNT_ID = "123456789012"

_API_ID_ALPHABET = string.ascii_lowercase + string.digits

_POOL_IDS = 512
_pool: list[str] = []


def new_id() -> str:
    """A fresh connection/request/message id such as ``TXzPWdnOjoECGjA=``."""
    try:
        return _pool.pop()
    except IndexError:
        # Ids are made in batches: one urandom call and one encode for 512 ids, as every
        # message needs two. 15 base64url characters carry 90 random bits; AWS adds the "=".
        text = base64.urlsafe_b64encode(os.urandom(_POOL_IDS * 12)).decode("ascii")
        _pool.extend(text[i : i + 15] + "=" for i in range(0, _POOL_IDS * 16, 16))
        return _pool.pop()


def new_api_id() -> str:
    """A fresh API id such as ``dl7ptocha9``.

    Drawn from the OS, not :mod:`random`: a run seeded for repeatability (``--seed``) must not
    give two emulators in one process the same id, since per-API state (the sample API's query
    ledger) is keyed by it.
    """
    return "".join(secrets.choice(_API_ID_ALPHABET) for _ in range(10))


def new_uuid() -> str:
    """A fresh request id for REST APIs and Lambda invocations (a UUID 4)."""
    return str(uuid.uuid4())


def is_connection_id(value: str) -> bool:
    """Whether ``value`` has the shape of a connection id (the @connections API's 400 check)."""
    return CONNECTION_ID.fullmatch(value) is not None
