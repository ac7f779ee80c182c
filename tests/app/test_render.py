"""seqc.app.render: the render use-case called as a function, as the warm-render listener calls it.

It returns what `seqc render --json` prints, prints nothing itself, keeps the no-op render free of
numpy and torch, and refuses `--executor ray` without Ray as the command always has (exit 2).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from renderkit import five_keyframe_storyboard, run_seqc

from seqc.app.render import RenderOutcome, RenderRequest, render_storyboard
from seqc.errors import InputError
from seqc.render.session import Session

pytestmark = pytest.mark.slow  # real renders


@pytest.fixture
def project(tmp_path, tiny_vae) -> Path:
    return five_keyframe_storyboard(tmp_path / "p", tiny_vae, size=32, fps=4)


def render(request: RenderRequest) -> RenderOutcome:
    session = Session()
    try:
        return render_storyboard(request, session)
    finally:
        session.close()


def test_the_outcome_is_what_the_cli_prints(project, tmp_path, capfd):
    cache = tmp_path / "cache"
    outcome = render(RenderRequest(str(project), str(cache)))
    assert capfd.readouterr() == ("", "")  # the use-case prints nothing
    assert outcome.cache == outcome.result["cache"] == str(cache)
    assert outcome.result["rendered"] == outcome.result["segments"] == 4 and outcome.warnings == []
    assert Path(outcome.result["output"]).is_file()
    # The CLI prints the same result for the same render (but the seconds and the cache it names).
    other = tmp_path / "other-cache"
    proc = run_seqc("render", str(project), "--cache-dir", str(other), "--json")
    printed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {**printed, "seconds": None, "cache": None} == {**outcome.result, "seconds": None, "cache": None}
    assert printed["cache"] == str(other)
    # And the same for the up-to-date render that follows.
    again = render(RenderRequest(str(project), str(cache)))
    assert again.result["rendered"] == 0 and again.result["cached"] == 4
    proc = run_seqc("render", str(project), "--cache-dir", str(cache), "--json")
    printed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert {**printed, "seconds": None} == {**again.result, "seconds": None}


def test_a_throwaway_cache_is_named_none(project, tmp_path):
    out = tmp_path / "nocache.mp4"
    outcome = render(RenderRequest(str(project), str(tmp_path / "cache"), output=out, no_cache=True))
    assert outcome.cache is None and outcome.result["cache"] is None and out.is_file()
    assert not (tmp_path / "cache").exists()


def test_an_up_to_date_render_imports_neither_numpy_nor_torch(project, tmp_path):
    cache = tmp_path / "cache"
    render(RenderRequest(str(project), str(cache)))
    code = ("import sys\n"
            "from seqc.app.render import RenderRequest, render_storyboard\n"
            "from seqc.render.session import Session\n"
            f"outcome = render_storyboard(RenderRequest({str(project)!r}, {str(cache)!r}), Session())\n"
            "print(outcome.result['rendered'], 'numpy' in sys.modules, 'torch' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "0 False False", proc.stderr


def test_the_ray_executor_without_ray_is_the_commands_exit_2(project, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    cache = tmp_path / "cache"
    with pytest.raises(InputError) as caught:
        render(RenderRequest(str(project), str(cache), executor="ray"))
    assert caught.value.exit_code == 2
    assert str(caught.value) == "--executor ray needs Ray, which is not installed: pip install 'seqc[ray]'"
    assert not cache.exists() or not [p for p in cache.rglob("*") if p.is_file()]


def test_a_request_names_a_known_executor_and_a_positive_worker_count():
    with pytest.raises(ValueError, match="executor must be 'local' or 'ray'"):
        RenderRequest("s.yaml", executor="gpu")
    with pytest.raises(ValueError, match="workers must be at least 1"):
        RenderRequest("s.yaml", executor="ray", workers=0)
