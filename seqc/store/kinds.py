"""What the store holds: the kinds of entry, the shape of a key, and an entry's statuses."""

from __future__ import annotations

from seqc.store.files import HEX64_RE

# kind -> extension of its content files; add a line here to store a new kind of artifact.
KINDS: dict[str, str] = {
    "latents": ".safetensors",
    "embeds": ".safetensors",  # prompt conditioning of a text-to-image model
    "trajectories": ".safetensors",  # a morph's end keyframe at step k of the schedule (seqc.render.trajectories)
    "clips": ".mp4",
}
SIDECAR_EXT = ".json"

CACHED = "cached"
MISSING = "missing"
INVALID = "invalid"

Key = tuple[str, str]  # (kind, key)


def check_kind(kind: str) -> str:
    """Return `kind` if it is a known cache kind; raise ValueError naming the known ones otherwise."""
    if kind not in KINDS:
        raise ValueError(f"unknown cache kind {kind!r}: expected one of {', '.join(sorted(KINDS))}")
    return kind


def check_key(key: str) -> str:
    """Return `key` if it is a 64-char lowercase hex sha256; raise ValueError otherwise."""
    if not isinstance(key, str) or not HEX64_RE.fullmatch(key):
        raise ValueError(f"invalid cache key {key!r}: expected 64 lowercase hex characters")
    return key

