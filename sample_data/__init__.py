"""Sample upload, its generator, and the end-to-end demo."""
