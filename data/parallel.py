"""Parallel corpora for translation: line-aligned files, vocabularies and batches.

A corpus is one pair of line-aligned files per split (sentence i of the source
file translates sentence i of the target file). Ids reserve PAD = 0, BOS = 1 and
EOS = 2 before those of whichever tokenizer the config names (data/tokenizers.py),
and batches are numpy dicts of fixed-size rows grouped by length
(data/batching.py), so few distinct shapes reach `jit`:

  'src'     (B, S) int32    source ids, PAD after src_len
  'src_len' (B,)   int32
  'tgt_in'  (B, T) int32    [BOS, y1 .. yn]  (teacher-forced decoder input)
  'tgt_out' (B, T) int32    [y1 .. yn, EOS]  (what each position predicts)
  'tgt_len' (B,)   int32    n + 1
  'weight'  (B, T) float32  1 at the tgt_len real target positions, else 0
  'index'   (B,)   int32    the example's position in its split, -1 for padding rows

S and T are rounded up to a multiple of pad_multiple; padding rows have lengths
0 and weight 0.
"""
import functools
import os

import numpy as np

from configs import checks
from data import batching
from data import files
from data import tokenizers

DATASETS = ('multi30k', 'files')
SPLITS = ('train', 'valid', 'test')
# Multi30k task 1 (Elliott et al., 2016), raw files as ../shared/data/README.md lists them.
MULTI30K = {'train': 'multi30k/train', 'valid': 'multi30k/val', 'test': 'multi30k/test_2016_flickr'}

RESERVED = ('pad', 'bos', 'eos')  # The ids before the tokenizer's, by role; its id i is id i + 3.
PAD_ID, BOS_ID, EOS_ID = (RESERVED.index(role) for role in ('pad', 'bos', 'eos'))
TOKENIZERS = ('bpe', 'unigram', 'word')


def read_lines(path: str) -> list:
  """The UTF-8 lines of path (gzip when it ends in .gz), line endings removed (files.split_lines)."""
  return files.split_lines(files.decode_utf8(files.read_bytes(path), path))


def _side_path(data_dir: str, prefix: str, lang: str) -> str:
  """prefix.lang.gz if it exists, else prefix.lang; prefix relative to data_dir or absolute."""
  gz, plain = f'{prefix}.{lang}.gz', f'{prefix}.{lang}'
  if os.path.isabs(prefix):
    for path in (gz, plain):
      if os.path.exists(path):
        return path
    raise FileNotFoundError(f'Neither {gz!r} nor {plain!r} exists.')
  if data_dir and os.path.exists(os.path.join(data_dir, gz)):
    return os.path.join(data_dir, gz)
  try:
    return files.data_path(data_dir, plain)
  except FileNotFoundError as e:
    raise FileNotFoundError(f'{e} (Nor does {gz!r}.)') from None


def _split_prefixes(data_config) -> dict:
  if checks.check_choice(data_config.name, DATASETS, 'data.name') == 'multi30k':
    return MULTI30K
  prefixes = {split: data_config.get(f'{split}_prefix', '') for split in SPLITS}
  for split, prefix in prefixes.items():
    if not prefix:
      raise ValueError(f"data.name='files' needs data.{split}_prefix (files PREFIX.LANG[.gz]).")
  return prefixes


def load_parallel(data_config) -> dict:
  """{'train', 'valid', 'test'} -> (source lines, target lines), aligned.

  data_config.max_pairs > 0 keeps the first max_pairs pairs of each split.
  """
  max_pairs = data_config.get('max_pairs', 0)
  splits = {}
  for split, prefix in _split_prefixes(data_config).items():
    sides = []
    for lang in (data_config.src_lang, data_config.tgt_lang):
      path = _side_path(data_config.dir, prefix, lang)
      sides.append((path, read_lines(path)))
    (src_path, src_lines), (tgt_path, tgt_lines) = sides
    if len(src_lines) != len(tgt_lines):
      raise ValueError(
          f'The {split} split is not line-aligned: {src_path!r} has {len(src_lines)} lines '
          f'but {tgt_path!r} has {len(tgt_lines)}.')
    if max_pairs:
      src_lines, tgt_lines = src_lines[:max_pairs], tgt_lines[:max_pairs]
    splits[split] = (src_lines, tgt_lines)
  return splits


def _vocabulary(data_config, directory: str, lines: list, rebuild_stale: bool, write: bool):
  kind = checks.check_choice(data_config.tokenizer, TOKENIZERS, 'data.tokenizer')
  if kind == 'word':
    # Sized by min_count, not vocab_size; words are lower-cased with punctuation
    # split off, and decode detokenizes for BLEU on raw text.
    options = dict(lowercase=True, min_count=data_config.get('min_count', 2), split_punctuation=True)
  else:
    options = dict(vocab_size=data_config.vocab_size, size_key='data.vocab_size')
  return tokenizers.load_or_build_vocabulary(directory, RESERVED, kind, lines, rebuild_stale, write, **options)


def _directories(data_config, directory: str) -> tuple:
  """(source, target) directories: directory/joint twice with data.joint_vocab, else directory/src and /tgt."""
  if data_config.joint_vocab:
    return (os.path.join(directory, 'joint'),) * 2
  return os.path.join(directory, 'src'), os.path.join(directory, 'tgt')


def build_vocabularies(data_config, train_src_lines: list, train_tgt_lines: list, directory: str,
                       resuming: bool = False, write: bool = True) -> tuple:
  """(source, target) Vocabulary of the training lines, loaded from directory if built there from them.

  data.joint_vocab: one vocabulary of both sides' lines, returned twice. A saved vocabulary built from
  other lines or settings is rebuilt, or refused when `resuming` (its checkpoints index it).
  """
  src_dir, tgt_dir = _directories(data_config, directory)
  if data_config.joint_vocab:
    vocab = _vocabulary(data_config, src_dir, list(train_src_lines) + list(train_tgt_lines), not resuming, write)
    return vocab, vocab
  return (_vocabulary(data_config, src_dir, train_src_lines, not resuming, write),
          _vocabulary(data_config, tgt_dir, train_tgt_lines, not resuming, write))


def load_vocabularies(data_config, directory: str) -> tuple:
  """(source, target) Vocabulary saved in directory, as they are (for translating with a trained run)."""
  return tuple(tokenizers.Vocabulary(tokenizers.load(side), RESERVED) for side in _directories(data_config, directory))


def make_batch(src_ids: list, tgt_ids: list, index: np.ndarray, batch_size: int, pad_multiple: int) -> dict:
  """The batch of examples `index` (at most batch_size), padding rows appended."""
  src_BS, src_len_B = batching.pad_sequences([src_ids[i] for i in index], batch_size, pad_multiple, 1, PAD_ID)
  # Teacher forcing: the decoder reads BOS + target and predicts target + EOS, n + 1 positions each.
  tgt_in_BT, tgt_len_B = batching.pad_sequences([np.insert(tgt_ids[i], 0, BOS_ID) for i in index], batch_size,
                                                pad_multiple, 1, PAD_ID)
  tgt_out_BT, _ = batching.pad_sequences([np.append(tgt_ids[i], EOS_ID) for i in index], batch_size,
                                         pad_multiple, 1, PAD_ID)
  weight_BT = (np.arange(tgt_in_BT.shape[1]) < tgt_len_B[:, None]).astype(np.float32)
  return {'src': src_BS, 'src_len': src_len_B, 'tgt_in': tgt_in_BT, 'tgt_out': tgt_out_BT,
          'tgt_len': tgt_len_B, 'weight': weight_BT, 'index': batching.fill_rows(index, batch_size, -1, np.int32)}


def _check_pairs(src_ids: list, tgt_ids: list) -> int:
  if len(src_ids) != len(tgt_ids):
    raise ValueError(f'{len(src_ids)} source but {len(tgt_ids)} target sentences.')
  return len(src_ids)


def train_batcher(src_ids: list, tgt_ids: list, batch_size: int, seed: int, pad_multiple: int = 8,
                  pool_batches: int = 100) -> batching.LengthGroupedBatcher:
  """Length-grouped batches of sentence pairs (grouped by source + target length); a short last batch is
  padded with empty rows."""
  if not _check_pairs(src_ids, tgt_ids):
    raise ValueError('No sentence pairs to train on.')
  make = functools.partial(make_batch, src_ids, tgt_ids, batch_size=batch_size, pad_multiple=pad_multiple)
  return batching.LengthGroupedBatcher([len(s) + len(t) for s, t in zip(src_ids, tgt_ids)], batch_size, seed,
                                       make, pool_batches)


def eval_batches(src_ids: list, tgt_ids: list, batch_size: int, pad_multiple: int = 8):
  """Every example once, sorted by source length (stable); 'index' restores corpus order."""
  make = functools.partial(make_batch, src_ids, tgt_ids, batch_size=batch_size, pad_multiple=pad_multiple)
  return batching.split_batches(make, _check_pairs(src_ids, tgt_ids), batch_size,
                                lengths=[len(s) for s in src_ids])
