"""seqc: compile a YAML storyboard into a video by latent-space interpolation."""

__version__ = "0.1.0"
