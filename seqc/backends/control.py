"""A ControlNet on a loaded pipeline (Capability.CONTROL): the residuals it adds to each UNet call.

Within a block the backend follows some control pictures (a segment's two ends'); each frame says
how strongly it follows each, in its conditioning's `control_scales` [B, pictures], so one batch
can hold frames at different scales. A UNet call then gets the sum of the ControlNet's residuals
for each picture at its scale (diffusers' MultiControlNet arithmetic): at a segment's ends exactly
one keyframe's picture, between them both, fading. Residuals are blended rather than pictures,
because a ControlNet was never shown two half-bright edge maps over each other. A picture at
scale 0 for every frame of a call costs nothing and adds nothing: the frame is the model's own.
The control pictures enter in [0, 1], as diffusers' ControlNet pipelines prepare them, and under
classifier-free guidance both halves follow them (not "guess mode").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from seqc.backends.protocol import CONTROL_SCALES  # noqa: F401 - where callers of this module find it


@dataclass
class Hints:
    """The control pictures of a block, ready for the ControlNet: [n, 3, H, W] in [0, 1]."""

    net: torch.nn.Module
    pictures: torch.Tensor

    def residuals(self, model_input: torch.Tensor, t, unet_kwargs: dict, scales: torch.Tensor | None,
                  do_cfg: bool) -> dict:
        """The UNet's extra arguments for one call: the ControlNet's residuals for each picture at each
        frame's scale, summed ({} where every scale is 0). `scales` [B, n]; under guidance the
        model input holds both halves, so the pictures and scales are repeated for them."""
        if scales is None:
            return {}
        batch = scales.shape[0]
        down: list[torch.Tensor] | None = None
        mid: torch.Tensor | None = None
        for i in range(self.pictures.shape[0]):
            if not bool((scales[:, i] != 0).any()):
                continue
            picture = self.pictures[i:i + 1].expand(batch, -1, -1, -1)
            scale = scales[:, i].reshape(batch, 1, 1, 1).to(model_input.dtype)
            if do_cfg:
                picture, scale = torch.cat([picture] * 2), torch.cat([scale] * 2)
            new_down, new_mid = self.net(
                model_input, t, encoder_hidden_states=unet_kwargs["encoder_hidden_states"],
                controlnet_cond=picture.to(model_input.dtype), conditioning_scale=scale,
                added_cond_kwargs=unet_kwargs["added_cond_kwargs"], return_dict=False)
            down = list(new_down) if down is None else [a + b for a, b in zip(down, new_down, strict=True)]
            mid = new_mid if mid is None else mid + new_mid
        if down is None:
            return {}
        return {"down_block_additional_residuals": down, "mid_block_additional_residual": mid}


class ControlState:
    """The ControlNet of one backend and the control pictures of the block running (if any)."""

    def __init__(self, net: torch.nn.Module | None, device: torch.device):
        self.net, self.device = net, device
        self._stack: list[Hints] = []

    @property
    def hints(self) -> Hints | None:
        """The innermost block's pictures, or None outside any block."""
        return self._stack[-1] if self._stack else None

    @contextmanager
    def pictures(self, images: Sequence[np.ndarray]) -> Iterator[None]:
        """Follow these uint8 pictures [H, W, 3] within the block (no ControlNet: a ValueError)."""
        if self.net is None:
            raise ValueError("this model has no ControlNet (`controlnet:`)")
        stacked = np.stack([np.asarray(image, dtype=np.float32) / 255.0 for image in images])
        tensor = torch.from_numpy(stacked).permute(0, 3, 1, 2).contiguous().to(self.device)
        self._stack.append(Hints(self.net, tensor))
        try:
            yield
        finally:
            self._stack.pop()
