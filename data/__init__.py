"""Datasets, tokenizers and batching. numpy in, numpy out: no jax here."""
