"""Loads what a trained workdir holds, for the small CLIs (sample.py, show_attention.py, translate.py)."""
import json
import os

import ml_collections

from configs import renamed
import models
from data import parallel
from data import tokenizers
from tasks import lm
from tasks import translation
from training import checkpoint
from training import errors


def _load_config(workdir: str):
  config_path = os.path.join(workdir, 'config.json')
  if not os.path.exists(config_path):
    raise errors.WorkdirError(f'{workdir!r} is not a training workdir: {config_path!r} does not exist.')
  with open(config_path) as f:
    return ml_collections.ConfigDict(renamed.upgrade(json.load(f)))


def _latest_params(workdir: str):
  ckpt = checkpoint.Checkpointer(checkpoint.directory(workdir))
  step = ckpt.latest_step()
  if step is None:
    raise errors.WorkdirError(f'No checkpoint in {checkpoint.directory(workdir)!r} yet.')
  return ckpt.restore_params(step), step


def load_lm(workdir: str):
  """(model, params, tokenizer, step) of a trained (not count-based) LM workdir's latest checkpoint."""
  config = _load_config(workdir)
  if config.task.name != 'lm':
    raise errors.WorkdirError(f'{workdir!r} holds a {config.task.name!r} run; a language model needs task.name "lm".')
  tokenizer = tokenizers.load(lm.tokenizer_dir(workdir))
  if models.is_count_based(config.model.name):
    raise errors.WorkdirError(f'{workdir!r} holds a count-based {config.model.name!r} model, which has no parameters to load.')
  model = models.build(config.model, vocab_size=tokenizer.vocab_size, seq_len=config.data.seq_len)
  params, step = _latest_params(workdir)
  return model, params, tokenizer, step


def load_translator(workdir: str):
  """(config, model, params, source vocabulary, target vocabulary, step) of a translation workdir."""
  config = _load_config(workdir)
  if config.task.name != 'translation':
    raise errors.WorkdirError(f'{workdir!r} holds a {config.task.name!r} run; translation needs task.name "translation".')
  directory = translation.vocab_dir(workdir)
  if not os.path.isdir(directory):
    raise errors.WorkdirError(f'No saved vocabularies in {directory!r}.')
  src_vocab, tgt_vocab = parallel.load_vocabularies(config.data, directory)
  model = models.build(config.model, src_vocab_size=src_vocab.vocab_size, tgt_vocab_size=tgt_vocab.vocab_size)
  params, step = _latest_params(workdir)
  return config, model, params, src_vocab, tgt_vocab, step
