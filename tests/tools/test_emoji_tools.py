"""The builtin-emoji training tools on a stand-in of the npm data: the tokenizer makes every caption
word one token, training is reproducible and resumes exactly, and the export is a pipeline folder
seqc loads and draws with. (The real data come from npm and the real run takes hours; the model it
made is tested in tests/backends/test_builtin_emoji.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tools import emoji_data, emoji_tokenizer, train_builtin_emoji  # noqa: E402

FAKE = [  # (name, short names, subcategory, colour)
    ("CAT FACE", ["cat"], "animal-mammal", (240, 180, 40)),
    ("DOG FACE", ["dog"], "animal-mammal", (150, 100, 60)),
    ("SNOWMAN WITHOUT SNOW", ["snowman_without_snow"], "sky & weather", (200, 220, 255)),
    ("RED APPLE", ["apple"], "food-fruit", (220, 30, 30)),
    ("WAVING HAND SIGN", ["wave"], "hand-fingers-open", (250, 200, 60)),  # not in the curated subset
]


@pytest.fixture(scope="module")
def npm_folder(tmp_path_factory) -> Path:
    """node_modules/emoji-datasource{,-google} with FAKE's entries and 64x64 transparent PNGs."""
    from PIL import Image, ImageDraw

    folder = tmp_path_factory.mktemp("npm")
    pictures = folder / emoji_data.PICTURE_DIR
    pictures.mkdir(parents=True)
    entries = []
    for i, (name, short, subcategory, colour) in enumerate(FAKE):
        image = f"{i:04x}.png"
        picture = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
        ImageDraw.Draw(picture).ellipse((8 + i, 8, 56, 56 - i), fill=(*colour, 255))
        picture.save(pictures / image)
        entries.append({"name": name, "short_name": short[0], "short_names": short, "image": image,
                        "category": "x", "subcategory": subcategory, "sort_order": i, "has_img_google": True})
    (folder / emoji_data.NAMES_FILE).parent.mkdir(parents=True)
    (folder / emoji_data.NAMES_FILE).write_text(json.dumps(entries))
    return folder


def test_the_curated_subset_and_its_captions(npm_folder):
    chosen = emoji_data.curated(npm_folder)
    assert [e.name for e in chosen] == ["cat face", "dog face", "snowman without snow", "red apple"]
    assert emoji_data.captions(chosen[2]) == ["snowman without snow"]
    assert emoji_data.captions(chosen[0]) == ["cat face", "cat", "cat face cat"]
    picture = emoji_data.load_picture(npm_folder, chosen[0].image)
    assert picture.shape == (64, 64, 3) and tuple(picture[0, 0]) == (255, 255, 255)  # transparent -> white


def test_every_caption_word_is_one_token_and_unknown_text_falls_back(tmp_path):
    texts = ["cat face", "grinning cat face with smiling eyes", "snowman without snow", "flag: japan"]
    tokenizer = emoji_tokenizer.make_tokenizer(texts, tmp_path / "tok", 16)
    for text in texts:
        words = emoji_tokenizer.WORD_PATTERN.findall(text)
        assert len(tokenizer.tokenize(text)) == len(words), text
    assert len(tokenizer.tokenize("snowcat")) > 1  # not a caption word: pieces
    from transformers import CLIPTokenizer

    again = CLIPTokenizer.from_pretrained(str(tmp_path / "tok"))
    assert again("cat face").input_ids == tokenizer("cat face").input_ids


def tiny_run(npm_folder: Path, out: Path, *extra: str) -> int:
    return train_builtin_emoji.main(["--data", str(npm_folder), "--out", str(out), "--steps", "4",
                                     "--batch-size", "3", "--threads", "1", "--warmup", "2", "--log-every", "1",
                                     *extra])


def weights(out: Path) -> dict:
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    return {**{f"unet.{k}": v for k, v in state["unet"].items()}, **{f"ema.{k}": v for k, v in state["ema"]["unet"].items()}}


def test_training_is_reproducible_and_resumes_exactly(npm_folder, tmp_path):
    tiny_run(npm_folder, tmp_path / "a")
    tiny_run(npm_folder, tmp_path / "b", "--stop-at", "2")
    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)["step"] == 2
    tiny_run(npm_folder, tmp_path / "b")  # resumes at step 2
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    log = [json.loads(line) for line in (tmp_path / "b" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    tiny_run(npm_folder, tmp_path / "c", "--seed", "1")
    c = weights(tmp_path / "c")
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_the_export_is_a_pipeline_folder_seqc_draws_with(npm_folder, tmp_path):
    from seqc.backends.pipeline import PipelineBackend
    from seqc.models import known_prompts, resolve_model

    tiny_run(npm_folder, tmp_path / "run")
    tiny_run(npm_folder, tmp_path / "run", "--export", str(tmp_path / "model"))
    ref = resolve_model("./model", tmp_path)
    assert ref.kind == "pipeline"
    assert known_prompts(ref) == ["cat face", "dog face", "snowman without snow", "red apple"]
    backend = PipelineBackend(ref, device="cpu", dtype="float32")
    cond = backend.encode_prompt("cat face")
    frames = backend.generate(backend.initial_noise(0, (64, 64))[None], {k: v[None] for k, v in cond.items()},
                              2, 5.0, (64, 64))
    assert frames.shape == (1, 64, 64, 3) and frames.dtype == np.uint8
