"""Train seqc's built-in text-to-image model (`model: builtin-emoji`) on the Noto emoji.

A diffusers Stable Diffusion pipeline in miniature: a `UNet2DConditionModel` (v-prediction)
and a `CLIPTextModel` trained together from scratch on the latents of seqc's built-in
autoencoder (`model: builtin`, 64x64 pixels <-> 8x16x16 latents, used as the pipeline's VAE,
so picture and prompt keyframes share one latent space), with a CLIP-format tokenizer learned
from the captions (tools/emoji_tokenizer.py). Data: tools/emoji_data.py (npm, fetched once).

Seeded and reproducible: every step draws its batch, captions, noise and timesteps from a
generator seeded with (seed, step), so a run resumed from a checkpoint continues exactly as an
unbroken one would (on the same thread count). `--minutes` bounds one sitting; the schedule's
length is `--steps`. A checkpoint is written atomically every `--checkpoint-minutes` and at the
end; a log line per `--log-every` steps goes to OUT/train_log.jsonl.

Usage::

    python tools/train_builtin_emoji.py --out out/emoji --steps 9000 --minutes 120   # trains, resumes
    python tools/train_builtin_emoji.py --out out/emoji --export seqc/backends/builtin_emoji
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: spin-waiting threads slow a busy CPU 10x

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import emoji_data  # noqa: E402
import emoji_tokenizer  # noqa: E402

BUILTIN_VAE = HERE.parent / "seqc" / "backends" / "builtin"
MAX_TOKENS = 32
TEXT_CONFIG = {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
               "max_position_embeddings": MAX_TOKENS, "projection_dim": 128}
UNET_CONFIG = {
    "sample_size": 16, "in_channels": 8, "out_channels": 8, "layers_per_block": 2,
    "block_out_channels": (32, 64, 128),
    "down_block_types": ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    "up_block_types": ("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    "cross_attention_dim": 128, "attention_head_dim": 8, "norm_num_groups": 32,
}
SCHEDULE = {"num_train_timesteps": 1000, "beta_start": 1e-4, "beta_end": 0.02, "beta_schedule": "linear",
            "prediction_type": "v_prediction"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("out/emoji-data"), help="npm cache folder for the pictures")
    parser.add_argument("--out", type=Path, default=Path("out/emoji"), help="checkpoints, log, latents")
    parser.add_argument("--steps", type=int, default=9000, help="length of the learning-rate schedule")
    parser.add_argument("--minutes", type=float, default=float("inf"), help="stop this sitting after so long")
    parser.add_argument("--stop-at", type=int, help="stop this sitting at this step (resume later)")
    parser.add_argument("--batch-size", type=int, default=48)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--ema", type=float, default=0.999, help="EMA decay of the exported weights")
    parser.add_argument("--drop-caption", type=float, default=0.1, help="share of empty captions (for guidance)")
    parser.add_argument("--snr-gamma", type=float, default=5.0, help="min-SNR loss weighting")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint-minutes", type=float, default=5.0)
    parser.add_argument("--log-every", type=int, default=25)
    parser.add_argument("--export", type=Path, help="write the pipeline folder from the checkpoint's EMA weights")
    return parser.parse_args(argv)


# -- data -------------------------------------------------------------------------------------

def prepare(args: argparse.Namespace) -> dict:
    """Fetch the pictures, choose the subset, learn the tokenizer, encode the latents (cached in OUT)."""
    data = emoji_data.fetch(args.data)
    chosen = emoji_data.curated(data)
    texts = [[t for t in emoji_data.captions(e)] for e in chosen]
    tokenizer = emoji_tokenizer.make_tokenizer([t for ts in texts for t in ts], args.out / "tokenizer", MAX_TOKENS)
    cache = args.out / "latents.pt"
    if cache.is_file():
        latents = torch.load(cache)
    else:
        latents = encode_pictures(data, chosen)
        torch.save(latents, cache)
    scaling = float(1.0 / latents.std())
    ids = [[tokenizer(t, padding="max_length", max_length=MAX_TOKENS, truncation=True).input_ids for t in ts]
           for ts in texts]
    empty = tokenizer("", padding="max_length", max_length=MAX_TOKENS).input_ids
    return {"emoji": chosen, "tokenizer": tokenizer, "latents": latents * scaling, "scaling": scaling,
            "ids": ids, "empty": empty}


@torch.no_grad()
def encode_pictures(data: Path, chosen: list) -> torch.Tensor:
    """The built-in autoencoder's latents [N, 8, 16, 16] of the chosen pictures (pixels in [-1, 1])."""
    from diffusers import AutoencoderTiny

    vae = AutoencoderTiny.from_pretrained(str(BUILTIN_VAE), use_safetensors=True).eval()
    pixels = np.stack([emoji_data.load_picture(data, e.image) for e in chosen])
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return torch.cat([vae.encode(x[i:i + 64]).latents for i in range(0, len(x), 64)])


# -- models -----------------------------------------------------------------------------------

def build_models(tokenizer, seed: int):
    """A fresh UNet and text encoder, initialised from `seed`."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    text_config = CLIPTextConfig(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                                 eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                                 **TEXT_CONFIG)
    return UNet2DConditionModel(**UNET_CONFIG), CLIPTextModel(text_config)


def noise_schedule():
    from diffusers import DDPMScheduler

    return DDPMScheduler(**SCHEDULE)


# -- training ---------------------------------------------------------------------------------

def learning_rate(args: argparse.Namespace, step: int) -> float:
    """Linear warm-up, then cosine decay to 5% of --lr at --steps."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def draw_batch(args: argparse.Namespace, prep: dict, step: int, schedule) -> tuple:
    """Step `step`'s batch: latents, token ids (some empty), timesteps and noise, from (seed, step)."""
    gen = torch.Generator().manual_seed(args.seed * 1_000_003 + step)
    count = len(prep["ids"])
    index = torch.randint(0, count, (args.batch_size,), generator=gen)
    choice = torch.rand(args.batch_size, generator=gen)
    drop = torch.rand(args.batch_size, generator=gen) < args.drop_caption
    ids = []
    for i, c, d in zip(index.tolist(), choice.tolist(), drop.tolist(), strict=True):
        options = prep["ids"][i]
        ids.append(prep["empty"] if d else options[int(c * len(options))])
    timesteps = torch.randint(0, schedule.config.num_train_timesteps, (args.batch_size,), generator=gen)
    noise = torch.randn((args.batch_size, *prep["latents"].shape[1:]), generator=gen)
    return prep["latents"][index], torch.tensor(ids), timesteps, noise


def loss_of(unet, text_encoder, schedule, batch: tuple, snr_gamma: float) -> torch.Tensor:
    """v-prediction MSE with min-SNR weighting (Hang et al. 2023) for one batch."""
    latents, ids, timesteps, noise = batch
    noisy = schedule.add_noise(latents, noise, timesteps)
    target = schedule.get_velocity(latents, noise, timesteps)
    states = text_encoder(ids)[0]
    prediction = unet(noisy, timesteps, encoder_hidden_states=states).sample
    alpha_bar = schedule.alphas_cumprod[timesteps]
    snr = alpha_bar / (1 - alpha_bar)
    weight = torch.clamp(snr, max=snr_gamma) / (snr + 1)
    per_sample = F.mse_loss(prediction, target, reduction="none").mean(dim=(1, 2, 3))
    return (weight * per_sample).mean()


def ema_update(ema: dict, models: dict, decay: float) -> None:
    with torch.no_grad():
        for name, model in models.items():
            for key, value in model.state_dict().items():
                if value.dtype.is_floating_point:
                    ema[name][key].mul_(decay).add_(value, alpha=1 - decay)
                else:
                    ema[name][key].copy_(value)


def save_checkpoint(path: Path, state: dict) -> None:
    """Write the checkpoint whole or not at all."""
    temp = path.with_suffix(".tmp")
    torch.save(state, temp)
    os.replace(temp, path)


def train(args: argparse.Namespace, prep: dict) -> int:
    """Train from OUT/checkpoint.pt (or from scratch) until --steps or --minutes; checkpoint as it goes."""
    # 1. Models, optimiser, EMA; resume if there is a checkpoint.
    unet, text_encoder = build_models(prep["tokenizer"], args.seed)
    models = {"unet": unet, "text": text_encoder}
    params = [p for m in models.values() for p in m.parameters()]
    optimiser = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    ema = {name: {k: v.detach().clone() for k, v in m.state_dict().items()} for name, m in models.items()}
    checkpoint = args.out / "checkpoint.pt"
    step = 0
    if checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False)
        unet.load_state_dict(state["unet"])
        text_encoder.load_state_dict(state["text"])
        optimiser.load_state_dict(state["optimiser"])
        ema, step = state["ema"], state["step"]
        print(f"resumed at step {step}", flush=True)
    schedule = noise_schedule()
    print(f"{len(prep['ids'])} pictures; UNet {sum(p.numel() for p in unet.parameters()):,} parameters, "
          f"text encoder {sum(p.numel() for p in text_encoder.parameters()):,}", flush=True)

    # 2. The loop, with a log line every --log-every steps and a checkpoint every few minutes.
    started = last_save = time.monotonic()
    window: list[float] = []
    window_started = time.monotonic()
    with (args.out / "train_log.jsonl").open("a") as log:
        last = min(args.steps, args.stop_at or args.steps)
        while step < last and time.monotonic() - started < args.minutes * 60:
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(args, step)
            loss = loss_of(unet, text_encoder, schedule, draw_batch(args, prep, step, schedule), args.snr_gamma)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimiser.step()
            step += 1
            ema_update(ema, models, min(args.ema, (1 + step) / (10 + step)))
            window.append(loss.item())
            if step % args.log_every == 0:
                rate = len(window) * args.batch_size / (time.monotonic() - window_started)
                record = {"step": step, "loss": round(sum(window) / len(window), 5), "lr": learning_rate(args, step),
                          "samples_per_s": round(rate, 1), "time": time.time(), "load": os.getloadavg()[0]}
                log.write(json.dumps(record) + "\n")
                log.flush()
                print(json.dumps(record), flush=True)
                window, window_started = [], time.monotonic()
            if time.monotonic() - last_save > args.checkpoint_minutes * 60 or step == args.steps:
                save_checkpoint(checkpoint, {"step": step, "unet": unet.state_dict(), "text": text_encoder.state_dict(),
                                             "optimiser": optimiser.state_dict(), "ema": ema, "args": vars(args)})
                last_save = time.monotonic()
    save_checkpoint(checkpoint, {"step": step, "unet": unet.state_dict(), "text": text_encoder.state_dict(),
                                 "optimiser": optimiser.state_dict(), "ema": ema, "args": vars(args)})
    print(f"stopped at step {step} of {args.steps}", flush=True)
    return step


# -- export -----------------------------------------------------------------------------------

def export(args: argparse.Namespace, prep: dict, folder: Path) -> None:
    """Write the diffusers pipeline folder: fp16 UNet and text encoder (EMA), the fp32 built-in VAE, prompts."""
    from diffusers import AutoencoderTiny, EulerDiscreteScheduler, StableDiffusionPipeline

    state = torch.load(args.out / "checkpoint.pt", weights_only=False)
    unet, text_encoder = build_models(prep["tokenizer"], args.seed)
    unet.load_state_dict(state["ema"]["unet"])
    text_encoder.load_state_dict(state["ema"]["text"])
    vae = AutoencoderTiny.from_pretrained(str(BUILTIN_VAE), use_safetensors=True, scaling_factor=prep["scaling"])
    scheduler = EulerDiscreteScheduler(**SCHEDULE, timestep_spacing="trailing", steps_offset=1)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder.half(), tokenizer=prep["tokenizer"],
                                   unet=unet.half(), scheduler=scheduler, safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(str(folder), safe_serialization=True)
    (folder / "prompts.txt").write_text("".join(e.name + "\n" for e in prep["emoji"]))
    run = {"steps": state["step"], "schedule_steps": state["args"]["steps"], "pictures": len(prep["emoji"]),
           "batch_size": state["args"]["batch_size"], "seed": state["args"]["seed"],
           "latent_scaling_factor": prep["scaling"]}
    (args.out / "export.json").write_text(json.dumps(run, indent=2) + "\n")
    print(f"exported step {state['step']} to {folder}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    prep = prepare(args)
    if args.export:
        export(args, prep, args.export)
        return 0
    train(args, prep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
