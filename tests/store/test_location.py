"""Where the cache lives (seqc/store/location.py): --cache-dir, $SEQC_CACHE_DIR, the project's tagged
cache/ above the storyboard, else the per-user cache; the same from any working folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from renderkit import five_keyframe_storyboard, run_seqc

from seqc.store import Cache, default_cache_dir
from seqc.store.location import TAG_NAME, is_seqc_cache, project_cache, user_cache_dir


def test_precedence(tmp_path):
    env = {"SEQC_CACHE_DIR": "/env/cache", "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert default_cache_dir("/cli/cache", env, tmp_path) == Path("/cli/cache")
    assert default_cache_dir("rel", env, tmp_path) == tmp_path / "rel"
    assert default_cache_dir(None, env, tmp_path) == Path("/env/cache")
    assert default_cache_dir(None, {**env, "SEQC_CACHE_DIR": "envrel"}, tmp_path) == tmp_path / "envrel"
    no_env = {"SEQC_CACHE_DIR": "", "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert default_cache_dir(None, no_env, tmp_path, near=tmp_path) == tmp_path / "xdg" / "seqc"
    assert default_cache_dir(None, {}).is_absolute()


def test_the_nearest_tagged_cache_above_the_storyboard(tmp_path):
    project = tmp_path / "project"
    (project / "scenes" / "intro").mkdir(parents=True)
    (project / "cache").mkdir()
    assert project_cache(project / "scenes" / "intro") is None  # an untagged folder named cache is not one
    Cache(project / "cache").write_run("ab", {})  # any write tags the cache
    assert is_seqc_cache(project / "cache")
    assert project_cache(project / "scenes" / "intro") == project / "cache"
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    assert default_cache_dir(None, env, tmp_path, near=project / "scenes" / "intro") == project / "cache"
    # Someone else's CACHEDIR.TAG does not make a folder seqc's.
    other = tmp_path / "other"
    (other / "cache").mkdir(parents=True)
    (other / "cache" / TAG_NAME).write_text("Signature: 8a477f597d28d172789f06886806bc55\n# made by a build tool\n")
    assert project_cache(other) is None


def test_user_cache_dir_follows_xdg(tmp_path):
    assert user_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "seqc"
    assert user_cache_dir({"XDG_CACHE_HOME": "relative"}) == Path.home() / ".cache" / "seqc"


@pytest.mark.slow
def test_the_same_storyboard_finds_the_same_cache_from_any_folder(tmp_path, tiny_vae):
    """Rendered by its absolute path from elsewhere, then planned inside the project: all cached."""
    project = tmp_path / "project"
    project.mkdir()
    story = five_keyframe_storyboard(project, tiny_vae, size=32)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    run_seqc("render", str(story), "--quiet", cwd=elsewhere, env=env)
    assert not (elsewhere / "cache").exists()
    plan = json.loads(run_seqc("plan", "storyboard.yaml", "--json", cwd=project, env=env).stdout)
    assert plan["to_render"] == 0
    assert (tmp_path / "xdg" / "seqc" / "clips").is_dir()
    # With a tagged project cache (as `seqc init` makes), that one is used, from anywhere.
    (project / "cache").mkdir()
    (project / "cache" / TAG_NAME).write_bytes((tmp_path / "xdg" / "seqc" / TAG_NAME).read_bytes())
    run_seqc("render", str(story), "--quiet", cwd=elsewhere, env=env)
    assert (project / "cache" / "clips").is_dir()
    plan = json.loads(run_seqc("plan", str(story), "--json", cwd=tmp_path, env=env).stdout)
    assert plan["to_render"] == 0
