"""The request exactly as it came off the wire, shared by the signature checks and the protocol parser.

It lives apart from both so that ``auth`` and ``protocol`` can import it without importing each other:
signatures are computed over these raw bytes and strings, never over anything decoded or normalised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

SecretLookup = Callable[[str], str | None]
"""SecretId -> SecretKey, ``None`` when the id is unknown; a callable so keys can come from any store."""


@dataclass(frozen=True)
class RawRequest:
    """One HTTP request before any interpretation.

    ``host`` and ``query`` are kept verbatim because clients sign them verbatim: tccli signs a Host of
    ``http://127.0.0.1:9000`` and the SDK signs ``+`` for spaces, so any normalisation breaks signatures.
    """

    method: str
    host: str
    query: str
    headers: Mapping[str, str]
    body: bytes
