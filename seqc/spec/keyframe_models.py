"""What adjusts the model at a keyframe: its LoRA files and weights (`lora:`) and what a ControlNet
follows there (`control:`), on the keyframe or in `defaults`. LoRA files are checked from their
headers (seqc.checkpoints tells a LoRA from a checkpoint, a ControlNet or a VAE), control pictures
as keyframe images are, and the extras they need (`peft`, scikit-image) are said before anything
renders."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from seqc.checkpoints import CheckpointError, read_header, recognise
from seqc.spec.images import ImageMemo, check_image
from seqc.spec.model import Control, Lora
from seqc.spec.paths import local_path

if TYPE_CHECKING:
    from seqc.spec.checks import _Collector as Collector

PEFT_HINT = "pip install 'seqc[lora]'"
CONTROL_HINT = "pip install 'seqc[controlnet]'"


class LoraFiles:
    """Each LoRA file checked once, however many keyframes list it (a wrong one is one problem)."""

    def __init__(self, base: Path, out: Collector):
        self.base, self.out = base, out
        self.checked: dict[tuple, Path | None] = {}
        self.peft_said = False

    def keyframe_loras(self, kf: dict, defaults: dict, kpath: tuple, generative: bool) -> tuple[Lora, ...]:
        """The keyframe's LoRAs (its own `lora:` list, else the defaults'), each file once with its
        weights added; () under an autoencoder model (a warning says so) or where a file is wrong."""
        where = kpath if "lora" in kf else ("defaults",)
        entries = kf["lora"] if "lora" in kf else defaults.get("lora", [])
        if not isinstance(entries, list) or not entries or not self.out.ok(where + ("lora",)):
            return ()
        if not generative:  # said once, however many keyframes take the defaults' list
            self.out.warn(where + ("lora",), "`lora` has no effect with an autoencoder model", depends=(("model",),))
            return ()
        weights: dict[Path, float] = {}  # a file listed twice: its weights add
        for i, entry in enumerate(entries):
            path = self._checked(where + ("lora", i), entry)
            if path is None:
                return ()  # its problem is said once; nothing renders
            weights[path] = weights.get(path, 0.0) + float(entry.get("weight", 1.0))
        return tuple(Lora(path, weight) for path, weight in weights.items())

    def _checked(self, where: tuple, entry: object) -> Path | None:
        """The LoRA file of one entry, or None (with one problem, said once) if it is not one."""
        if where in self.checked:
            return self.checked[where]
        self.checked[where] = None
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not self.out.ok(where):
            return None
        text = entry["path"]
        path, why = local_path(self.base, text)
        problem = f"lora '{text}' {why}" if why else ""
        if path is not None and not problem:
            problem = self._problem(text, path)
        if problem:
            self.out.error(where + ("path",), problem)
            return None
        if importlib.util.find_spec("peft") is None and not self.peft_said:
            self.peft_said = True
            self.out.error(where + ("path",), "LoRAs need the `peft` package, which is not installed", PEFT_HINT)
            return None
        self.checked[where] = path
        return path

    @staticmethod
    def _problem(text: str, path: Path) -> str:
        """What is wrong with a LoRA file ("" if nothing)."""
        if not path.is_file():
            return f"lora '{text}' not found (looked at {path})"
        if path.suffix != ".safetensors":
            return f"lora '{text}' is not a .safetensors file; seqc loads safetensors only (unpickling can run any code)"
        try:
            found = recognise(read_header(path))
        except (CheckpointError, OSError) as exc:
            return f"lora '{text}' cannot be read: {exc}"
        if found.kind != "lora":
            return f"lora '{text}' is {found.what}, not a LoRA"
        return ""


def keyframe_control(kf: dict, defaults: dict, kpath: tuple, image: Path | None, controlnet: bool,
                     out: Collector, base: Path, images: ImageMemo | None = None) -> Control | None:
    """What the ControlNet follows at this keyframe (its own `control:`, else the defaults'), or None.
    Without a control `image` it traces the keyframe's own picture for edges; a prompt keyframe has
    none, so the defaults' edges skip it (the schema refuses its own `control:` without an image)."""
    where = kpath if "control" in kf else ("defaults",)
    entry = kf["control"] if "control" in kf else defaults.get("control")
    if not isinstance(entry, dict) or not out.ok(where + ("control",)):
        return None
    if not controlnet:
        out.warn(where + ("control",), "`control` has no effect without `controlnet:`",
                 depends=(("controlnet",), ("model",)))
        return None
    own = entry.get("image")
    if own is None and image is None:
        return None  # only the defaults' can get here: a prompt keyframe has no picture to trace
    found = None
    if isinstance(own, str):
        found, why = local_path(base, own)
        message, hint = (f"control image '{own}' {why}", "") if why or found is None else check_image(found, images)
        if message:
            if where + ("control", "image") not in out.error_paths:  # the defaults' is said once
                out.error(where + ("control", "image"), message, hint)
            return None
    edges = bool(entry.get("edges", own is None))
    if edges and importlib.util.find_spec("skimage") is None:
        if where + ("control",) not in out.error_paths:
            out.error(where + ("control",), "edges for a ControlNet need scikit-image, which is not installed",
                      CONTROL_HINT)
        return None
    return Control(found, float(entry.get("scale", 1.0)), edges)
