"""Loads what a trained workdir holds, for the small CLIs (sample.py, show_attention.py, show_cells.py,
translate.py, classify.py, show_tree.py, tag.py)."""
import json
import os

import ml_collections

from configs import checks
from configs import renamed
import models
from data import labeled
from data import parallel
from data import tokenizers
from tasks import classification
from tasks import lm
from tasks import tagging
from tasks import translation
from training import checkpoint
from training import errors
from training import stored_params

PARAMS = ('best', 'latest')  # Which parameters of a classifier: see load_classifier.


def load_config(workdir: str):
  """The config a workdir was trained with (its config.json, with renamed keys upgraded)."""
  config_path = os.path.join(workdir, 'config.json')
  if not os.path.exists(config_path):
    raise errors.WorkdirError(f'{workdir!r} is not a training workdir: {config_path!r} does not exist.')
  with open(config_path) as f:
    return ml_collections.ConfigDict(renamed.upgrade(json.load(f)))


def newest_params(directory: str):
  """(params, step) of the newest checkpoint in `directory`."""
  step = None
  if os.path.isdir(directory):  # Checkpointer creates a missing directory: reading must leave the workdir as it is.
    ckpt = checkpoint.Checkpointer(directory)
    step = ckpt.latest_step()
  if step is None:
    raise errors.WorkdirError(f'No checkpoint in {directory!r} yet.')
  params = ckpt.restore_params(step)
  ckpt.close()
  return params, step


def load_lm(workdir: str):
  """(model, params, tokenizer, step) of a trained (not count-based) LM workdir's latest checkpoint."""
  config = load_config(workdir)
  if config.task.name != 'lm':
    raise errors.WorkdirError(f'{workdir!r} holds a {config.task.name!r} run; a language model needs task.name "lm".')
  tokenizer = tokenizers.load(lm.tokenizer_dir(workdir))
  if models.is_count_based(config.model.name):
    raise errors.WorkdirError(f'{workdir!r} holds a count-based {config.model.name!r} model, which has no parameters to load.')
  model = models.build(config.model, vocab_size=tokenizer.vocab_size, seq_len=config.data.seq_len)
  params, step = newest_params(checkpoint.directory(workdir))
  return model, params, tokenizer, step


def load_translator(workdir: str):
  """(config, model, params, source vocabulary, target vocabulary, step) of a translation workdir."""
  config = load_config(workdir)
  if config.task.name != 'translation':
    raise errors.WorkdirError(f'{workdir!r} holds a {config.task.name!r} run; translation needs task.name "translation".')
  directory = translation.vocab_dir(workdir)
  if not os.path.isdir(directory):
    raise errors.WorkdirError(f'No saved vocabularies in {directory!r}.')
  src_vocab, tgt_vocab = parallel.load_vocabularies(config.data, directory)
  model = models.build(config.model, src_vocab_size=src_vocab.vocab_size, tgt_vocab_size=tgt_vocab.vocab_size)
  params, step = newest_params(checkpoint.directory(workdir))
  return config, model, params, src_vocab, tgt_vocab, step


def _classifier_vocabulary(workdir: str) -> tokenizers.Vocabulary:
  """The workdir's own copy of its vocabulary (also when it was fine-tuned from a pretrained run's)."""
  return labeled.saved_vocabulary(classification.vocab_dir(workdir))


def load_classifier(workdir: str, which: str = 'best'):
  """(config, model, params, vocabulary, step) of a classification workdir.

  which: 'best', the parameters of the best validation evaluation (eval.select_metric), those the final
  evaluation in results.json used (from the workdir's stored_params.EXPORT_FILE when it has one); or 'latest',
  the latest checkpoint's.
  """
  checks.check_choice(which, PARAMS, 'params')
  config = load_config(workdir)
  if config.task.name != 'classification':
    raise errors.WorkdirError(f'{workdir!r} holds a {config.task.name!r} run; classifying needs task.name '
                              '"classification".')
  if which == 'best' and not config.eval.select_metric:
    raise errors.WorkdirError(f'{workdir!r} keeps no best parameters (its eval.select_metric is empty); '
                              'use --params=latest.')
  vocab = _classifier_vocabulary(workdir)
  exported = stored_params.load_export(workdir) if which == 'best' else None
  if exported:  # A sweep's teacher: the float16 export of its best parameters, on every machine.
    step, params = exported
  else:
    directory = stored_params.directory(workdir) if which == 'best' else checkpoint.directory(workdir)
    params, step = newest_params(directory)
  # Every classifier's last layer is params['output'] (classifiers.max_norm reads it there): its columns are
  # the classes, which config.json does not record.
  num_classes = params['output']['kernel'].shape[-1]
  model = models.build(config.model, vocab_size=vocab.vocab_size, num_classes=num_classes)
  return config, model, params, vocab, step


def load_tree_classifier(workdir: str):
  """(config, model, params, vocabulary, step) of a tree_classification workdir, with the parameters of its
  best validation evaluation (those its results.json was evaluated with)."""
  config = load_config(workdir)
  if config.task.name != 'tree_classification':
    raise errors.WorkdirError(f'{workdir!r} holds a {config.task.name!r} run; a tree model needs task.name '
                              '"tree_classification".')
  vocab = _classifier_vocabulary(workdir)
  params, step = newest_params(stored_params.directory(workdir) if config.eval.select_metric
                                else checkpoint.directory(workdir))
  num_classes = params['classify']['kernel'].shape[-1]  # The softmax layer's columns are the classes.
  model = models.build(config.model, vocab_size=vocab.vocab_size, num_classes=num_classes)
  return config, model, params, vocab, step


def load_tagger(workdir: str):
  """(config, model, params, word vocabulary, character vocabulary, tag sets, step) of a tag workdir, with the
  parameters of its best validation evaluation (those its results.json was evaluated with)."""
  config = load_config(workdir)
  if config.task.name != 'tag':
    raise errors.WorkdirError(f'{workdir!r} holds a {config.task.name!r} run; a tagger needs task.name "tag".')
  if not os.path.exists(os.path.join(workdir, tagging.TAGS_FILE)):
    raise errors.WorkdirError(f'{workdir!r} holds no {tagging.TAGS_FILE}.')
  vocab = _classifier_vocabulary(workdir)
  chars = tokenizers.Vocabulary(tokenizers.load(tagging.chars_dir(workdir)), tagging.CHAR_RESERVED)
  tags = tagging.load_tag_sets(workdir)
  params, step = newest_params(stored_params.directory(workdir) if config.eval.select_metric
                                else checkpoint.directory(workdir))
  model = models.build(config.model, vocab_size=vocab.vocab_size, num_upos=len(tags['upos']),
                       num_xpos=len(tags['xpos']), num_chars=chars.vocab_size)
  return config, model, params, vocab, chars, tags, step
