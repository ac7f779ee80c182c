"""The content-addressed store: cache entries, the file memo, run records, leases and gc.

Imports only the standard library: the planner side never loads torch or numpy.
"""

from seqc.store.cache import Cache
from seqc.store.kinds import CACHED, INVALID, KINDS, MISSING
from seqc.store.location import default_cache_dir
from seqc.store.sizes import format_size, parse_size

__all__ = ["CACHED", "INVALID", "KINDS", "MISSING", "Cache", "default_cache_dir", "format_size", "parse_size"]
