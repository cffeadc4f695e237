"""Labeled sentences for text classification: splits, a word vocabulary and batches.

Every labeled file holds one example per line, `LABEL TEXT`: a non-negative
integer class and text already tokenized into space-separated words (the
sentiment files of ../shared/data/README.md), in UTF-8 or, as MR's mr.all,
Windows-1252. Datasets without an official split
(MR, or one user file) are cut by k-fold cross-validation with a fixed
split_seed, so every training seed sees the same folds.

Ids reserve PAD = 0, UNK = 1, CLS = 2 and MASK = 3 (the last two for models
and masked-LM pretraining), and batches are numpy dicts of fixed-size rows
grouped by length, so few distinct shapes reach `jit`:

  'tokens' (B, T) int32    word ids, PAD after length
  'length' (B,)   int32
  'label'  (B,)   int32
  'weight' (B,)   float32  1 for an example, 0 for a filler row
  'index'  (B,)   int32    the example's position in its split, -1 for filler rows

T is the longest length in the batch, at least min_len and 1, rounded up to a
multiple of pad_multiple. Empty sentences are kept, in training too: length 0
and a row of PAD, so models must pool over max(length, 1) positions.
"""
import collections
import gzip
import os
import re

import numpy as np

from data import batching
from data import files
from data import tokenizers
from data.parallel import read_lines

DATASETS = ('sst2', 'mr', 'files')
SPLITS = ('train', 'valid', 'test')
# Files under the data directory, as ../shared/data/README.md lists them.
SST2 = {'train': 'sentiment/sst2.train', 'valid': 'sentiment/sst2.dev', 'test': 'sentiment/sst2.test'}
MR = 'sentiment/mr.all'
MULTI30K_EN = 'multi30k/train.en.gz'
PRETRAIN_CORPORA = ('sst2', 'mr', 'multi30k')

PAD_ID, UNK_ID, CLS_ID, MASK_ID = 0, 1, 2, 3
NUM_SPECIAL = 4
SPECIALS = ('<pad>', '<unk>', '<cls>', '<mask>')  # Their words, in id order.
VOCAB_FILE = 'vocab.txt'

_LABEL = re.compile(r'[0-9]+')  # Not int(): it also takes '+1', ' 1', '1_0' and '-1'.


def read_text_lines(path: str) -> list:
  """parallel.read_lines, but a file that is not UTF-8 is read as Windows-1252.

  MR's mr.all keeps the encoding of the original rt-polarity files: 202 of its
  lines hold cp1252 bytes (é, ½, …, –), which UTF-8 cannot decode.
  """
  try:
    return read_lines(path)
  except UnicodeDecodeError:
    pass
  with (gzip.open if path.endswith('.gz') else open)(path, 'rb') as f:
    data = f.read()
  try:
    text = data.decode('cp1252')
  except UnicodeDecodeError:
    raise ValueError(f'{path!r} is neither UTF-8 nor Windows-1252 text.') from None
  # The same line rules as read_lines: '\n' only, no empty last line, '\r\n' as '\n'.
  lines = text.split('\n')
  if lines[-1] == '':
    lines.pop()
  return [line[:-1] if line.endswith('\r') else line for line in lines]


CLEANINGS = ('', 'kim')
_KIM_DROPPED = re.compile(r"[^A-Za-z0-9(),!?'`]")
_KIM_CLITIC = re.compile(r"('s|'ve|n't|'re|'d|'ll)\b")
_KIM_PUNCT = re.compile(r'([,!?()])')


def check_cleaning(how: str) -> None:
  if how not in CLEANINGS:
    raise ValueError(f'Unknown data.clean {how!r}; choose one of: {", ".join(map(repr, CLEANINGS))} '
                     "('' keeps the text as written).")


def clean_text(text: str, how: str) -> str:
  """`how` 'kim': the preprocessing of Kim's (2014) code. Every character but ASCII letters, digits and
  ( ) , ! ? ' ` becomes a space (so "re-imagining" is two words and periods go), the clitics 's 've n't
  're 'd 'll and the kept punctuation become words of their own, and the text is lower-cased."""
  check_cleaning(how)
  if not how:
    return text
  text = _KIM_DROPPED.sub(' ', text)
  text = _KIM_CLITIC.sub(r' \1', text)
  text = _KIM_PUNCT.sub(r' \1 ', text)
  return ' '.join(text.lower().split())


def read_labeled(path: str) -> tuple:
  """(texts, labels int32 (N,)) of a `LABEL TEXT` file; texts are stripped."""
  if not os.path.exists(path):
    raise FileNotFoundError(
        f'Labeled file {path!r} does not exist; expected one "LABEL TEXT" example per line.')
  texts, labels = [], []
  for number, line in enumerate(read_text_lines(path), 1):
    label, space, text = line.partition(' ')
    if not space or not _LABEL.fullmatch(label):
      raise ValueError(f'{path}, line {number}: expected "LABEL TEXT" with a non-negative '
                       f'integer label, got {line[:80]!r}.')
    texts.append(text.strip())  # MR lines end in a space.
    labels.append(int(label))
  return texts, np.array(labels, np.int32)


def kfold_indices(n: int, k: int, seed: int) -> list:
  """k sorted int arrays that partition range(n), sizes differing by at most 1.

  The folds are cut from one permutation by np.random.RandomState(seed), so they
  depend on (n, k, seed) only.
  """
  if not 2 <= k <= n:
    raise ValueError(f'Cannot cut {n} examples into {k} folds; need 2 <= folds <= examples.')
  order = np.random.RandomState(seed).permutation(n)
  return [np.sort(fold) for fold in np.array_split(order, k)]


def _subset(texts: list, labels: np.ndarray, index: np.ndarray) -> tuple:
  return [texts[i] for i in index], labels[index]


def _kfold_splits(texts: list, labels: np.ndarray, data_config) -> dict:
  """Test is fold `fold`; valid a valid_fraction of the other folds; train the rest.

  Each split keeps file order. Valid is drawn with (split_seed, fold), so it too
  is the same for every training seed.
  """
  num_folds, fold = data_config.get('num_folds', 10), data_config.get('fold', 0)
  split_seed = data_config.get('split_seed', 0)
  valid_fraction = data_config.get('valid_fraction', 0.1)
  if not 0 <= fold < num_folds:
    raise ValueError(f'data.fold={fold} is not in [0, data.num_folds={num_folds}).')
  if not 0 < valid_fraction < 1:
    raise ValueError(f'data.valid_fraction must be in (0, 1), got {valid_fraction}.')
  folds = kfold_indices(len(texts), num_folds, split_seed)
  rest = np.concatenate([f for i, f in enumerate(folds) if i != fold])
  num_valid = max(1, int(round(valid_fraction * len(rest))))
  if num_valid >= len(rest):
    raise ValueError(f'data.valid_fraction={valid_fraction} of {len(rest)} examples leaves none to train on.')
  valid = np.random.RandomState([split_seed, fold]).permutation(rest)[:num_valid]
  train = np.setdiff1d(rest, valid)  # Sorted.
  return {'train': _subset(texts, labels, train), 'valid': _subset(texts, labels, np.sort(valid)),
          'test': _subset(texts, labels, folds[fold])}


def _user_path(data_dir: str, path: str) -> str:
  """path itself when absolute, else data_dir/path; raises naming what is missing where."""
  if os.path.isabs(path):
    if not os.path.exists(path):
      raise FileNotFoundError(f'{path!r} does not exist.')
    return path
  return files.data_path(data_dir, path)


def _files_paths(data_config) -> dict:
  """'files': {split: path} for a given triple, or {'all': path} for one file to k-fold."""
  single = data_config.get('path', '')
  triple = {split: data_config.get(f'{split}_path', '') for split in SPLITS}
  if single and any(triple.values()):
    raise ValueError("data.name='files' takes either data.path (one file, k-fold) or "
                     'data.train_path, data.valid_path and data.test_path, not both.')
  if single:
    return {'all': single}
  missing = [f'data.{split}_path' for split, path in triple.items() if not path]
  if missing:
    raise ValueError(f"data.name='files' needs data.path (one file, k-fold) or all of "
                     f'data.train_path, data.valid_path, data.test_path; missing {", ".join(missing)}.')
  return triple


def load_labeled(data_config) -> dict:
  """{'train', 'valid', 'test'} -> (texts, labels int32) of the dataset data_config names, its texts
  cleaned as data.clean says (see clean_text)."""
  name, data_dir = data_config.get('name', ''), data_config.get('dir', '')
  how = data_config.get('clean', '')
  check_cleaning(how)
  read = lambda path: _cleaned(read_labeled(path), how)
  if name == 'sst2':
    return {split: read(files.data_path(data_dir, path)) for split, path in SST2.items()}
  if name == 'mr':
    return _kfold_splits(*read(files.data_path(data_dir, MR)), data_config)
  if name == 'files':
    paths = _files_paths(data_config)
    if 'all' in paths:
      return _kfold_splits(*read(_user_path(data_dir, paths['all'])), data_config)
    return {split: read(_user_path(data_dir, path)) for split, path in paths.items()}
  raise ValueError(f'Unknown labeled dataset {name!r} (data.name); choose one of {", ".join(DATASETS)}.')


def _cleaned(texts_labels: tuple, how: str) -> tuple:
  texts, labels = texts_labels
  return [clean_text(text, how) for text in texts], labels


class Vocabulary:
  """Whitespace-separated words: the specials, then words by decreasing count (ties alphabetical)."""

  def __init__(self, words: list):
    self.words = list(words)  # Id i is words[i]; the first NUM_SPECIAL are SPECIALS.
    self._index = {word: i for i, word in enumerate(self.words)}
    if tuple(self.words[:NUM_SPECIAL]) != SPECIALS or len(self._index) != len(self.words):
      raise ValueError(f'A vocabulary starts with {", ".join(SPECIALS)} and holds distinct words.')

  @classmethod
  def build(cls, texts: list, min_count: int = 1, max_size: int = 0) -> 'Vocabulary':
    """Words seen at least min_count times; max_size > 0 caps the size, specials included."""
    if min_count < 1:
      raise ValueError(f'min_count must be >= 1, got {min_count}.')
    if max_size and max_size <= NUM_SPECIAL:
      raise ValueError(f'max_size counts the {NUM_SPECIAL} specials, so it must exceed them '
                       f'(or be 0 for no cap), got {max_size}.')
    counts = collections.Counter(word for text in texts for word in text.split())
    for special in SPECIALS:
      counts.pop(special, None)  # A literal '<unk>' in the text stays the special.
    # Ties go to the word that sorts first, so the vocabulary is a function of the texts.
    words = sorted((w for w in counts if counts[w] >= min_count), key=lambda w: (-counts[w], w))
    if max_size:
      words = words[:max_size - NUM_SPECIAL]
    return cls(list(SPECIALS) + words)

  @property
  def vocab_size(self) -> int:
    return len(self.words)

  def encode(self, text: str) -> np.ndarray:
    """The ids of text's words, int32 (N,); unknown words are UNK_ID."""
    return np.array([self._index.get(w, UNK_ID) for w in text.split()], np.int32)

  def decode(self, ids) -> str:
    """The words of ids joined by spaces, PAD skipped (so a padded row decodes whole)."""
    return ' '.join(self.words[i] for i in np.asarray(ids).reshape(-1).tolist() if i != PAD_ID)

  def save(self, directory: str) -> None:
    """directory/vocab.txt: line i is the word of id i, specials included."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, VOCAB_FILE)
    # Written whole, then renamed, so a run killed while saving leaves no half file to load.
    with open(path + '.tmp', 'w', encoding='utf-8') as f:
      f.write(''.join(word + '\n' for word in self.words))
    os.replace(path + '.tmp', path)

  @classmethod
  def load(cls, directory: str) -> 'Vocabulary':
    path = os.path.join(directory, VOCAB_FILE)
    if not os.path.exists(path):
      raise FileNotFoundError(f'No saved vocabulary in {directory!r}: {path!r} does not exist.')
    return cls(read_lines(path))

  @classmethod
  def build_or_load(cls, texts: list, directory: str, min_count: int = 1,
                    max_size: int = 0) -> 'Vocabulary':
    """The vocabulary saved in directory, else one built from texts and saved there."""
    if not os.path.exists(os.path.join(directory, VOCAB_FILE)):
      vocab = cls.build(texts, min_count, max_size)
      vocab.save(directory)
      return vocab
    vocab = cls.load(directory)
    # A resumed run must not silently embed more words than its config allows.
    if max_size and vocab.vocab_size > max_size:
      raise ValueError(f'{directory!r} holds a vocabulary of {vocab.vocab_size} words, more '
                       f'than max_size={max_size}.')
    return vocab


def normalize_text(line: str) -> str:
  """Raw text in the style of the sentiment files: lower-cased, punctuation split off.

  "A man, in a hat." -> "a man , in a hat ."; "man's" and "t-shirt" stay whole.
  The word pattern is the word tokenizer's, so both split text alike.
  """
  return ' '.join(tokenizers._WORD_PATTERN.findall(line.lower()))


def _pretrain_entry(data_dir: str, entry: str) -> list:
  if entry == 'sst2':
    return read_labeled(files.data_path(data_dir, SST2['train']))[0]
  if entry == 'mr':
    return read_labeled(files.data_path(data_dir, MR))[0]
  if entry == 'multi30k':
    return [normalize_text(line) for line in read_lines(files.data_path(data_dir, MULTI30K_EN))]
  path = entry if os.path.isabs(entry) else os.path.join(data_dir, entry)
  if not os.path.isfile(path):
    raise ValueError(f'Unknown pretraining corpus {entry!r} (data.pretrain_corpus): neither one of '
                     f'{", ".join(PRETRAIN_CORPORA)} nor a file ({path!r} does not exist).')
  return read_text_lines(path)  # A user's file is used as it is: one sentence per line.


def sentence_key(text: str) -> str:
  """What two copies of one sentence share across files that tokenize it differently ("it's" / "it 's")."""
  return ' '.join(re.findall(r'[a-z0-9]+', text.lower()))


def _excluded_keys(data_dir: str, exclude: str) -> set:
  keys = set()
  for entry in (entry.strip() for entry in exclude.split(',') if entry.strip()):
    if entry == 'sst2_eval':
      paths = [files.data_path(data_dir, SST2[split]) for split in ('valid', 'test')]
    else:
      try:
        paths = [_user_path(data_dir, entry)]
      except FileNotFoundError as error:
        raise ValueError(f'data.pretrain_exclude entry {entry!r} is neither sst2_eval nor a LABEL TEXT file: '
                         f'{error}') from error
    keys.update(sentence_key(text) for path in paths for text in read_labeled(path)[0])
  return keys


def pretraining_texts(data_config) -> list:
  """The unlabeled sentences of data.pretrain_corpus, a comma-separated list, in its order.

  Entries: 'sst2' (the sst2 training texts), 'mr' (all of mr.all: its labels are
  unused, but its text includes every fold's test sentences), 'multi30k' (the
  English training captions, normalized with normalize_text), or the path of a
  file of one sentence per line (relative to data.dir or absolute). Empty lines
  are dropped: they hold nothing to learn. data.pretrain_exclude (comma-separated:
  'sst2_eval', SST-2's dev and test files, or paths of LABEL TEXT files) drops
  every sentence that is one of theirs by sentence_key, so that evaluation
  sentences are not pretrained on (MR holds 73% of SST-2's test sentences).
  """
  corpus = data_config.get('pretrain_corpus', ','.join(PRETRAIN_CORPORA))
  entries = [entry.strip() for entry in corpus.split(',') if entry.strip()]
  if not entries:
    raise ValueError(f'data.pretrain_corpus={corpus!r} names no corpus; use a comma-separated '
                     f'list of {", ".join(PRETRAIN_CORPORA)} or file paths.')
  data_dir, how = data_config.get('dir', ''), data_config.get('clean', '')
  check_cleaning(how)
  excluded = _excluded_keys(data_dir, data_config.get('pretrain_exclude', ''))
  texts = (clean_text(text, how) for entry in entries for text in _pretrain_entry(data_dir, entry)
           if sentence_key(text) not in excluded)
  return [text for text in texts if text.strip()]


def _round_up(n: int, multiple: int) -> int:
  return -(-n // multiple) * multiple


def _make_batch(ids: list, labels: np.ndarray, index: np.ndarray, batch_size: int,
                pad_multiple: int, min_len: int) -> dict:
  """The batch of examples `index` (at most batch_size), filler rows appended."""
  length_B = np.zeros(batch_size, np.int32)
  length_B[:len(index)] = [len(ids[i]) for i in index]
  # At least one column, so a batch of empty sentences still has a shape a model takes.
  width = _round_up(max(1, min_len, int(length_B.max())), pad_multiple)
  tokens_BT = np.full((batch_size, width), PAD_ID, np.int32)
  for row, i in enumerate(index):
    tokens_BT[row, :len(ids[i])] = ids[i]
  label_B = np.zeros(batch_size, np.int32)
  label_B[:len(index)] = labels[index]
  weight_B = np.zeros(batch_size, np.float32)
  weight_B[:len(index)] = 1
  index_B = np.full(batch_size, -1, np.int32)
  index_B[:len(index)] = index
  return {'tokens': tokens_BT, 'length': length_B, 'label': label_B, 'weight': weight_B,
          'index': index_B}


def _check_examples(ids: list, labels) -> np.ndarray:
  labels = np.asarray(labels)
  if labels.shape != (len(ids),):
    raise ValueError(f'{len(ids)} sentences but labels of shape {labels.shape}.')
  return labels


class LabeledBatcher(batching.LengthGroupedBatcher):
  """Length-grouped batches of labeled sentences; a short last batch is filled with rows of weight 0.

  fixed=True (Kim's code, with pool_batches=1): the batches are cut once, from one permutation of the
  examples plus enough distinct random repeats to fill the last one; each epoch shuffles only their order.
  """

  def __init__(self, ids: list, labels, batch_size: int, seed: int, pad_multiple: int = 8,
               min_len: int = 1, pool_batches: int = 100, fixed: bool = False):
    self.labels = _check_examples(ids, labels)
    if not len(ids):
      raise ValueError('No labeled sentences to train on.')
    super().__init__([len(s) for s in ids], batch_size, seed, pool_batches)
    self.ids, self.pad_multiple, self.min_len = ids, pad_multiple, min_len
    self._fixed = None
    if fixed:
      rng = np.random.default_rng(seed)  # Not an epoch's generator ([seed, epoch]).
      repeats = rng.choice(self.size, -self.size % batch_size, replace=False)
      self._fixed = rng.permutation(np.concatenate([np.arange(self.size), repeats])).reshape(-1, batch_size)
      self.steps_per_epoch = len(self._fixed)

  def epoch_batches(self, rng: np.random.Generator) -> list:
    if self._fixed is None:
      return super().epoch_batches(rng)
    return list(self._fixed[rng.permutation(len(self._fixed))])

  def make_batch(self, index: np.ndarray) -> dict:
    return _make_batch(self.ids, self.labels, index, self.batch_size, self.pad_multiple, self.min_len)


def eval_batches(ids: list, labels, batch_size: int, pad_multiple: int = 8, min_len: int = 1):
  """Every example once, sorted by length (stable); 'index' restores split order."""
  labels = _check_examples(ids, labels)
  order = np.argsort([len(s) for s in ids], kind='stable')
  for start in range(0, len(ids), batch_size):
    yield _make_batch(ids, labels, order[start:start + batch_size], batch_size, pad_multiple, min_len)
