"""`seqc watch`: a real observer, real file operations, the real render with a tiny random model
(conftest's `tiny_vae`).

Most scenarios share one `seqc watch --quiet` subprocess (its start costs seconds of torch and
diffusers imports); each begins by saving a storyboard of its own and waiting for its render,
so it does not depend on what the previous one left. The Ctrl-C tests and --poll get their
own processes. "No render" is asserted by waiting a quiet period of several debounces.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from watchdog.events import (
    DirDeletedEvent,
    DirModifiedEvent,
    FileClosedNoWriteEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)
from watchutil import (
    ERROR,
    PROBLEM_RE,
    RENDERING,
    SUPERSEDED,
    WatchProcess,
    png_bytes,
    processes_mentioning,
    save_by_rename,
    storyboard,
    temp_files,
    total_frames,
    wait_until,
)

from seqc.media import count_frames
from seqc.render.options import RenderOptions
from seqc.store import Cache
from seqc.watch.views import LiveView, LogView
from seqc.watch.watcher import Watcher

pytestmark = pytest.mark.slow  # real renders in subprocesses: run with the full suite, not the inner loop

DEBOUNCE = 0.3
QUIET = 3 * DEBOUNCE + 0.6  # long enough that a render, had one been triggered, would have started
FIRST_RENDER = 240.0  # the first render imports torch and diffusers: slow on a busy machine
KEYFRAMES = ("dawn", "noon", "dusk", "night")


def make_project(folder: Path) -> Path:
    """A folder with kf/<name>.png for every painted keyframe."""
    (folder / "kf").mkdir(parents=True)
    for name in KEYFRAMES:
        (folder / "kf" / f"{name}.png").write_bytes(png_bytes(name))
    return folder


class Shared:
    """The shared watcher and its project folder."""

    def __init__(self, folder: Path, model: Path, watcher: WatchProcess):
        self.folder, self.model, self.watcher = folder, model, watcher
        self.story = folder / "story.yaml"

    def text(self, segments, **kw) -> str:
        return storyboard(self.model, segments, **kw)

    def reset(self, segments) -> int:
        """Put the original keyframes back, save a storyboard of this test's own and wait for its
        render; return the mark after it (the watcher is idle then)."""
        mark = self.watcher.mark()
        for name in KEYFRAMES:
            path = self.folder / "kf" / f"{name}.png"
            if not path.exists() or path.read_bytes() != png_bytes(name):
                save_by_rename(path, png_bytes(name))
        shutil.rmtree(self.folder / "more", ignore_errors=True)
        save_by_rename(self.story, self.text(segments))
        expected = total_frames(segments)
        wait_until(lambda: any(r.frames == expected for r in self.watcher.renders(mark)), 60,
                   f"the reset render of {expected} frames\n{self.watcher.output_tail()}")
        time.sleep(QUIET)  # anything still pending from the previous test runs out now
        return self.watcher.mark()


@pytest.fixture(scope="module")
def shared(tmp_path_factory, tiny_vae):
    folder = make_project(tmp_path_factory.mktemp("shared"))
    segments = [("dawn", "noon", 3), ("noon", "dusk", 3)]
    (folder / "story.yaml").write_text(storyboard(tiny_vae, segments))
    watcher = WatchProcess(folder, "--batch-size", "1", debounce=DEBOUNCE)
    try:
        _, first = watcher.wait_render(timeout=FIRST_RENDER)
        assert first.frames == total_frames(segments)
        yield Shared(folder, tiny_vae, watcher)
        # Ctrl-C when idle: exit 130 promptly.
        assert watcher.interrupt() == 130, watcher.output_tail()
    finally:
        watcher.close()


# ---------------------------------------------------------------------------------------------
# Which events count, what the view shows


def test_relevant_events(tmp_path):
    """Moves count by source or destination; opens, folder modifications and temp files never do."""
    story = tmp_path / "story.yaml"
    watcher = Watcher(story, Cache(tmp_path / "cache"), RenderOptions())
    watcher.set_files({story.absolute(), (tmp_path / "kf" / "a.png").absolute()})
    s, a = str(story), str(tmp_path / "kf" / "a.png")
    assert watcher.relevant_path(FileMovedEvent(s + ".new", s)) == s  # save by rename
    assert watcher.relevant_path(FileMovedEvent(s, s + ".___jb_old___")) == s  # JetBrains moves the old away
    assert watcher.relevant_path(FileModifiedEvent(a)) == a
    assert watcher.relevant_path(FileCreatedEvent(str(tmp_path / "other.yaml"))) is None
    assert watcher.relevant_path(FileOpenedEvent(s)) is None  # the render reads the files itself
    assert watcher.relevant_path(FileClosedNoWriteEvent(a)) is None
    assert watcher.relevant_path(DirModifiedEvent(str(tmp_path))) is None  # any change inside modifies it
    assert watcher.relevant_path(FileCreatedEvent(str(tmp_path / ".story.yaml.swp"))) is None


def test_a_folder_whose_watch_reported_it_deleted_is_watched_again(tmp_path):
    """Recreated at once, a folder may get its old inode back, so only the deletion event (the
    watch dies with its folder) tells that it needs a new watch."""
    story, kf = tmp_path / "story.yaml", tmp_path / "kf"
    kf.mkdir()
    watcher = Watcher(story, Cache(tmp_path / "cache"), RenderOptions(), view=_RecordingView())
    watcher.set_files({story.absolute(), (kf / "a.png").absolute()})
    watcher._start_observer()
    try:
        assert watcher._refresh_watches() == []
        assert kf in watcher._watches
        old_watch = watcher._watches[kf][0]
        watcher.on_event(DirDeletedEvent(str(kf)))  # what inotify reports; the inode is unchanged here
        assert watcher._refresh_watches() == [kf]
        assert kf in watcher._watches and watcher._watches[kf][0] is not old_watch
        assert watcher._refresh_watches() == []  # once
        watcher.on_event(DirDeletedEvent(str(tmp_path / "elsewhere")))  # not a watched folder
        assert watcher._refresh_watches() == []
    finally:
        watcher._stop_observer()


def test_live_view_shows_what_is_watched_the_state_and_the_last_render(tmp_path, tiny_vae):
    """The panel `seqc watch` shows on a terminal, drawn into a string."""
    import io

    from rich.console import Console

    from seqc.errors import Problem
    from seqc.render.driver import RenderResult
    from seqc.ui.load import load_and_plan

    folder = make_project(tmp_path / "project")
    (folder / "story.yaml").write_text(storyboard(tiny_vae, [("dawn", "noon", 2), ("noon", "dusk", 2)]))
    plan = load_and_plan(str(folder / "story.yaml"), Cache(tmp_path / "cache"))

    def draw(view):
        out = io.StringIO()
        Console(file=out, width=120, color_system=None).print(view)
        return out.getvalue()

    view = LiveView()
    view.watching(folder / "story.yaml", 3, 2, "inotify")
    view.rendering("story.yaml changed", plan)
    text = draw(view)
    assert "story.yaml and 3 keyframe files in 2 folders (inotify)" in text
    assert "rendering" in text and "2 of 2 segments and the final frame to render" in text
    view.invalid(folder / "story.yaml", [Problem("story.yaml", 3, 5, "segments", "bad")], kept=True)
    assert "story.yaml:3:5: segments: bad" in draw(view)
    view.loaded()
    view.rendered(RenderResult(clips={}, output=folder / "out.mp4", frames=5, segments=2, rendered=1, cached=1,
                               seconds=0.5, rendered_segments=[1]))
    text = draw(view)
    assert "idle" in text and "1 of 2 segments re-rendered, 1 cached, 0.50 s" in text
    assert "story.yaml:3:5" not in text


# ---------------------------------------------------------------------------------------------
# The shared watcher


def test_three_saves_by_rename_are_three_renders(shared):
    w = shared.watcher
    start = shared.reset([("dawn", "noon", 2), ("noon", "dusk", 2)])
    for frames in (5, 6, 7):
        segments = [("dawn", "noon", 2), ("noon", "dusk", frames)]
        mark = w.mark()
        save_by_rename(shared.story, shared.text(segments))
        _, render = w.wait_render(mark)
        assert render.frames == total_frames(segments)
        assert render.indices == [1]  # the first segment did not change
    time.sleep(QUIET)
    assert [r.frames for r in w.renders(start)] == [8, 9, 10]  # 2 + n + the end frame
    assert w.count(RENDERING, start) == 3
    assert count_frames(shared.folder / "out" / "video.mp4") == 10


def test_truncate_and_write_in_bursts_is_one_render(shared):
    w = shared.watcher
    start = shared.reset([("dawn", "noon", 2), ("noon", "night", 2)])
    segments = [("dawn", "noon", 2), ("noon", "night", 9)]
    data = shared.text(segments).encode()
    quarter = len(data) // 4 + 1
    with open(shared.story, "wb") as fh:  # truncates
        for i in range(4):
            fh.write(data[i * quarter:(i + 1) * quarter])
            fh.flush()
            os.fsync(fh.fileno())
            if i < 3:
                time.sleep(0.03)
    _, render = w.wait_render(start)
    time.sleep(QUIET)
    assert render.frames == total_frames(segments)
    assert len(w.renders(start)) == 1
    assert w.count(ERROR, start) == 0, w.output_tail()


def test_editor_temp_and_unrelated_files_do_not_render(shared):
    w = shared.watcher
    start = shared.reset([("dawn", "night", 3)])
    names = [".story.yaml.swp", ".story.yaml.swx", "story.yaml~", "4913", "story.yaml.___jb_tmp___",
             ".#story.yaml", "notes.txt", "kf/.dawn.png.swp", "kf/dawn.png~"]
    for name in names:
        (shared.folder / name).write_text("x")
    for name in names:
        (shared.folder / name).unlink()
    time.sleep(QUIET)
    assert w.since(start) == []


def test_storyboard_deleted_then_recreated(shared):
    w = shared.watcher
    start = shared.reset([("dawn", "dusk", 3)])
    shared.story.unlink()
    w.wait_for(r"story\.yaml:1:1: file not found", start)
    time.sleep(QUIET)
    assert w.renders(start) == []
    mark = w.mark()
    segments = [("dawn", "dusk", 4)]
    shared.story.write_text(shared.text(segments))
    _, render = w.wait_render(mark)
    time.sleep(QUIET)
    assert render.frames == total_frames(segments)
    assert len(w.renders(mark)) == 1
    assert w.proc.poll() is None


def test_invalid_yaml_shows_error_then_fix_renders_once(shared):
    w = shared.watcher
    start = shared.reset([("noon", "dusk", 3)])
    good = [("noon", "dusk", 5)]
    save_by_rename(shared.story, shared.text(good) + "segments: [\n")
    w.wait_for(ERROR + r"story\.yaml is invalid", start)
    w.wait_for(PROBLEM_RE, start)
    time.sleep(QUIET)
    assert w.renders(start) == []
    mark = w.mark()
    save_by_rename(shared.story, shared.text(good))
    _, render = w.wait_render(mark)
    time.sleep(QUIET)
    assert render.frames == total_frames(good)
    assert len(w.renders(mark)) == 1
    assert w.count(ERROR, mark) == 0


def test_corrupt_keyframe_is_shown_and_the_watcher_goes_on(shared):
    w = shared.watcher
    start = shared.reset([("noon", "night", 3)])
    night = shared.folder / "kf" / "night.png"
    good = night.read_bytes()
    save_by_rename(night, good[: len(good) // 3])  # a truncated PNG
    _, line = w.wait_for(r"story\.yaml:\d+:\d+: keyframes\.night\.image", start)
    assert "night.png" in line
    assert w.renders(start) == []
    mark = w.mark()
    save_by_rename(night, good)
    _, render = w.wait_render(mark)
    assert render.frames == 4
    assert w.proc.poll() is None


def test_replaced_keyframe_rerenders_only_its_segments(shared):
    w = shared.watcher
    segments = [("dawn", "noon", 3), ("noon", "dusk", 3), ("dusk", "night", 3), ("night", "night", 2)]
    shared.reset(segments)
    mark = w.mark()
    save_by_rename(shared.folder / "kf" / "night.png", png_bytes("night", seed=5))
    _, render = w.wait_render(mark)
    assert render.indices == [2, 3]
    assert render.cached == 2
    mark = w.mark()
    (shared.folder / "kf" / "noon.png").write_bytes(png_bytes("noon", seed=5))  # in place, this time
    _, render = w.wait_render(mark)
    time.sleep(QUIET)
    assert render.indices == [0, 1]
    assert len(w.renders(mark)) == 1


def test_watched_files_follow_the_storyboard(shared):
    """A keyframe named before its image (and folder) exist renders once the image is saved; an
    image the storyboard no longer names is no longer watched."""
    w = shared.watcher
    start = shared.reset([("dawn", "night", 2), ("night", "noon", 2)])
    keyframes = {"dawn": "kf/dawn.png", "extra": "more/extra.png"}
    segments = [("dawn", "extra", 3)]
    save_by_rename(shared.story, shared.text(segments, keyframes=keyframes))
    w.wait_for(r"story\.yaml:\d+:\d+: keyframes\.extra\.image: image file not found", start)
    mark = w.mark()
    (shared.folder / "more").mkdir()
    (shared.folder / "more" / "extra.png").write_bytes(png_bytes("dusk"))
    _, render = w.wait_render(mark)
    assert render.frames == total_frames(segments)
    time.sleep(QUIET)
    # night.png is no longer in the storyboard: replacing it renders nothing.
    mark = w.mark()
    save_by_rename(shared.folder / "kf" / "night.png", png_bytes("night", seed=9))
    time.sleep(QUIET)
    assert w.renders(mark) == []
    # more/extra.png now is.
    save_by_rename(shared.folder / "more" / "extra.png", png_bytes("dusk", seed=9))
    _, render = w.wait_render(mark)
    assert render.indices == [0]


def test_keyframe_folder_deleted_and_recreated_is_watched_again(shared):
    """As `git checkout` or `git stash` may do: the old folder's watch dies with it."""
    w = shared.watcher
    start = shared.reset([("dawn", "night", 5)])
    shutil.rmtree(shared.folder / "kf")
    make_project(shared.folder)
    _, render = w.wait_render(start)
    assert render.rendered == 0  # the same pictures: nothing to re-render
    time.sleep(QUIET)
    mark = w.mark()
    save_by_rename(shared.folder / "kf" / "night.png", png_bytes("night", seed=7))
    _, render = w.wait_render(mark)
    assert render.indices == [0]


def test_edit_during_render_supersedes_it(shared):
    w = shared.watcher
    start = shared.reset([("dawn", "noon", 4)])
    slow = [("dawn", "noon", 600, "ease-in"), ("noon", "dusk", 600, "ease-in"), ("dusk", "night", 600, "ease-in")]
    final = [("night", "dawn", 6, "ease-out")]
    save_by_rename(shared.story, shared.text(slow))
    w.wait_for(RENDERING, start)
    save_by_rename(shared.story, shared.text(final))
    w.wait_for(SUPERSEDED, start, timeout=30)
    _, render = w.wait_render(start, timeout=60)
    assert render.frames == total_frames(final)
    time.sleep(QUIET)
    assert [r.frames for r in w.renders(start)] == [total_frames(final)]  # the slow one never finished
    assert count_frames(shared.folder / "out" / "video.mp4") == total_frames(final)
    assert temp_files(shared.folder / "cache", shared.folder / "out") == []


def test_invalid_edit_during_render_finishes_the_last_good_storyboard(shared):
    w = shared.watcher
    start = shared.reset([("dusk", "noon", 4)])
    slow = [("dawn", "dusk", 300, "ease-in-out-sine"), ("dusk", "night", 300, "ease-in-out-sine"),
            ("night", "noon", 300, "ease-in-out-sine")]
    save_by_rename(shared.story, shared.text(slow))
    w.wait_for(RENDERING, start)
    save_by_rename(shared.story, shared.text(slow) + "  - {from: noon\n")  # half-written
    w.wait_for(SUPERSEDED, start, timeout=30)
    w.wait_for(PROBLEM_RE, start)
    _, line = w.wait_for(RENDERING + r"story\.yaml is invalid; finishing the last good storyboard", start)
    _, render = w.wait_render(start, timeout=120)
    assert render.frames == total_frames(slow)
    assert count_frames(shared.folder / "out" / "video.mp4") == total_frames(slow)


# ---------------------------------------------------------------------------------------------
# Processes of their own


@pytest.mark.slow  # a process of its own: torch and diffusers imports, then a first render
def test_sigint_during_render_exits_130_and_leaves_nothing_behind(tmp_path, tiny_vae):
    folder = make_project(tmp_path / "project")
    segments = [("dawn", "noon", 1500), ("noon", "dusk", 1500)]
    (folder / "story.yaml").write_text(storyboard(tiny_vae, segments))
    watcher = WatchProcess(folder, "--batch-size", "1", debounce=DEBOUNCE)
    try:
        watcher.wait_for(RENDERING, timeout=FIRST_RENDER)
        # ffmpeg is writing a clip once its temp file exists: interrupt right in the middle.
        wait_until(lambda: [p for p in temp_files(folder / "cache" / "clips") if p.suffix == ".mp4"],
                   FIRST_RENDER, "a clip being written")
        started = time.monotonic()
        assert watcher.interrupt(timeout=30) == 130, watcher.output_tail()
        assert time.monotonic() - started < 15
    finally:
        watcher.close()
    assert "interrupted" in watcher.output()
    assert temp_files(folder / "cache", folder / "out", folder) == []
    assert not (folder / "out" / "video.mp4").exists()  # no half-written output
    assert list((folder / "cache" / "leases").glob("*")) == []
    assert processes_mentioning(str(folder)) == []  # ffmpeg was stopped


@pytest.mark.slow  # a process of its own: torch and diffusers imports, then a first render
def test_poll_mode_renders_on_save_and_sigint_when_idle_exits_130(tmp_path, tiny_vae):
    folder = make_project(tmp_path / "project")
    story = folder / "story.yaml"
    story.write_text(storyboard(tiny_vae, [("dawn", "noon", 2)]))
    watcher = WatchProcess(folder, "--poll", debounce=DEBOUNCE)
    try:
        watcher.wait_render(timeout=FIRST_RENDER)
        assert "(polling)" in watcher.output()
        mark = watcher.mark()
        save_by_rename(story, storyboard(tiny_vae, [("dawn", "noon", 5)]))
        _, render = watcher.wait_render(mark)
        assert render.frames == 6
        mark = watcher.mark()
        save_by_rename(folder / "kf" / "noon.png", png_bytes("noon", seed=3))
        _, render = watcher.wait_render(mark)
        assert render.indices == [0]
        time.sleep(QUIET)
        assert watcher.interrupt() == 130, watcher.output_tail()
    finally:
        watcher.close()
    assert count_frames(folder / "out" / "video.mp4") == 6
    assert temp_files(folder) == []


# ---------------------------------------------------------------------------------------------
# In-process: inotify refusing to watch (its limits cannot be reached safely on a shared machine)


class _RecordingView(LogView):
    def __init__(self):
        self.events: list[tuple] = []

    def watching(self, story, images, folders, mechanism):
        self.events.append(("watching", mechanism))

    def invalid(self, story, problems, kept):
        self.events.append(("invalid", problems[0].message))

    def warn(self, message):
        self.events.append(("warn", message))


def test_inotify_limit_falls_back_to_polling(tmp_path):
    from watchdog.observers import Observer

    class FullObserver(Observer):
        """The native observer, as it behaves when fs.inotify.max_user_watches is reached."""

        def schedule(self, *args, **kwargs):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")

    class LimitedWatcher(Watcher):
        def _new_observer(self, polling):
            return super()._new_observer(True) if polling else FullObserver()

    story = tmp_path / "story.yaml"
    story.write_text("version: [\n")  # invalid: nothing renders, so torch is never needed here
    view = _RecordingView()
    watcher = LimitedWatcher(story, Cache(tmp_path / "cache"), RenderOptions(), debounce=0.1, view=view)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: any(e[0] == "invalid" for e in view.events), 30, "the first load")
        assert any(e[0] == "warn" and "polling instead" in e[1] for e in view.events), view.events
        assert ("watching", "polling") in view.events
        count = sum(1 for e in view.events if e[0] == "invalid")
        story.write_text("version: 1\n")  # still invalid, but a change the polling observer must see
        wait_until(lambda: sum(1 for e in view.events if e[0] == "invalid") > count, 30,
                   "the change, seen by polling")
    finally:
        watcher.stop()
        thread.join(10)
    assert not thread.is_alive()


def test_an_image_made_before_its_new_folder_is_watched_still_renders(tmp_path):
    """The storyboard names more/x.png before `more/` exists. If the folder and the image appear
    between the failed load and the new watch on `more/` (no event can say so), the watcher looks
    again instead of waiting for an event that never comes."""
    story = tmp_path / "story.yaml"
    story.write_text("version: 1\nkeyframes:\n  a: {image: more/x.png}\nsegments:\n  - {from: a, to: a}\n")
    watcher = Watcher(story, Cache(tmp_path / "cache"), RenderOptions(), view=_RecordingView())
    watcher._start_observer()
    try:
        watcher.set_files({story.absolute()})  # as before the failed load: only the storyboard
        watcher._refresh_watches()
        (tmp_path / "more").mkdir()
        (tmp_path / "more" / "x.png").write_bytes(b"not yet looked at")
        time.sleep(0.5)
        watcher._take_change()  # whatever events came were for files nobody watched yet
        assert not watcher._dirty.is_set()
        watcher._watch_for(None)  # the storyboard is still invalid as loaded: watch what it names
        assert watcher._dirty.is_set()
    finally:
        watcher._stop_observer()


def test_a_ctrl_c_that_a_library_wrapped_stops_the_watcher(tmp_path, tiny_vae, monkeypatch):
    """Ctrl-C landing in torch's or diffusers' first import can come back as a RuntimeError (Python
    wraps an exception raised in a class body's `__set_name__`). It must stop the watcher like any
    Ctrl-C; an ordinary failure is shown and the watcher goes on."""
    import seqc.watch.watcher as watcher_module
    from seqc.ui.load import load_and_plan

    folder = make_project(tmp_path / "project")
    (folder / "story.yaml").write_text(storyboard(tiny_vae, [("dawn", "noon", 2)]))
    cache = Cache(folder / "cache")
    plan = load_and_plan(str(folder / "story.yaml"), cache)

    class Failed(_RecordingView):
        def failed(self, message):
            self.events.append(("failed", message))

    view = Failed()
    watcher = Watcher(folder / "story.yaml", cache, RenderOptions(), view=view)

    def cut_short(*args, **kwargs):
        raise RuntimeError("Error calling __set_name__ on 'cached_property' instance") from KeyboardInterrupt()

    monkeypatch.setattr(watcher_module, "produce", cut_short)
    with pytest.raises(KeyboardInterrupt):
        watcher._render(plan, "first render")
    assert not [e for e in view.events if e[0] == "failed"]

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(watcher_module, "produce", broken)
    watcher._render(plan, "first render")
    assert ("failed", "render failed: RuntimeError: out of memory") in view.events
