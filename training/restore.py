"""Loads what a trained language-model workdir holds, for the small CLIs (sample.py, show_attention.py)."""
import json
import os

import ml_collections

import models
from data import tokenizers
from tasks import lm
from training import checkpoint
from training import loop


def load_lm(workdir: str):
  """(model, params, tokenizer, step) of a trained (not count-based) LM workdir's latest checkpoint."""
  config_path = os.path.join(workdir, 'config.json')
  if not os.path.exists(config_path):
    raise FileNotFoundError(f'{workdir!r} is not a training workdir: {config_path!r} does not exist.')
  with open(config_path) as f:
    config = ml_collections.ConfigDict(json.load(f))
  if config.task.name != 'lm':
    raise ValueError(f'{workdir!r} holds a {config.task.name!r} run; a language model needs task.name "lm".')
  tokenizer = tokenizers.load(lm.tokenizer_dir(workdir))
  model = models.build(config.model, vocab_size=tokenizer.vocab_size, seq_len=config.data.seq_len)
  if getattr(model, 'count_based', False):
    raise ValueError(f'{workdir!r} holds a count-based {config.model.name!r} model, which has no parameters to load.')
  ckpt = checkpoint.Checkpointer(loop.ckpt_dir(workdir))
  step = ckpt.latest_step()
  if step is None:
    raise FileNotFoundError(f'No checkpoint in {loop.ckpt_dir(workdir)!r} yet.')
  return model, ckpt.restore_params(step), tokenizer, step
