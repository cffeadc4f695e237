"""Text corpora for language modelling: named corpora and any text files, read as streams of text.

A corpus has train, valid and test splits, each a `Split`: the text of one or more files (plain or
.gz; a newline is added to a file that lacks one when another follows) concatenated, or a
character range of that concatenation. `Split.chunks()` streams the text in pieces that end at line
breaks, so no split is ever read whole: data/token_cache.py tokenizes a split chunk by chunk into a
memory-mapped token file.

- `tinyshakespeare`: one file, cut by one of two published schemes so results compare with their papers.
- `imdb`: IMDB's review text, one review per line (`<br />` tags as spaces): train is the training
  reviews that the IMDB classifier trains on plus the 50,000 unlabeled ones, valid (and test) the training
  reviews its valid split holds out (data/labeled.py held_out). The test reviews are never read.
- `files`: data.train_path, data.valid_path, data.test_path, each a file, a glob or a comma list of
  them. With train_path alone the concatenation is cut by data.split: a published scheme or the
  fractions 'TRAIN,VALID,TEST' of its characters. With valid_path but no test_path, test is valid.
"""
import dataclasses
import fractions
import glob
import gzip
import hashlib
import os

import numpy as np

from configs import checks
from data import files
from data import labeled

# Corpus name -> file under the data directory (see ../shared/data/README.md).
CORPORA = {'tinyshakespeare': 'tinyshakespeare/input.txt'}
NAMES = tuple(CORPORA) + ('imdb', 'files')

SPLITS = ('charrnn', 'nanogpt')
SPLIT_NAMES = ('train', 'valid', 'test')
_BLOCK_BYTES = 1 << 24  # Read 16 MB at a time: memory stays flat whatever the corpus size.


def load_text(data_dir: str, relative_path: str) -> str:
  """Returns the file data_dir/relative_path as UTF-8 text, exactly as stored."""
  path = files.data_path(data_dir, relative_path)
  # Bytes decoded as they are: '\r\n' stays two characters, so lengths match the published counts.
  return files.decode_utf8(files.read_bytes(path), path)


def _parse_fractions(split: str):
  """'A,B,C' -> three Fractions summing to 1, or None when split is not of that form."""
  parts = split.split(',')
  if len(parts) != 3:
    return None
  try:
    weights = [fractions.Fraction(part.strip()) for part in parts]
  except ValueError:
    return None
  if min(weights) < 0 or weights[0] == 0:
    raise ValueError(f'data.split fractions must be >= 0 with a positive train share; got {split!r}.')
  total = sum(weights)
  return [w / total for w in weights]


def check_split(split: str) -> None:
  if _parse_fractions(split) is None:
    checks.check_choice(split, SPLITS + ('TRAIN,VALID,TEST fractions such as 0.9,0.05,0.05',), 'data.split')


def split_ranges(num_chars: int, split: str) -> dict:
  """{'train', 'valid', 'test'}: (start, stop) character ranges that cut num_chars characters.

  'charrnn': the first 90% of characters train; the last 10% is halved into
    valid then test (the odd character, if any, goes to test).
  'nanogpt': the first 90% train; the last 10% is valid, and test is the same
    text as valid (nanoGPT reports no separate test split).
  'A,B,C': the shares A, B, C of the characters, in that order, rounded down but the last.
  90% is rounded down: 1,115,394 characters of Tiny Shakespeare give nanoGPT's
  1,003,854 train and 111,540 valid characters.
  """
  shares = _parse_fractions(split)
  if shares is None:
    checks.check_choice(split, SPLITS, 'data.split')
    shares = [fractions.Fraction(9, 10), fractions.Fraction(1, 20), fractions.Fraction(1, 20)]
  # Exact arithmetic: int(n * 0.9) can round wrongly.
  n_train = num_chars * shares[0].numerator // shares[0].denominator
  if split == 'nanogpt':
    return {'train': (0, n_train), 'valid': (n_train, num_chars), 'test': (n_train, num_chars)}
  if split == 'charrnn':
    n_valid = n_train + (num_chars - n_train) // 2
  else:
    cut = shares[0] + shares[1]
    n_valid = num_chars * cut.numerator // cut.denominator
  return {'train': (0, n_train), 'valid': (n_train, n_valid), 'test': (n_valid, num_chars)}


def split_text(text: str, split: str) -> dict:
  """Cuts text into {'train', 'valid', 'test'} contiguous strings by split_ranges."""
  return {name: text[start:stop] for name, (start, stop) in split_ranges(len(text), split).items()}


def resolve_paths(spec: str, key: str) -> list:
  """The files of a path spec: comma-separated files or globs, each glob's matches sorted."""
  paths = []
  for entry in (e.strip() for e in spec.split(',')):
    if not entry:
      continue
    if glob.has_magic(entry):
      matches = sorted(p for p in glob.glob(entry) if os.path.isfile(p))
      if not matches:
        raise FileNotFoundError(f'{key}: the pattern {entry!r} matches no file.')
      paths.extend(matches)
    elif not os.path.isfile(entry):
      raise FileNotFoundError(f'{key}: {entry!r} does not exist' + (' (it is a directory).' if os.path.isdir(entry)
                                                                       else '.'))
    else:
      paths.append(entry)
  if not paths:
    raise files.DataError(f'{key} names no file; give a file, a glob or a comma list of them.')
  return paths


def file_fingerprint(path: str) -> dict:
  """The stored file's size and sha256: what a token cache is keyed by, so a changed file is re-read."""
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for block in iter(lambda: f.read(_BLOCK_BYTES), b''):
      digest.update(block)
  return {'size': os.path.getsize(path), 'sha256': digest.hexdigest()}


def _open(path: str):
  return gzip.open(path, 'rb') if path.endswith('.gz') else open(path, 'rb')


def _line_blocks(path: str, terminate: bool):
  """(byte offset, bytes) blocks of the file's text, each one or more whole lines, about _BLOCK_BYTES
  long; a missing final newline is added when `terminate` (another file follows)."""
  offset, pending = 0, b''
  with _open(path) as f:
    while True:
      block = f.read(_BLOCK_BYTES)
      if not block:
        break
      pending += block
      cut = pending.rfind(b'\n') + 1
      if cut:  # Keep an unfinished line for the next block, so no block ends inside a line.
        yield offset, pending[:cut]
        offset, pending = offset + cut, pending[cut:]
  if pending:
    yield offset, pending + b'\n' if terminate else pending


def _decoded_blocks(path: str, terminate: bool):
  line = 1
  for offset, block in _line_blocks(path, terminate):
    yield files.decode_utf8(block, path, offset, line)
    line += block.count(b'\n')


def _count_chars(paths: list) -> int:
  """Characters of the files' concatenated text: its bytes that start a UTF-8 character (only valid UTF-8
  is ever tokenized, and decoding checks that)."""
  return sum(len(block) - int(np.count_nonzero((np.frombuffer(block, np.uint8) & 0xC0) == 0x80))
             for i, path in enumerate(paths) for _, block in _line_blocks(path, i + 1 < len(paths)))


@dataclasses.dataclass
class Split:
  """The text of one split: files concatenated, optionally cut to the character range [start, stop).

  key: what decides the text (the files' sizes and hashes, the range, how it was cut), for caching.
  """
  name: str
  paths: list
  start: int = 0
  stop: int | None = None
  key: dict = dataclasses.field(default_factory=dict)
  # Maps each block of whole lines to the text it stands for (whole lines, or ''); None keeps the text.
  transform: object = None

  def chunks(self):
    """The split's text in pieces; every piece but the last ends with a newline."""
    position = 0  # Characters of the concatenation before the current block.
    for i, path in enumerate(self.paths):
      for text in _decoded_blocks(path, terminate=i + 1 < len(self.paths)):
        if self.transform is not None:
          text = self.transform(text)
          if not text:
            continue
        begin, end = position, position + len(text)
        position = end
        if self.stop is not None and begin >= self.stop:
          return
        if end <= self.start:
          continue
        yield text[max(self.start - begin, 0):(len(text) if self.stop is None else min(self.stop - begin, len(text)))]

  def prefix(self, num_chars: int) -> str:
    """The first num_chars characters of the split (all of it when 0): a sample to build a vocabulary."""
    pieces, size = [], 0
    for text in self.chunks():
      pieces.append(text)
      size += len(text)
      if num_chars and size >= num_chars:
        break
    text = ''.join(pieces)
    return text[:num_chars] if num_chars else text

  def describe(self) -> str:
    paths = ', '.join(self.paths[:3]) + (f' and {len(self.paths) - 3} more' if len(self.paths) > 3 else '')
    cut = f' (characters {self.start:,}..{self.stop:,})' if self.stop is not None or self.start else ''
    return f'{paths}{cut}'


class Concatenation(Split):
  """Splits read one after the other as one split (their own files and cuts); its key holds theirs."""

  def __init__(self, name: str, parts: list):
    super().__init__(name, [p for part in parts for p in part.paths], key={'parts': [part.key for part in parts]})
    self.parts = parts

  def chunks(self):
    for part in self.parts:  # Each part ends with a newline (transformed blocks are whole lines).
      yield from part.chunks()


def _cut(name: str, paths: list, split: str, max_chars: int) -> dict:
  """The splits of one concatenation of paths cut by `split` (first max_chars characters when > 0)."""
  prints = [file_fingerprint(p) for p in paths]
  num_chars = _count_chars(paths)
  if max_chars:
    num_chars = min(num_chars, max_chars)
  splits = {}
  for part, (start, stop) in split_ranges(num_chars, split).items():
    key = {'corpus': name, 'files': prints, 'split': split, 'max_chars': max_chars, 'part': part}
    splits[part] = Split(part, paths, start, stop, key)
  return splits


def _whole(part: str, paths: list) -> Split:
  return Split(part, paths, key={'files': [file_fingerprint(p) for p in paths]})


def _imdb_reviews(held_out: bool | None, valid_fraction: float):
  """The Split transform of IMDB's `LABEL TEXT` (held_out True/False) or unlabeled (None) lines: each
  review's text, with `<br />` as a space; with held_out, only the reviews on that side of the valid split."""
  def transform(block: str) -> str:
    lines = block.split('\n')[:-1] if block.endswith('\n') else block.split('\n')
    if held_out is None:
      texts = lines
    else:  # The text as labeled.read_labeled gives it, which held_out hashes.
      texts = [line.partition(' ')[2].strip() for line in lines]
      side = labeled.held_out(texts, valid_fraction)
      texts = [text for text, valid in zip(texts, side) if valid == held_out]
    return ''.join(text.replace(labeled.IMDB_BREAK, ' ') + '\n' for text in texts)
  return transform


def _imdb(data_config) -> dict:
  train, unsup = (files.data_path(data_config.dir, f'imdb/{name}.txt.gz') for name in ('train', 'unsup'))
  fraction = data_config.get('valid_fraction', 0.1)
  prints = {path: file_fingerprint(path) for path in (train, unsup)}
  key = lambda part: {'corpus': 'imdb', 'part': part, 'valid_fraction': fraction,
                      'files': [prints[train]] + ([prints[unsup]] if part == 'train' else [])}
  train_text = Split('train', [train], key=key('train:labeled'), transform=_imdb_reviews(False, fraction))
  unsup_text = Split('train', [unsup], key=key('train:unlabeled'), transform=_imdb_reviews(None, fraction))
  valid = Split('valid', [train], key=key('valid'), transform=_imdb_reviews(True, fraction))
  return {'train': Concatenation('train', [train_text, unsup_text]), 'valid': valid,
          'test': dataclasses.replace(valid, name='test')}


def splits(data_config) -> dict:
  """{'train', 'valid', 'test'}: the Splits of the corpus data_config names.

  data_config.max_chars > 0 keeps only that prefix of a corpus that is cut into splits (for quick runs).
  """
  name = checks.check_choice(data_config.name, NAMES, 'data.name')
  max_chars = data_config.get('max_chars', 0)
  if name == 'imdb':
    return _imdb(data_config)
  if name in CORPORA:
    return _cut(name, [files.data_path(data_config.dir, CORPORA[name])], data_config.split, max_chars)
  paths = {part: data_config.get(f'{part}_path', '') for part in SPLIT_NAMES}
  if not paths['train']:
    raise files.DataError('data.name=files needs data.train_path (a file, a glob or a comma list); '
                          'data.valid_path and data.test_path are optional.')
  if not paths['valid']:
    if paths['test']:
      raise files.DataError('data.test_path is given without data.valid_path; give both, or neither to cut '
                            'data.train_path by data.split.')
    return _cut(name, resolve_paths(paths['train'], 'data.train_path'), data_config.split, max_chars)
  result = {part: _whole(part, resolve_paths(paths[part], f'data.{part}_path'))
            for part in ('train', 'valid') if paths[part]}
  result['test'] = (_whole('test', resolve_paths(paths['test'], 'data.test_path')) if paths['test']
                    else dataclasses.replace(result['valid'], name='test'))
  return result


def load_corpus(data_config) -> dict:
  """The splits of the corpus data_config names, as whole strings (for small corpora and tools)."""
  return {part: ''.join(split.chunks()) for part, split in splits(data_config).items()}
