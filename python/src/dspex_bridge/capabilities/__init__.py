"""The capability boundary between Node and the worker: the pool's Grant (a table of the classes Node may build,
call, compile and hold, with each one's arguments by name and kind; where files may go), the grammar signature
strings must satisfy, and the attributes a handle exposes."""

from .attributes import read_attribute, signature_data, write_attribute
from .grant import Grant, parse_entries, qualified_name
from .kinds import KINDS, LM_REQUEST_OPTIONS, Arguments, Kind
from .signatures import check_signature_string
from .table import BRIDGE_TABLE, DEFAULT_TABLE, ClassGrant

__all__ = [
    "BRIDGE_TABLE",
    "DEFAULT_TABLE",
    "KINDS",
    "LM_REQUEST_OPTIONS",
    "Arguments",
    "ClassGrant",
    "Grant",
    "Kind",
    "check_signature_string",
    "parse_entries",
    "qualified_name",
    "read_attribute",
    "signature_data",
    "write_attribute",
]
