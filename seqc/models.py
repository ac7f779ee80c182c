"""Model references without torch: resolve `model:` to a local folder, tell its kind, fingerprint it.

The planner needs a model's fingerprint for every cache key, and a no-op render must not import
torch, so everything here reads files only. Loading the model is `seqc.backends`' job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from seqc.checkpoints import (
    FAMILY_NAMES,
    PIPELINE_CLASSES,
    CheckpointError,
    Recognised,
    read_header,
    recognise,
)
from seqc.errors import ModelError
from seqc.families import CONFIG_FAMILY, DEFAULT_CONFIGS, FAMILY_CONFIGS, family_folder

PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth", ".pkl")
HUB_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
AUTOENCODER_CLASSES = (
    "AutoencoderKL",
    "AutoencoderTiny",
    "AsymmetricAutoencoderKL",
    "ConsistencyDecoderVAE",
    "AutoencoderDC",
)
# Configuration entries that describe the file, not the weights' behaviour.
_CONFIG_NOISE = ("_name_or_path", "_diffusers_version", "_commit_hash", "transformers_version")


@dataclass(frozen=True)
class ModelRef:
    """A resolved model: where its files are, what kind it is, and how it was named."""

    name: str  # as written in the storyboard
    path: Path  # the local folder holding config and weights
    kind: str  # "autoencoder" or "pipeline"
    source: str  # "builtin", "folder", "hub" or "file"
    revision: str = ""  # the hub snapshot commit, for hub models
    file: Path | None = None  # a single-file checkpoint (source "file"); `path` is then its config folder
    vae: Path | None = None  # the storyboard's `vae:`, a file or folder that replaces the pipeline's VAE
    controlnet: Path | None = None  # the storyboard's `controlnet:`, a file or folder
    embeddings: tuple[tuple[str, Path], ...] = ()  # the storyboard's `embeddings:`, (token, file) each

    @property
    def can_generate(self) -> bool:
        """Whether prompt keyframes can be rendered with this model."""
        return self.kind == "pipeline"


# The models that ship inside the package: `model:` name -> (folder in seqc/backends, kind).
BUILTIN_MODELS = {
    "builtin": ("builtin", "autoencoder"),  # the default: a tiny autoencoder (dissolves)
    "builtin-emoji": ("builtin_emoji", "pipeline"),  # a tiny text-to-image model (prompt morphs)
}


def builtin_path(name: str = "builtin") -> Path:
    """The folder of a built-in model (BUILTIN_MODELS) inside the installed package."""
    return Path(str(resources.files("seqc.backends") / BUILTIN_MODELS[name][0]))


def _kind_of(folder: Path, name: str) -> str:
    """`pipeline` if the folder has model_index.json, `autoencoder` if its config is one; else refuse."""
    if (folder / "model_index.json").is_file():
        return "pipeline"
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise ModelError(f"model '{name}': {folder} has neither model_index.json nor config.json; "
                         "point `model:` at a folder saved with diffusers' save_pretrained")
    try:
        config = json.loads(config_file.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"model '{name}': cannot read {config_file}: {exc}") from None
    class_name = config.get("_class_name", "") if isinstance(config, dict) else ""
    if class_name not in AUTOENCODER_CLASSES:
        raise ModelError(f"model '{name}': {config_file} describes a '{class_name or 'unknown'}' model; "
                         f"seqc needs a diffusers autoencoder ({', '.join(AUTOENCODER_CLASSES)}) "
                         "or a text-to-image pipeline folder")
    return "autoencoder"


def weight_files(folder: Path, kind: str) -> list[Path]:
    """The weight files a model loads, sorted (safetensors only)."""
    if kind == "pipeline":
        return sorted(p for p in folder.rglob("*.safetensors") if p.is_file())
    return sorted(p for p in folder.glob("*.safetensors") if p.is_file())


def check_safetensors(folder: Path, kind: str, name: str) -> None:
    """Refuse a folder whose weights exist only as pickles: loading those can run arbitrary code."""
    if weight_files(folder, kind):
        return
    pattern = "**/*" if kind == "pipeline" else "*"
    pickles = sorted(p.name for p in folder.glob(pattern) if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise ModelError(f"model '{name}': {folder} holds only pickle weights ({', '.join(pickles[:3])}); "
                         "seqc loads safetensors only, because unpickling a file can run any code. "
                         "Convert it once with diffusers: Model.from_pretrained(folder).save_pretrained(folder, "
                         "safe_serialization=True)")
    raise ModelError(f"model '{name}': no .safetensors weights in {folder}")


def _hub_snapshot(repo_id: str) -> tuple[Path, str]:
    """The local snapshot folder and commit of a hub model, without touching the network."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:  # pragma: no cover - huggingface_hub comes with diffusers
        raise ModelError(f"model '{repo_id}': huggingface_hub is not installed") from None
    try:
        folder = Path(snapshot_download(repo_id, local_files_only=True))
    except LocalEntryNotFoundError:
        raise ModelError(
            f"model '{repo_id}' is not in the local Hugging Face cache and seqc never downloads at render time; "
            f"fetch it once with `huggingface-cli download {repo_id}` (or `hf download {repo_id}`), "
            "or point `model:` at a local folder"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any hub error is a model error to the user
        raise ModelError(f"model '{repo_id}': {exc}") from None
    return folder, folder.name


def resolve_single_file(name: str, file: str, config: str | None, base_dir: Path,
                        family: str | None = None) -> ModelRef:
    """A single-file checkpoint (original layout) relative to base_dir, and the configs that load it:
    the diffusers-layout folder `config`, or else the folder seqc ships for `family` or for the family
    the file's tensors show (seqc.families). Checked from the file's header and JSON, without torch."""
    # 1. The file, and what its header says it is.
    path = (base_dir / Path(file).expanduser()).resolve()
    if path.suffix in PICKLE_SUFFIXES:
        raise ModelError(f"model '{name}': {path.name} is a pickle; seqc loads safetensors only, because "
                         "unpickling a file can run any code. Use the checkpoint's .safetensors download")
    if not path.is_file():
        raise ModelError(f"model file '{file}' not found (looked at {path})")
    try:
        found = recognise(read_header(path))
    except (CheckpointError, OSError) as exc:
        raise ModelError(f"model '{name}': {path.name} cannot be read: {exc}") from None
    hints = {"lora": "put it under a keyframe's `lora:`", "controlnet": "name it in `controlnet:`",
             "vae": "name it in `vae:`", "embedding": "list it under `embeddings:`",
             "diffusers": "point `model:` at the whole pipeline folder"}
    if found.kind != "checkpoint":
        raise ModelError(f"model '{name}': {path.name} is {found.what}, not a Stable Diffusion checkpoint; "
                         + hints.get(found.kind, "`model:` takes a checkpoint in the original (LDM) layout"))
    # 2. The configs: the user's folder, or the family's shipped one.
    folder = _config_folder(name, file, config, base_dir) if config is not None else \
        _shipped_configs(name, file, path, found, family)
    try:
        class_name = json.loads((folder / "model_index.json").read_text()).get("_class_name", "")
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelError(f"model '{name}': cannot read {folder / 'model_index.json'}: {exc}") from None
    if found.family is not None and class_name != PIPELINE_CLASSES[found.family]:
        raise ModelError(f"model '{name}': {path.name} is {found.what}, but '{config}' is a '{class_name}' folder; "
                         f"give it the configs of a {FAMILY_NAMES[found.family]} pipeline")
    return ModelRef(name, folder, "pipeline", "file", file=path)


def _config_folder(name: str, file: str, config: str, base_dir: Path) -> Path:
    """The user's diffusers-layout config folder, which must have a model_index.json."""
    folder = (base_dir / Path(config).expanduser()).resolve()
    if not (folder / "model_index.json").is_file():
        raise ModelError(f"model '{name}': config folder '{config}' has no model_index.json (looked at {folder}); "
                         "it must be a diffusers pipeline folder (configs and tokenizer; weights are not needed)")
    return folder


def _shipped_configs(name: str, file: str, path: Path, found: Recognised, family: str | None) -> Path:
    """The config folder seqc ships for the file's family (or the one `family` names), if the file fits it."""
    own_configs = f"give its configs as `model: {{file: {file}, config: ./folder}}` (a diffusers-layout folder)"
    if found.family is None:
        raise ModelError(f"model '{name}': {path.name} is {found.what}; seqc ships configs for "
                         f"{', '.join(FAMILY_NAMES.values())}; for another architecture, {own_configs}")
    if family is not None and CONFIG_FAMILY.get(family) != found.family:
        fits = ", ".join(f for f in FAMILY_CONFIGS if CONFIG_FAMILY[f] == found.family)
        raise ModelError(f"model '{name}': {path.name} is {found.what}, and family '{family}' does not fit it; "
                         f"use family {fits}")
    if not found.published_size:
        raise ModelError(f"model '{name}': {path.name} is {found.what}, but not of the published size that "
                         f"seqc's {FAMILY_NAMES[found.family]} configs describe; {own_configs}")
    return family_folder(family or DEFAULT_CONFIGS[found.family])


def resolve_model(name: str, base_dir: Path) -> ModelRef:
    """Turn the storyboard's `model:` into a ModelRef: builtin, a folder (relative to base_dir), a
    single-file checkpoint or a hub id."""
    if name.endswith((".safetensors", *PICKLE_SUFFIXES)):
        return resolve_single_file(name, name, None, base_dir)
    if name in BUILTIN_MODELS:
        path, kind = builtin_path(name), BUILTIN_MODELS[name][1]
        if not (path / ("model_index.json" if kind == "pipeline" else "config.json")).is_file():
            raise ModelError(f"the files of the built-in model '{name}' are missing from the installed package; "
                             "reinstall seqc")
        return ModelRef(name, path, kind, "builtin")
    candidate = (base_dir / Path(name).expanduser()).resolve()
    looks_like_path = name.startswith((".", "/", "~")) or "\\" in name or not HUB_ID_RE.match(name)
    if candidate.is_dir() or looks_like_path:
        if not candidate.is_dir():
            raise ModelError(f"model folder '{name}' not found (looked at {candidate})")
        kind = _kind_of(candidate, name)
        check_safetensors(candidate, kind, name)
        return ModelRef(name, candidate, kind, "folder")
    folder, revision = _hub_snapshot(name)
    kind = _kind_of(folder, name)
    check_safetensors(folder, kind, name)
    return ModelRef(name, folder, kind, "hub", revision)


def resolve_vae(ref: ModelRef, value: str, base_dir: Path) -> ModelRef:
    """The model with its VAE replaced by `value` (relative to base_dir): a .safetensors file, in the
    original or diffusers layout, or a diffusers VAE folder. Checked from headers and JSON only."""
    path = (base_dir / Path(value).expanduser()).resolve()
    if ref.kind != "pipeline":
        raise ModelError(f"vae '{value}': `vae:` replaces a diffusion pipeline's VAE, and '{ref.name}' is an "
                         "autoencoder; use it with a text-to-image `model:`")
    if path.suffix in PICKLE_SUFFIXES:
        raise ModelError(f"vae '{value}' is a pickle; seqc loads safetensors only (unpickling can run any code)")
    if path.is_dir():
        _kind_of(path, value)  # a config.json naming an autoencoder class
        check_safetensors(path, "autoencoder", value)
        return replace(ref, vae=path)
    if not path.is_file():
        raise ModelError(f"vae '{value}' not found (looked at {path})")
    own = ref.path / "vae" / "config.json"
    own_class = json.loads(own.read_text()).get("_class_name") if own.is_file() else None
    if own_class != "AutoencoderKL":
        raise ModelError(f"vae '{value}': a VAE file replaces an AutoencoderKL, and the VAE of '{ref.name}' is "
                         f"{'an ' + own_class if own_class else 'not described in ' + str(own)}; give a VAE folder")
    try:
        found = recognise(read_header(path))
    except (CheckpointError, OSError) as exc:
        raise ModelError(f"vae '{value}' cannot be read: {exc}") from None
    if found.kind != "vae":
        raise ModelError(f"vae '{value}' is {found.what}, not a VAE"
                         + ("; name it in `model:`" if found.kind == "checkpoint" else ""))
    return replace(ref, vae=path)


def resolve_controlnet(ref: ModelRef, value: str, base_dir: Path) -> ModelRef:
    """The model with the ControlNet `value` (relative to base_dir): a .safetensors file, in the
    original or diffusers layout, or a diffusers ControlNet folder. Checked from headers and JSON only."""
    path = (base_dir / Path(value).expanduser()).resolve()
    if ref.kind != "pipeline":
        raise ModelError(f"controlnet '{value}': a ControlNet steers a diffusion pipeline, and '{ref.name}' is an "
                         "autoencoder; use it with a text-to-image `model:`")
    if path.suffix in PICKLE_SUFFIXES:
        raise ModelError(f"controlnet '{value}' is a pickle; seqc loads safetensors only (unpickling can run any code)")
    if not path.exists():
        raise ModelError(f"controlnet '{value}' not found (looked at {path})")
    files = weight_files(path, "autoencoder") if path.is_dir() else [path]
    try:
        keys = read_header(files[0]) if files else {}
    except (CheckpointError, OSError) as exc:
        raise ModelError(f"controlnet '{value}' cannot be read: {exc}") from None
    found = recognise(keys)
    if found.kind != "controlnet":
        raise ModelError(f"controlnet '{value}' is {'a folder without weights' if not keys else found.what}, "
                         "not a ControlNet")
    return replace(ref, controlnet=path)


def resolve_embeddings(ref: ModelRef, value: list, base_dir: Path) -> ModelRef:
    """The model with textual-inversion embeddings: each entry a .safetensors file (its token: the
    file's name without `.safetensors`, as A1111 uses it) or {path, token}. Checked from headers."""
    if ref.kind != "pipeline":
        raise ModelError(f"embeddings: they add words to a text-to-image model's prompts, and '{ref.name}' is an "
                         "autoencoder; use them with a text-to-image `model:`")
    found: list[tuple[str, Path]] = []
    for entry in value:
        text, token = (entry, None) if isinstance(entry, str) else (entry["path"], entry.get("token"))
        path = (base_dir / Path(text).expanduser()).resolve()
        token = token or path.stem
        if not path.is_file():
            raise ModelError(f"embedding '{text}' not found (looked at {path})")
        if path.suffix != ".safetensors":
            raise ModelError(f"embedding '{text}' is not a .safetensors file; seqc loads safetensors only")
        try:
            what = recognise(read_header(path))
        except (CheckpointError, OSError) as exc:
            raise ModelError(f"embedding '{text}' cannot be read: {exc}") from None
        if what.kind != "embedding":
            raise ModelError(f"embedding '{text}' is {what.what}, not a textual-inversion embedding")
        if token in [t for t, _ in found]:
            raise ModelError(f"embedding '{text}': the token '{token}' is taken by another embedding; "
                             "give one a `token:` of its own")
        found.append((token, path))
    return replace(ref, embeddings=tuple(found))


def _clean_config(data: object) -> object:
    if isinstance(data, dict):
        return {k: _clean_config(v) for k, v in data.items() if k not in _CONFIG_NOISE}
    return data


def fingerprint_inputs(ref: ModelRef, hash_file: Callable[[Path], str]) -> dict:
    """The named inputs of a model's fingerprint: configs without path noise, and weight hashes.

    The built-in autoencoder is its weights' sha256; a hub model is its snapshot commit; a folder
    (and the built-in pipeline, a folder in the package) is its configs plus each weight file's
    sha256; a single file is its config folder's configs plus the file's sha256 (hash_file
    memoises by path, size and mtime, so a multi-GB file is read once). Whatever the source, a
    `vae:`, `controlnet:` and `embeddings:` are in it too: they change every frame or prompt.
    """
    if ref.source == "builtin" and ref.kind == "autoencoder":
        files = weight_files(ref.path, ref.kind)
        return {"builtin": hash_file(files[0]) if files else ""}
    parts: dict = {name: _part_inputs(path, hash_file)
                   for name, path in (("vae", ref.vae), ("controlnet", ref.controlnet)) if path is not None}
    if ref.embeddings:  # they change every prompt that uses their token
        parts["embeddings"] = [[token, hash_file(path)] for token, path in ref.embeddings]
    if ref.source == "hub":
        return {"hub": ref.name, "revision": ref.revision, **parts}
    configs: dict = {}
    for config_file in sorted(ref.path.rglob("*.json")):
        rel = config_file.relative_to(ref.path).as_posix()
        try:
            configs[rel] = _clean_config(json.loads(config_file.read_text()))
        except (OSError, ValueError):
            configs[rel] = hash_file(config_file)
    for extra in sorted(ref.path.rglob("*.txt")):  # tokenizer merges and vocabularies
        configs[extra.relative_to(ref.path).as_posix()] = hash_file(extra)
    if ref.file is not None:  # the folder gives configs only; the weights are the file's
        return {"configs": configs, "file": hash_file(ref.file), **parts}
    weights = {p.relative_to(ref.path).as_posix(): hash_file(p) for p in weight_files(ref.path, ref.kind)}
    return {"configs": configs, "weights": weights, **parts}


def _part_inputs(path: Path, hash_file: Callable[[Path], str]) -> dict:
    """A replacement VAE's or a ControlNet's part of the fingerprint: a file's bytes, or a folder's
    config and weights."""
    if path.is_file():
        return {"file": hash_file(path)}
    config = _clean_config(json.loads((path / "config.json").read_text()))
    return {"config": config, "weights": {p.name: hash_file(p) for p in weight_files(path, "autoencoder")}}


def known_prompts(ref: ModelRef) -> list[str]:
    """The prompts a model lists in its folder's prompts.txt, one per line (builtin-emoji: the emoji names)."""
    if not ref.can_generate:
        raise ModelError(f"model '{ref.name}' is an autoencoder and draws no prompts; "
                         "`builtin-emoji` is the built-in model that does")
    listing = ref.path / "prompts.txt"
    if not listing.is_file():
        raise ModelError(f"model '{ref.name}' lists no prompts (no prompts.txt in {ref.path}); "
                         "a model trained on free text takes any prompt")
    try:
        return [line.strip() for line in listing.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"model '{ref.name}': cannot read {listing}: {exc}") from None
