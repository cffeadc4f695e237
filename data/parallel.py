"""Parallel corpora for translation: line-aligned files, vocabularies and batches.

A corpus is one pair of line-aligned files per split (sentence i of the source
file translates sentence i of the target file). Ids reserve PAD = 0, BOS = 1 and
EOS = 2 above whichever tokenizer the config names, and batches are numpy dicts
of fixed-size rows grouped by length, so few distinct shapes reach `jit`:

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
import os

import numpy as np

from data import batching
from data import files
from data import tokenizers

DATASETS = ('multi30k', 'files')
SPLITS = ('train', 'valid', 'test')
# Multi30k task 1 (Elliott et al., 2016), raw files as ../shared/data/README.md lists them.
MULTI30K = {'train': 'multi30k/train', 'valid': 'multi30k/val', 'test': 'multi30k/test_2016_flickr'}

PAD_ID, BOS_ID, EOS_ID = 0, 1, 2
NUM_RESERVED = 3  # Tokenizer id i is model id i + NUM_RESERVED.


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
  if data_config.name == 'multi30k':
    return MULTI30K
  if data_config.name == 'files':
    prefixes = {split: data_config.get(f'{split}_prefix', '') for split in SPLITS}
    for split, prefix in prefixes.items():
      if not prefix:
        raise ValueError(f"data.name='files' needs data.{split}_prefix (files PREFIX.LANG[.gz]).")
    return prefixes
  raise ValueError(f'Unknown parallel corpus {data_config.name!r} (data.name); '
                   f'choose one of {", ".join(DATASETS)}.')


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


class Vocabulary:
  """One tokenizer with its ids shifted up by NUM_RESERVED, making room for PAD, BOS, EOS."""

  def __init__(self, tokenizer: tokenizers.Tokenizer):
    self.tokenizer = tokenizer

  @property
  def vocab_size(self) -> int:
    return self.tokenizer.vocab_size + NUM_RESERVED

  def encode(self, line: str) -> np.ndarray:
    """The ids of one line, int32 (N,), without BOS or EOS."""
    return (self.tokenizer.encode(line) + NUM_RESERVED).astype(np.int32)

  def decode(self, ids) -> str:
    """The text of ids up to the first EOS, skipping PAD and BOS."""
    ids = np.asarray(ids, np.int64).reshape(-1)
    eos = np.flatnonzero(ids == EOS_ID)
    if len(eos):
      ids = ids[:eos[0]]
    ids = ids[ids >= NUM_RESERVED]
    return self.tokenizer.decode(ids - NUM_RESERVED)

  def decode_batch(self, ids_BT) -> list:
    return [self.decode(row) for row in np.asarray(ids_BT)]

  def save(self, directory: str) -> None:
    self.tokenizer.save(directory)

  @classmethod
  def load(cls, directory: str) -> 'Vocabulary':
    return cls(tokenizers.load(directory))


def encode_lines(vocab: Vocabulary, lines: list) -> list:
  return [vocab.encode(line) for line in lines]


def _saved(directory: str) -> bool:
  return os.path.exists(os.path.join(directory, tokenizers.CONFIG_FILE))


def _train_vocabulary(data_config, lines: list) -> Vocabulary:
  kind = data_config.tokenizer
  text = '\n'.join(lines)
  if kind == 'word':
    # Sized by min_count, not vocab_size; words are lower-cased with punctuation
    # split off, and decode detokenizes for BLEU on raw text.
    return Vocabulary(tokenizers.build_tokenizer(
        'word', text, lowercase=True, min_count=data_config.get('min_count', 2),
        split_punctuation=True))
  if kind in ('bpe', 'unigram'):
    if data_config.vocab_size <= NUM_RESERVED:
      raise ValueError(f'data.vocab_size must exceed the {NUM_RESERVED} reserved ids, '
                       f'got {data_config.vocab_size}.')
    return Vocabulary(tokenizers.build_tokenizer(kind, text, data_config.vocab_size - NUM_RESERVED))
  raise ValueError(f"Unknown translation tokenizer {kind!r} (data.tokenizer); "
                   "choose one of bpe, unigram, word.")


def _check_loaded(data_config, vocab: Vocabulary, directory: str) -> Vocabulary:
  """A resumed run must not silently train with a vocabulary its config does not describe."""
  kind = vocab.tokenizer.kind
  sized = kind in ('bpe', 'unigram') and vocab.vocab_size != data_config.vocab_size
  if kind != data_config.tokenizer or sized:
    raise ValueError(
        f'{directory!r} holds a {kind} vocabulary of {vocab.vocab_size} ids, but the config asks '
        f'for data.tokenizer={data_config.tokenizer!r}, data.vocab_size={data_config.vocab_size}.')
  return vocab


def build_vocabularies(data_config, train_src_lines: list, train_tgt_lines: list,
                       directory: str) -> tuple:
  """(source, target) Vocabulary, loaded from directory if saved there, else trained and saved.

  joint_vocab: one vocabulary of both sides' training text, in directory/joint,
  returned twice; otherwise directory/src and directory/tgt.
  """
  joint_dir = os.path.join(directory, 'joint')
  src_dir, tgt_dir = os.path.join(directory, 'src'), os.path.join(directory, 'tgt')
  joint = data_config.joint_vocab
  other_saved = (_saved(src_dir) and _saved(tgt_dir)) if joint else _saved(joint_dir)
  if other_saved:
    raise ValueError(
        f'{directory!r} holds {"separate" if joint else "joint"} vocabularies but the config '
        f'sets data.joint_vocab={joint}.')
  if joint:
    if _saved(joint_dir):
      vocab = _check_loaded(data_config, Vocabulary.load(joint_dir), joint_dir)
    else:
      vocab = _train_vocabulary(data_config, list(train_src_lines) + list(train_tgt_lines))
      vocab.save(joint_dir)
    return vocab, vocab
  if _saved(src_dir) and _saved(tgt_dir):
    return (_check_loaded(data_config, Vocabulary.load(src_dir), src_dir),
            _check_loaded(data_config, Vocabulary.load(tgt_dir), tgt_dir))
  # A run killed between the two saves left only one: train both again.
  src_vocab = _train_vocabulary(data_config, train_src_lines)
  tgt_vocab = _train_vocabulary(data_config, train_tgt_lines)
  src_vocab.save(src_dir)
  tgt_vocab.save(tgt_dir)
  return src_vocab, tgt_vocab


def _round_up(n: int, multiple: int) -> int:
  return -(-n // multiple) * multiple


def _make_batch(src_ids: list, tgt_ids: list, index: np.ndarray, batch_size: int,
                pad_multiple: int) -> dict:
  """The batch of examples `index` (at most batch_size), padding rows appended."""
  src_len_B = np.zeros(batch_size, np.int32)
  tgt_len_B = np.zeros(batch_size, np.int32)
  src_len_B[:len(index)] = [len(src_ids[i]) for i in index]
  tgt_len_B[:len(index)] = [len(tgt_ids[i]) + 1 for i in index]  # + BOS in, + EOS out.
  # At least pad_multiple columns, so an all-empty source still has a shape a model takes.
  src_width = _round_up(max(1, int(src_len_B.max())), pad_multiple)
  tgt_width = _round_up(int(tgt_len_B.max()), pad_multiple)
  src_BS = np.full((batch_size, src_width), PAD_ID, np.int32)
  tgt_in_BT = np.full((batch_size, tgt_width), PAD_ID, np.int32)
  tgt_out_BT = np.full((batch_size, tgt_width), PAD_ID, np.int32)
  for row, i in enumerate(index):
    src, tgt = src_ids[i], tgt_ids[i]
    src_BS[row, :len(src)] = src
    tgt_in_BT[row, 0] = BOS_ID
    tgt_in_BT[row, 1:len(tgt) + 1] = tgt
    tgt_out_BT[row, :len(tgt)] = tgt
    tgt_out_BT[row, len(tgt)] = EOS_ID
  weight_BT = (np.arange(tgt_width) < tgt_len_B[:, None]).astype(np.float32)
  index_B = np.full(batch_size, -1, np.int32)
  index_B[:len(index)] = index
  return {'src': src_BS, 'src_len': src_len_B, 'tgt_in': tgt_in_BT, 'tgt_out': tgt_out_BT,
          'tgt_len': tgt_len_B, 'weight': weight_BT, 'index': index_B}


def _check_pairs(src_ids: list, tgt_ids: list) -> int:
  if len(src_ids) != len(tgt_ids):
    raise ValueError(f'{len(src_ids)} source but {len(tgt_ids)} target sentences.')
  return len(src_ids)


class ParallelBatcher(batching.LengthGroupedBatcher):
  """Length-grouped batches of sentence pairs (grouped by source + target length); a short last
  batch is padded with empty rows."""

  def __init__(self, src_ids: list, tgt_ids: list, batch_size: int, seed: int,
               pad_multiple: int = 8, pool_batches: int = 100):
    if not _check_pairs(src_ids, tgt_ids):
      raise ValueError('No sentence pairs to train on.')
    super().__init__([len(s) + len(t) for s, t in zip(src_ids, tgt_ids)], batch_size, seed, pool_batches)
    self.src_ids, self.tgt_ids, self.pad_multiple = src_ids, tgt_ids, pad_multiple

  def make_batch(self, index: np.ndarray) -> dict:
    return _make_batch(self.src_ids, self.tgt_ids, index, self.batch_size, self.pad_multiple)


def eval_batches(src_ids: list, tgt_ids: list, batch_size: int, pad_multiple: int = 8):
  """Every example once, sorted by source length (stable); 'index' restores corpus order."""
  size = _check_pairs(src_ids, tgt_ids)
  order = np.argsort([len(s) for s in src_ids], kind='stable')
  for start in range(0, size, batch_size):
    yield _make_batch(src_ids, tgt_ids, order[start:start + batch_size], batch_size, pad_multiple)
