"""The capability boundary between Node and the worker: the pool's Grant (which types Node may hold, call and
build, where files may go), the grammar signature strings must satisfy, and the attributes a handle exposes."""

from .attributes import read_attribute, signature_data, write_attribute
from .grant import DENIED_PATTERNS, Grant, qualified_name
from .signatures import check_signature_string

__all__ = [
    "DENIED_PATTERNS",
    "Grant",
    "check_signature_string",
    "qualified_name",
    "read_attribute",
    "signature_data",
    "write_attribute",
]
