"""Inference engines: ``local`` (CPU, packaged models), ``whisper`` (user-supplied weights) and
``triton`` (remote Triton Inference Servers)."""
