"""Tiny, offline Stable Diffusion pipelines with random weights, for the pipeline backend's tests.

`make_tiny_sd(folder)` and `make_tiny_sdxl(folder)` build a real diffusers pipeline from
configs alone (no download): CLIP text encoder(s) with two layers of width 32, a CLIP
tokenizer over a byte-level vocabulary (every byte, so any prompt tokenizes), a small
`UNet2DConditionModel`, a small `AutoencoderKL` with the Stable Diffusion latent layout
(4 channels, 8x down-sampling) and an `EulerDiscreteScheduler` with Stable Diffusion's
noise schedule. They are saved with `save_pretrained(safe_serialization=True)`, so they load
exactly like a user's model folder: `DiffusionPipeline.from_pretrained(folder,
use_safetensors=True, local_files_only=True)`. At 64x64 the latent is 8x8, and 2 steps with guidance
take about a tenth of a second on one CPU thread.

The weights are random (seeded), so the pictures are noise: tests check shapes, determinism
and the arithmetic of the generation path, never what the pictures look like.
"""

from __future__ import annotations

from pathlib import Path

MAX_TOKENS = 77  # CLIP's sequence length, as in the real models
TEXT_WIDTH = 32


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible map from the 256 byte values to printable unicode characters."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def tiny_vocab() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A byte-level BPE vocabulary (each byte alone and word-final) plus a few merges."""
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols]
    merges = [("a", "t</w>"), ("c", "at</w>"), ("d", "o"), ("do", "g</w>"), ("t", "h"), ("th", "e</w>")]
    tokens += [a + b for a, b in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {token: index for index, token in enumerate(tokens)}, merges


def _tokenizer():
    from transformers import CLIPTokenizer

    vocab, merges = tiny_vocab()
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=MAX_TOKENS)


def _text_config(vocab_size: int, projection_dim: int | None = None, width: int = TEXT_WIDTH, layers: int = 2):
    from transformers import CLIPTextConfig

    extra = {} if projection_dim is None else {"projection_dim": projection_dim}
    return CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=width, intermediate_size=64, num_hidden_layers=layers,
        num_attention_heads=4, max_position_embeddings=MAX_TOKENS, bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1, hidden_act="gelu", **extra,
    )


def _vae():
    from diffusers import AutoencoderKL

    # Four blocks: three down-samplings, so 64x64 pixels <-> 8x8 latents, like Stable Diffusion.
    # The scaling factor brings this random encoder's latents to a standard deviation near 1, as
    # SD's 0.18215 does for its trained VAE, so noise and image weigh in img2img as they do there.
    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
        block_out_channels=(16, 32, 32, 32), norm_num_groups=8, sample_size=64, scaling_factor=3.0,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    )


def _scheduler():
    from diffusers import EulerDiscreteScheduler

    # Stable Diffusion's schedule; Euler's init_noise_sigma is not 1, which the tests rely on.
    return EulerDiscreteScheduler(
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        steps_offset=1, timestep_spacing="leading",
    )


def make_tiny_sd(folder: Path, seed: int = 0) -> Path:
    """Build and save a tiny `StableDiffusionPipeline` in `folder`; return the folder."""
    import torch
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    # 1. Seed every random initialisation, so the folder's weights are the same on every run.
    torch.manual_seed(seed)

    # 2. Text side: tokenizer and a 2-layer CLIP text encoder of width 32.
    tokenizer = _tokenizer()
    text_encoder = CLIPTextModel(_text_config(len(tokenizer)))

    # 3. The denoiser: one cross-attention level and one plain level.
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), norm_num_groups=8, cross_attention_dim=TEXT_WIDTH,
        attention_head_dim=8,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    )

    # 4. Assemble and save (safetensors only; no safety checker).
    pipe = StableDiffusionPipeline(
        vae=_vae(), text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=_scheduler(),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    folder = Path(folder)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def make_tiny_sdxl(folder: Path, seed: int = 0, single_file_ready: bool = False) -> Path:
    """Build and save a tiny `StableDiffusionXLPipeline` in `folder`; return the folder.

    Two text encoders (`CLIPTextModel` and `CLIPTextModelWithProjection`, whose pooled
    projection feeds the UNet's `text_time` embedding with the six size ids). `single_file_ready`:
    the second encoder 48 wide and 10 layers deep, because diffusers tells SDXL's encoders apart in
    a single file by width and knows SDXL by the key of its 10th OpenCLIP layer (tests/ldmfile.py).
    """
    import torch
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    # 1. Seed every random initialisation.
    torch.manual_seed(seed)

    # 2. Text side: two tokenizers and encoders; the second one has a projection (pooled output).
    tokenizer, tokenizer_2 = _tokenizer(), _tokenizer()
    text_encoder = CLIPTextModel(_text_config(len(tokenizer)))
    width, layers = (48, 10) if single_file_ready else (TEXT_WIDTH, 2)
    text_encoder_2 = CLIPTextModelWithProjection(
        _text_config(len(tokenizer), projection_dim=width, width=width, layers=layers))

    # 3. The denoiser: cross-attention over both encoders' hidden states (32 + 32), and the
    #    added embedding of pooled text (32) plus 6 size ids x 8 (time_ids).
    time_embed_dim = 8
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(32, 64), norm_num_groups=8, cross_attention_dim=TEXT_WIDTH + width,
        attention_head_dim=8, use_linear_projection=True,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        addition_embed_type="text_time", addition_time_embed_dim=time_embed_dim,
        projection_class_embeddings_input_dim=6 * time_embed_dim + width,
    )

    # 4. Assemble and save.
    pipe = StableDiffusionXLPipeline(
        vae=_vae(), text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=tokenizer,
        tokenizer_2=tokenizer_2, unet=unet, scheduler=_scheduler(), force_zeros_for_empty_prompt=True,
        add_watermarker=False,
    )
    folder = Path(folder)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder
