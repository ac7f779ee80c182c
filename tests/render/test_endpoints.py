"""Keyframe latents (seqc/render/endpoints.py): read from the cache when they are there and usable,
encoded and cached otherwise."""

from __future__ import annotations

import shutil

import pytest
from renderkit import five_keyframe_storyboard, run_seqc
from safetensors.numpy import load

from seqc.plan import compile_plan
from seqc.spec import load_storyboard
from seqc.store import Cache

pytestmark = pytest.mark.slow  # real renders in subprocesses: run with the full suite, not the inner loop


def test_a_cached_latent_that_does_not_parse_is_replaced_once(tmp_path, tiny_vae):
    """A latent whose digest is fine but whose bytes are no safetensors file (an older format) is
    deleted with a warning and encoded again: the next render finds a good one (it used to be
    re-encoded on every run, because `put` kept the bad entry)."""
    story = five_keyframe_storyboard(tmp_path, tiny_vae, size=32)
    cache_dir = tmp_path / "cache"
    run_seqc("render", str(story), "--cache-dir", str(cache_dir), "--quiet")
    cache = Cache(cache_dir)
    latent = compile_plan(load_storyboard(story), cache).latents["k0"]
    for path in (cache.sidecar("latents", latent.key), cache.path("latents", latent.key)):
        path.unlink()
    cache.put_bytes("latents", latent.key, b"an older format", latent.inputs)

    shutil.rmtree(cache_dir / "clips")
    first = run_seqc("render", str(story), "--cache-dir", str(cache_dir), "--quiet")
    assert f"latents/{latent.key}" in first.stderr and "could not be read" in first.stderr
    assert "latent" in load(cache.path("latents", latent.key).read_bytes())

    shutil.rmtree(cache_dir / "clips")
    second = run_seqc("render", str(story), "--cache-dir", str(cache_dir), "--quiet")
    assert "could not be read" not in second.stderr
