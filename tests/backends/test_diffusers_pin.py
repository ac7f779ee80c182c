"""The diffusers helpers seqc/backends/pipeline.py calls from its own img2img loop (a copy of diffusers
0.42's img2img pipelines, which cannot take given noise) still take the arguments it passes.

A diffusers upgrade that renames or reorders one of them fails here, by name, instead of in a render.
Each check binds the call exactly as pipeline.py makes it (argument names, positions) to the
signature of the installed version; nothing is loaded.
"""

from __future__ import annotations

import inspect

import pytest

diffusers = pytest.importorskip("diffusers")

from seqc.backends.pipeline_info import SCHEDULERS  # noqa: E402

PIPELINES = [diffusers.StableDiffusionPipeline, diffusers.StableDiffusionXLPipeline]
SELF, ANY = object(), object()  # placeholders: only the shape of each call matters


def binds(func, *args, **kwargs) -> None:
    """Fail unless `func(*args, **kwargs)` binds to func's signature (self counted in args)."""
    try:
        inspect.signature(func).bind(*args, **kwargs)
    except TypeError as exc:
        pytest.fail(f"diffusers {diffusers.__version__}: {func.__qualname__}{inspect.signature(func)} no longer "
                    f"takes the call seqc/backends/pipeline.py makes ({exc})")


@pytest.mark.parametrize("cls", PIPELINES, ids=lambda cls: cls.__name__)
def test_the_pipeline_helpers_of_the_img2img_loop_take_its_arguments(cls):
    binds(cls.prepare_extra_step_kwargs, SELF, [ANY], 0.0)
    binds(cls.get_guidance_scale_embedding, SELF, ANY, embedding_dim=256)
    assert list(inspect.signature(cls.prepare_extra_step_kwargs).parameters)[1:] == ["generator", "eta"]


def test_prompts_are_encoded_with_the_arguments_pipeline_py_passes():
    sd, sdxl = PIPELINES
    binds(sd.encode_prompt, SELF, "a prompt", ANY, 1, True, negative_prompt=None)
    assert list(inspect.signature(sd.encode_prompt).parameters)[1:5] == [
        "prompt", "device", "num_images_per_prompt", "do_classifier_free_guidance"]
    binds(sdxl.encode_prompt, SELF, prompt="a prompt", device=ANY, num_images_per_prompt=1,
          do_classifier_free_guidance=True, negative_prompt=None)


def test_the_unet_takes_the_loops_keywords():
    binds(diffusers.UNet2DConditionModel.forward, SELF, ANY, ANY, encoder_hidden_states=ANY, timestep_cond=None,
          added_cond_kwargs=None, return_dict=False)


@pytest.mark.parametrize("class_name", sorted({name for name, _ in SCHEDULERS.values()} | {"PNDMScheduler"}))
def test_every_scheduler_steps_as_the_loop_calls_it(class_name):
    cls = getattr(diffusers, class_name)
    binds(cls.set_timesteps, SELF, 4, device=ANY)
    if hasattr(cls, "set_begin_index"):  # not every scheduler has one (DDIM, PNDM); the loop asks the same way
        binds(cls.set_begin_index, SELF, 0)
    binds(cls.add_noise, SELF, ANY, ANY, ANY)
    binds(cls.scale_model_input, SELF, ANY, ANY)
    binds(cls.step, SELF, ANY, ANY, ANY, return_dict=False)  # plus what prepare_extra_step_kwargs finds in it
