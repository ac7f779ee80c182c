"""seqc.interrupts: SIGTERM and SIGHUP stop seqc as Ctrl-C does, a Ctrl-C wrapped by a library is
still one, held signals act on release, and `python -m seqc` exits 130 after an interrupt that
landed inside an `exec()`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from seqc import interrupts

REPO = Path(__file__).resolve().parent.parent


class _CutShort:
    """A descriptor whose `__set_name__` is interrupted, as a class body is when Ctrl-C lands in an import."""

    def __set_name__(self, owner, name):
        raise KeyboardInterrupt


def _class_definition_cut_short() -> BaseException:
    try:
        type("Model", (), {"attribute": _CutShort()})
    except BaseException as exc:  # noqa: BLE001 - Python 3.11 wraps it in a RuntimeError, later ones do not
        return exc
    raise AssertionError("the class was defined")


def _wrapped_as_model_error() -> BaseException:
    from seqc.errors import ModelError

    try:
        try:
            raise RuntimeError("Error calling __set_name__") from KeyboardInterrupt()
        except RuntimeError as exc:
            raise ModelError(f"cannot load: {exc}") from None
    except ModelError as outer:
        return outer
    raise AssertionError("unreachable")


def test_a_ctrl_c_wrapped_by_a_library_is_found():
    """Through Python's own wrapping of a class body, and through `raise ... from None`."""
    for exc in (_class_definition_cut_short(), _wrapped_as_model_error()):
        assert isinstance(interrupts.interrupt_in(exc), KeyboardInterrupt)
        with pytest.raises(KeyboardInterrupt):
            interrupts.raise_if_interrupted(exc)


def test_an_ordinary_error_is_not_an_interrupt():
    try:
        try:
            raise ValueError("bad value")
        except ValueError as inner:
            raise RuntimeError("while loading") from inner
    except RuntimeError as exc:
        assert interrupts.interrupt_in(exc) is None
        interrupts.raise_if_interrupted(exc)  # raises nothing


def test_sigterm_and_sighup_raise_stopped_inside_and_are_restored_after():
    before = {sig: signal.getsignal(sig) for sig in interrupts.STOP_SIGNALS}
    for sig, code in ((signal.SIGTERM, 143), (signal.SIGHUP, 129)):
        with pytest.raises(interrupts.Stopped) as caught, interrupts.stop_signals():
            os.kill(os.getpid(), sig)
            time.sleep(5)  # the handler raises at the next bytecode, long before this ends
        assert caught.value.exit_code == code and caught.value.signum == sig
        assert isinstance(caught.value, KeyboardInterrupt)
    assert {sig: signal.getsignal(sig) for sig in interrupts.STOP_SIGNALS} == before


def test_an_ignored_stop_signal_stays_ignored():
    """`nohup seqc watch ...`: a closed terminal must not stop it."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with interrupts.stop_signals():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.05)
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_a_held_signal_acts_on_release():
    with interrupts.stop_signals():
        held = interrupts.hold()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # nothing happens while held
        with pytest.raises(interrupts.Stopped):
            interrupts.release(held)
    held = interrupts.hold()
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)
    with pytest.raises(KeyboardInterrupt):
        interrupts.release(held)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


CHILD = textwrap.dedent(
    """
    from seqc.cli import main as cli

    def dispatch(args, debug):  # the interrupt lands inside an exec(), as in a dataclass definition
        exec("raise KeyboardInterrupt")

    cli.dispatch = dispatch
    raise SystemExit(cli.main(["plan", "story.yaml"]))
    """
)


def test_python_m_exits_130_after_an_interrupt_inside_exec(tmp_path: Path):
    """CPython would end the process by SIGINT (-2 here) although seqc handled the interrupt."""
    (tmp_path / "interrupted_child.py").write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    child = subprocess.run([sys.executable, "-m", "interrupted_child"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 130, child.stderr
    assert child.stderr.strip() == "seqc: interrupted"
