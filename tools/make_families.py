"""Write the configs seqc ships for single-file checkpoints (seqc/families) and the CLIP tokenizer.

A checkpoint downloaded as one file holds weights only; diffusers needs each model's config and
the tokenizer's vocabulary to load it, and would fetch them from the hub. seqc ships them instead.
The architecture numbers below are the published ones of each family (the original training
configs: channels, heads, depths, context sizes, noise schedule); `tests/test_families.py` checks
them against the parameter counts the model cards state. The tokenizer is derived from OpenAI
CLIP's BPE file (MIT), which the `open_clip_torch` wheel ships:

    pip download --no-deps open_clip_torch -d /tmp/oc && unzip -o -d /tmp/oc /tmp/oc/*.whl
    python tools/make_families.py --bpe /tmp/oc/open_clip/bpe_simple_vocab_16e6.txt.gz

Without --bpe only the configs are written. Stdlib only.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "seqc" / "families"

SCHEDULE = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000,
            "steps_offset": 1, "timestep_spacing": "leading", "interpolation_type": "linear",
            "use_karras_sigmas": False, "trained_betas": None}
VAE = {"act_fn": "silu", "block_out_channels": [128, 256, 512, 512], "down_block_types": ["DownEncoderBlock2D"] * 4,
       "up_block_types": ["UpDecoderBlock2D"] * 4, "in_channels": 3, "out_channels": 3, "latent_channels": 4,
       "layers_per_block": 2, "norm_num_groups": 32}
UNET = {"act_fn": "silu", "center_input_sample": False, "downsample_padding": 1, "flip_sin_to_cos": True,
        "freq_shift": 0, "in_channels": 4, "out_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1,
        "norm_eps": 1e-05, "norm_num_groups": 32}
SD_UNET = {**UNET, "block_out_channels": [320, 640, 1280, 1280],
           "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
           "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3}


def clip_text(cls: str, hidden: int, layers: int, heads: int, act: str, projection: int) -> dict:
    """A transformers CLIP text encoder config (CLIP ViT-L/14, OpenCLIP ViT-H/14 or bigG/14)."""
    return {"architectures": [cls], "model_type": "clip_text_model", "hidden_size": hidden,
            "intermediate_size": 4 * hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
            "hidden_act": act, "projection_dim": projection, "vocab_size": 49408, "max_position_embeddings": 77,
            "layer_norm_eps": 1e-05, "attention_dropout": 0.0, "initializer_factor": 1.0,
            "initializer_range": 0.02, "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1}


CLIP_L = clip_text("CLIPTextModel", 768, 12, 12, "quick_gelu", 768)
# SD 2.x conditions on OpenCLIP ViT-H's penultimate layer: diffusers' config keeps 23 of its 24.
OPENCLIP_H = clip_text("CLIPTextModel", 1024, 23, 16, "gelu", 512)
OPENCLIP_BIGG = clip_text("CLIPTextModelWithProjection", 1280, 32, 20, "gelu", 1280)
PAD_OPENCLIP = {"pad_token": "!"}  # OpenCLIP pads with token 0, CLIP with <|endoftext|>


def sd_family(cross: int, heads: object, text: dict, prediction: str, sample: int, pad: dict, **unet: object) -> dict:
    """The files of a Stable Diffusion 1.x/2.x config folder."""
    return {
        "model_index.json": {"_class_name": "StableDiffusionPipeline", "requires_safety_checker": False,
                             "safety_checker": [None, None], "feature_extractor": [None, None],
                             "image_encoder": [None, None],
                             "scheduler": ["diffusers", "EulerDiscreteScheduler"],
                             "text_encoder": ["transformers", "CLIPTextModel"],
                             "tokenizer": ["transformers", "CLIPTokenizer"],
                             "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]},
        "scheduler/scheduler_config.json": {"_class_name": "EulerDiscreteScheduler", **SCHEDULE,
                                            "prediction_type": prediction},
        "unet/config.json": {"_class_name": "UNet2DConditionModel", **SD_UNET, "cross_attention_dim": cross,
                             "attention_head_dim": heads, "sample_size": sample // 8, **unet},
        "vae/config.json": {"_class_name": "AutoencoderKL", **VAE, "sample_size": sample, "scaling_factor": 0.18215},
        "text_encoder/config.json": text,
        "tokenizer/tokenizer_config.json": pad,
    }


SDXL = {
    "model_index.json": {"_class_name": "StableDiffusionXLPipeline", "force_zeros_for_empty_prompt": True,
                         "feature_extractor": [None, None], "image_encoder": [None, None],
                         "scheduler": ["diffusers", "EulerDiscreteScheduler"],
                         "text_encoder": ["transformers", "CLIPTextModel"],
                         "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
                         "tokenizer": ["transformers", "CLIPTokenizer"],
                         "tokenizer_2": ["transformers", "CLIPTokenizer"],
                         "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]},
    "scheduler/scheduler_config.json": {"_class_name": "EulerDiscreteScheduler", **SCHEDULE,
                                        "prediction_type": "epsilon"},
    "unet/config.json": {"_class_name": "UNet2DConditionModel", **UNET, "block_out_channels": [320, 640, 1280],
                         "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
                         "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
                         "transformer_layers_per_block": [1, 2, 10], "attention_head_dim": [5, 10, 20],
                         "cross_attention_dim": 2048, "use_linear_projection": True,
                         "addition_embed_type": "text_time", "addition_time_embed_dim": 256,
                         "projection_class_embeddings_input_dim": 2816, "sample_size": 128},
    "vae/config.json": {"_class_name": "AutoencoderKL", **VAE, "sample_size": 1024, "scaling_factor": 0.13025,
                        "force_upcast": True},
    "text_encoder/config.json": CLIP_L,
    "text_encoder_2/config.json": OPENCLIP_BIGG,
    "tokenizer/tokenizer_config.json": {},
    "tokenizer_2/tokenizer_config.json": PAD_OPENCLIP,
}

FAMILIES = {
    "sd1": sd_family(768, 8, CLIP_L, "epsilon", 512, {}),
    # SD 2.0-v and 2.1 (768 px, v-prediction) are what an SD 2.x file usually is; 2.x-base is 512 px, epsilon.
    "sd2": sd_family(1024, [5, 10, 20, 20], OPENCLIP_H, "v_prediction", 768, PAD_OPENCLIP,
                     use_linear_projection=True, upcast_attention=True),
    "sd2-base": sd_family(1024, [5, 10, 20, 20], OPENCLIP_H, "epsilon", 512, PAD_OPENCLIP,
                          use_linear_projection=True),
    "sdxl": SDXL,
}


def bytes_to_unicode() -> dict[int, str]:
    """CLIP's (and GPT-2's) reversible map from bytes to printable characters."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = [b for b in range(256) if b not in printable]
    return {b: chr(b) for b in printable} | {b: chr(256 + i) for i, b in enumerate(extra)}


def write_tokenizer(bpe_gz: Path, out: Path) -> None:
    """vocab.json and merges.txt as transformers' CLIPTokenizer reads them, from CLIP's BPE merges:
    the 256 byte symbols, each again with the end-of-word mark, one token per merge (the first
    48,894, as CLIP uses), then the start and end tokens: 49,408 in all."""
    lines = gzip.open(bpe_gz).read().decode("utf-8").split("\n")
    merges = [line.split() for line in lines[1:48895]]
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    assert len(tokens) == 49408 and all(len(m) == 2 for m in merges)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False),
                                    encoding="utf-8")
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n",
                                    encoding="utf-8")
    config = {"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": True,
              "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
              "pad_token": "<|endoftext|>", "add_prefix_space": False, "errors": "replace"}
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bpe", type=Path, help="CLIP's bpe_simple_vocab_16e6.txt.gz (writes the tokenizer)")
    args = parser.parse_args()
    for family, files in FAMILIES.items():
        for rel, data in files.items():
            path = ROOT / family / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    if args.bpe:
        write_tokenizer(args.bpe, ROOT / "clip")


if __name__ == "__main__":
    main()
