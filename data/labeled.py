"""Labeled sentences for text classification: splits, a word vocabulary and batches.

Every labeled file holds one example per line, `LABEL TEXT`: a non-negative
integer class and text already tokenized into space-separated words (the
sentiment files of ../shared/data/README.md), in UTF-8 or, as MR's mr.all,
Windows-1252. The classes are 0 .. K-1: K is declared for SST-2, MR and IMDB
(2) and for user files is the training data's, and a label outside them is an
error naming its file and line. The Stanford Sentiment Treebank's trees
(data/trees.py) are read as labeled sentences too, each the root's words and
class: 'sst5' (5 classes) and 'sst2_trees' (2, neutral sentences dropped);
with data.phrases, training adds their labeled phrases (_treebank_splits).
Datasets without an official split (MR, or one user file) are cut by k-fold
cross-validation with a fixed split_seed, so every training seed sees the same
folds. IMDB's reviews are raw text (data.clean='lowercase_split' tokenizes
them as the sentiment files are) and its valid split is a share of train
chosen by hashing each review (held_out), the same for every seed.

Ids reserve PAD = 0, UNK = 1, CLS = 2 and MASK = 3 (the last two for models
and masked-LM pretraining) before the words of a word tokenizer
(data/tokenizers.py), and batches are numpy dicts of fixed-size rows grouped
by length (data/batching.py), so few distinct shapes reach `jit`:

  'tokens' (B, T) int32    word ids, PAD after length
  'length' (B,)   int32
  'label'  (B,)   int32
  'weight' (B,)   float32  1 for an example, 0 for a filler row
  'index'  (B,)   int32    the example's position in its split, -1 for filler rows

T is the longest length in the batch, at least min_len and 1, rounded up to a
multiple of pad_multiple. Empty sentences are kept, in training too: length 0
and a row of PAD, so models must pool over max(length, 1) positions.
"""
import functools
import hashlib
import os
import re

import numpy as np

from configs import checks
from data import batching
from data import files
from data import tokenizers
from data import trees
from data.parallel import read_lines

DATASETS = ('sst2', 'mr', 'imdb', 'files') + trees.DATASETS
# Declared: any other label in their files is an error.
NUM_CLASSES = {'sst2': 2, 'mr': 2, 'imdb': 2, **trees.NUM_CLASSES}
SPLITS = ('train', 'valid', 'test')
# Files under the data directory, as ../shared/data/README.md lists them.
SST2 = {'train': 'sentiment/sst2.train', 'valid': 'sentiment/sst2.dev', 'test': 'sentiment/sst2.test'}
MR = 'sentiment/mr.all'
IMDB = {'train': 'imdb/train.txt.gz', 'test': 'imdb/test.txt.gz'}  # Valid is held out of train.
IMDB_BREAK = '<br />'  # IMDB's raw reviews mark paragraph breaks with this HTML tag: read as a space.
MULTI30K_EN = 'multi30k/train.en.gz'
PRETRAIN_CORPORA = ('sst2', 'mr', 'multi30k', 'imdb', 'imdb_sentences')
IMDB_UNLABELED = 'imdb/unsup.txt.gz'
DEFAULT_PRETRAIN_CORPUS = 'sst2,mr,multi30k'  # The sentences of the sentiment studies.

# The ids before the words, by role (models/classifiers.py reads PAD and CLS at these ids).
RESERVED = ('pad', 'unk', 'cls', 'mask')
PAD_ID, UNK_ID, CLS_ID, MASK_ID = (RESERVED.index(role) for role in ('pad', 'unk', 'cls', 'mask'))
NUM_RESERVED = len(RESERVED)  # Words are ids NUM_RESERVED .. vocab_size - 1.
# Next-sentence pretraining's vocabularies (and the classifiers fine-tuned from them) add a separator after the
# others, so that every other vocabulary keeps its ids; a saved vocabulary records its roles.
RESERVED_WITH_SEP = RESERVED + ('sep',)
SEP_ID = RESERVED_WITH_SEP.index('sep')

_LABEL = re.compile(r'[0-9]+')  # Not int(): it also takes '+1', ' 1', '1_0' and '-1'.


def read_text_lines(path: str) -> list:
  """parallel.read_lines, but a file that is not UTF-8 is read as Windows-1252.

  MR's mr.all keeps the encoding of the original rt-polarity files: 202 of its
  lines hold cp1252 bytes (é, ½, …, –), which UTF-8 cannot decode.
  """
  try:
    return read_lines(path)
  except files.DataError:
    pass
  try:
    text = files.read_bytes(path).decode('cp1252')
  except UnicodeDecodeError as e:
    raise files.DataError(f'{path!r} is neither UTF-8 nor Windows-1252 text (byte {e.start}).') from None
  return files.split_lines(text)


# data.clean names a text normalizer applied to every sentence as it is read; '' keeps the text as written.
# A reproduction registers its own (data/kim_text.py: 'kim', the preprocessing of Kim's code).
_NORMALIZERS = {'': lambda text: text}


def register_normalizer(name: str):
  def decorator(normalize):
    if name in _NORMALIZERS:
      raise ValueError(f'text normalizer {name!r} is registered twice')
    _NORMALIZERS[name] = normalize
    return normalize
  return decorator


def normalizer(name: str):
  """The text -> text function that data.clean names."""
  return _NORMALIZERS[checks.check_choice(name, sorted(_NORMALIZERS), 'data.clean')]


def example_normalizer(data_config):
  """The text -> text function applied to each example's text as read: IMDB's <br /> tags become spaces,
  then data.clean's normalizer."""
  normalize = normalizer(data_config.get('clean', ''))
  if data_config.get('name', '') == 'imdb':
    return lambda text: normalize(text.replace(IMDB_BREAK, ' '))
  return normalize


def read_labeled(path: str) -> tuple:
  """(texts, labels int32 (R,)) of a `LABEL TEXT` file; texts are stripped."""
  if not os.path.exists(path):
    raise FileNotFoundError(
        f'Labeled file {path!r} does not exist; expected one "LABEL TEXT" example per line.')
  texts, labels = [], []
  for number, line in enumerate(read_text_lines(path), 1):
    label, space, text = line.partition(' ')
    if not space or not _LABEL.fullmatch(label):
      raise files.DataError(f'{path}, line {number}: expected "LABEL TEXT" with a non-negative '
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


def _valid_fraction(data_config) -> float:
  valid_fraction = data_config.get('valid_fraction', 0.1)
  if not 0 < valid_fraction < 1:
    raise ValueError(f'data.valid_fraction must be in (0, 1), got {valid_fraction}.')
  return valid_fraction


def held_out(texts: list, fraction: float) -> np.ndarray:
  """bool (R,): whether each text falls in the held-out share `fraction`, by the sha256 of the text.

  The text, not its line number or a seeded draw: the split is the same for every seed and file order,
  and the copies of a repeated text (IMDB's train repeats about a hundred reviews) fall on one side.
  """
  # The first 8 bytes of the digest, uniform in [0, 2**64); Python compares int with float exactly.
  return np.array([int.from_bytes(hashlib.sha256(text.encode('utf-8')).digest()[:8], 'big') < fraction * 2**64
                   for text in texts], bool)


def _hashed_splits(texts: list, labels: np.ndarray, data_config, path: str) -> dict:
  """{'train', 'valid'}: valid the texts that held_out puts in data.valid_fraction, each in file order."""
  valid_fraction = _valid_fraction(data_config)
  valid = held_out(texts, valid_fraction)
  if valid.all() or not valid.any():
    raise files.DataError(f'Holding out data.valid_fraction={valid_fraction} of the {len(texts)} examples of '
                          f'{path!r} leaves no {"training" if valid.all() else "valid"} example.')
  return {'train': _subset(texts, labels, np.flatnonzero(~valid)),
          'valid': _subset(texts, labels, np.flatnonzero(valid))}


def _kfold_splits(texts: list, labels: np.ndarray, data_config) -> dict:
  """Test is fold `fold`; valid a valid_fraction of the other folds; train the rest.

  Each split keeps file order. Valid is drawn with (split_seed, fold), so it too
  is the same for every training seed.
  """
  num_folds, fold = data_config.get('num_folds', 10), data_config.get('fold', 0)
  split_seed, valid_fraction = data_config.get('split_seed', 0), _valid_fraction(data_config)
  if not 0 <= fold < num_folds:
    raise ValueError(f'data.fold={fold} is not in [0, data.num_folds={num_folds}).')
  folds = kfold_indices(len(texts), num_folds, split_seed)
  rest = np.concatenate([f for i, f in enumerate(folds) if i != fold])
  num_valid = max(1, int(round(valid_fraction * len(rest))))
  if num_valid >= len(rest):
    raise ValueError(f'data.valid_fraction={valid_fraction} of {len(rest)} examples leaves none to train on.')
  valid = np.random.RandomState([split_seed, fold]).permutation(rest)[:num_valid]
  train = np.setdiff1d(rest, valid)  # Sorted.
  return {'train': _subset(texts, labels, train), 'valid': _subset(texts, labels, np.sort(valid)),
          'test': _subset(texts, labels, folds[fold])}


def _files_paths(data_config) -> dict:
  """'files': {split: path} for a given triple, or {'all': path} for one file to k-fold."""
  single = data_config.get('path', '')
  if single and any(data_config.get(f'{split}_path', '') for split in SPLITS):
    raise ValueError("data.name='files' takes either data.path (one file, k-fold) or "
                     'data.train_path, data.valid_path and data.test_path, not both.')
  if single:
    return {'all': files.user_path(data_config.get('dir', ''), single)}
  return files.split_paths(data_config, "data.name='files' without data.path (one file, k-fold)")


def _first(values, n: int = 5) -> str:
  values = [str(v) for v in values]
  return ', '.join(values[:n] + (['...'] if len(values) > n else []))


def _training_classes(path: str, labels: np.ndarray) -> int:
  """The number of classes of a training file: its largest label + 1, each smaller label occurring too."""
  if not len(labels):
    raise files.DataError(f'No labeled examples to train on in {path!r}.')
  num_classes = int(labels.max()) + 1
  missing = np.setdiff1d(np.arange(num_classes), labels)
  if len(missing):  # A stray label would silently add classes that nothing trains.
    line = int(np.argmax(labels == labels.max())) + 1
    raise files.DataError(
        f'Label {num_classes - 1} leaves classes {_first(missing)} without a training example: {path}, line '
        f'{line}. Labels are class ids 0, 1, ..., each with examples in the training data.')
  return num_classes


def _check_labels(path: str, labels: np.ndarray, num_classes: int, whose: str) -> None:
  bad = np.flatnonzero(labels >= num_classes)
  if len(bad):
    raise files.DataError(f'Label {labels[bad[0]]} is not one of the {num_classes} classes (0 to {num_classes - 1}) '
                          f'of {whose}: {path}, line {bad[0] + 1}.')


def _read_checked(path: str, num_classes: int = 0, whose: str = '') -> tuple:
  """(texts, labels, num_classes) of a LABEL TEXT file; num_classes 0: the file's own (_training_classes)."""
  texts, labels = read_labeled(path)  # One example per line: example i is line i + 1.
  num_classes = num_classes or _training_classes(path, labels)
  _check_labels(path, labels, num_classes, whose)
  return texts, labels, num_classes


def train_on_phrases(data_config) -> bool:
  """data.phrases: whether the training split holds every labeled phrase of the treebank's training trees,
  their sentences among them. Only the treebank datasets have phrases: set with another, a ValueError."""
  name, phrases = data_config.get('name', ''), data_config.get('phrases', False)
  if phrases and name not in trees.DATASETS:
    raise ValueError(f'data.phrases=True needs a dataset with labeled phrases ({", ".join(trees.DATASETS)}); '
                     f'got data.name={name!r}.')
  return phrases


def _treebank_splits(name: str, data_config) -> dict:
  """The sentence (the root's words) and class of each tree; with data.phrases, train holds every phrase
  with a class instead, each node once (so each sentence once too). Valid and test always score roots.

  The words are lower-cased: that is how the sentiment files write the treebank's sentences (-lrb-, -rrb-,
  \\/ and all), so sst2_trees' sentences are sst2's (all but the 3 whose no-break space trees.py writes '_'),
  and data.clean treats them as it treats sst2's.
  """
  phrases = train_on_phrases(data_config)
  splits = {}
  for split, split_trees in trees.load_trees(data_config.get('dir', ''), name).items():
    # trees.phrases lists the root last, and it has a class (load_trees drops sst2_trees' neutral roots).
    keep = slice(None) if phrases and split == 'train' else slice(-1, None)
    examples = [example for tree in split_trees for example in trees.phrases(tree, name)[keep]]
    splits[split] = ([' '.join(words).lower() for words, _ in examples],
                     np.array([label for _, label in examples], np.int32))
  return splits


def _splits_as_written(name: str, data_config) -> tuple:
  """load_labeled before any text normalization (so that splits cut by the text do not depend on it)."""
  data_dir = data_config.get('dir', '')
  if name in trees.DATASETS:
    return _treebank_splits(name, data_config), NUM_CLASSES[name]
  if name in NUM_CLASSES:
    num_classes, whose = NUM_CLASSES[name], f'data.name={name!r}'
    if name == 'sst2':
      return {split: _read_checked(files.data_path(data_dir, path), num_classes, whose)[:2]
              for split, path in SST2.items()}, num_classes
    if name == 'imdb':
      train_path = files.data_path(data_dir, IMDB['train'])
      splits = _hashed_splits(*_read_checked(train_path, num_classes, whose)[:2], data_config, train_path)
      splits['test'] = _read_checked(files.data_path(data_dir, IMDB['test']), num_classes, whose)[:2]
      return splits, num_classes
    texts, labels, _ = _read_checked(files.data_path(data_dir, MR), num_classes, whose)
    return _kfold_splits(texts, labels, data_config), num_classes
  paths = _files_paths(data_config)  # name == 'files'.
  if 'all' in paths:
    texts, labels, num_classes = _read_checked(paths['all'])
    return _kfold_splits(texts, labels, data_config), num_classes
  train_path = paths['train']
  texts, labels, num_classes = _read_checked(train_path)
  whose = f'the training file {train_path}'
  splits = {split: _read_checked(paths[split], num_classes, whose)[:2]
            for split in ('valid', 'test')}
  return dict(train=(texts, labels), **splits), num_classes


def load_labeled(data_config) -> tuple:
  """(splits, num_classes) of the dataset data_config names: {'train', 'valid', 'test'} -> (texts, labels
  int32), the texts normalized by example_normalizer (data.clean's normalizer; for IMDB, <br /> tags first).

  num_classes is declared for sst2, mr, imdb, sst5 and sst2_trees (NUM_CLASSES); for 'files' it is the
  training data's (the train file, or the one file that is cut into folds): its largest label + 1, every
  class occurring there. A label outside the classes, in any split, is a DataError naming its file and line.
  """
  name = checks.check_choice(data_config.get('name', ''), DATASETS, 'data.name')
  normalize = example_normalizer(data_config)
  splits, num_classes = _splits_as_written(name, data_config)
  splits = {split: ([normalize(text) for text in texts], labels) for split, (texts, labels) in splits.items()}
  return splits, num_classes


def vocabulary(directory: str, texts: list, min_count: int, max_vocab: int, rebuild_stale: bool,
               write: bool = True, reserved: tuple = RESERVED) -> tokenizers.Vocabulary:
  """The words of texts (split at whitespace, as written) after the `reserved` ids, saved in directory.

  Words seen at least min_count times, by decreasing count (ties alphabetical); max_vocab > 0 caps the
  size, the reserved ids included. A vocabulary saved there from other texts or settings is rebuilt when
  rebuild_stale, else refused (tokenizers.load_or_build).
  """
  return tokenizers.load_or_build_vocabulary(
      directory, reserved, 'word', texts, rebuild_stale, write, vocab_size=max_vocab, size_key='data.max_vocab',
      min_count=min_count, newline=False)


@register_normalizer('lowercase_split')
def normalize_text(line: str) -> str:
  """Raw text in the style of the sentiment files: lower-cased, punctuation split off.

  "A man, in a hat." -> "a man , in a hat ."; "man's" and "t-shirt" stay whole.
  The word pattern is the word tokenizer's, so these are the words of a word tokenizer with lowercase and
  split_punctuation. Registered as data.clean='lowercase_split', for raw text such as IMDB's reviews.
  """
  return ' '.join(tokenizers._WORD_PATTERN.findall(line.lower()))


def _pretrain_entry(data_dir: str, entry: str, valid_fraction: float) -> list:
  if entry == 'sst2':
    return read_labeled(files.data_path(data_dir, SST2['train']))[0]
  if entry == 'mr':
    return read_labeled(files.data_path(data_dir, MR))[0]
  if entry == 'multi30k':
    return [normalize_text(line) for line in read_lines(files.data_path(data_dir, MULTI30K_EN))]
  if entry in ('imdb', 'imdb_sentences'):  # The reviews the IMDB classifier trains on (not valid), the unlabeled.
    texts = read_labeled(files.data_path(data_dir, IMDB['train']))[0]
    texts = [text for text, valid in zip(texts, held_out(texts, valid_fraction)) if not valid]
    texts += [text.strip() for text in read_lines(files.data_path(data_dir, IMDB_UNLABELED))]
    texts = [text.replace(IMDB_BREAK, ' ') for text in texts]
    if entry == 'imdb':
      return texts
    return [normalize_text(sentence) for text in texts for sentence in split_sentences(text)]
  path = entry if os.path.isabs(entry) else os.path.join(data_dir, entry)
  if not os.path.isfile(path):
    raise ValueError(f'Unknown pretraining corpus {entry!r} (data.pretrain_corpus): neither one of '
                     f'{", ".join(PRETRAIN_CORPORA)} nor a file ({path!r} does not exist).')
  return read_text_lines(path)  # A user's file is used as it is: one sentence per line.


# A sentence ends at . ! or ? (then up to two closing quotes or brackets) followed by spaces and what can start
# a sentence; "Mr. Smith" is cut too, which costs a pretraining corpus little.
_CLOSER = '["\')\\]]'
_SENTENCE_END = re.compile(rf'(?:(?<=[.!?])|(?<=[.!?]{_CLOSER})|(?<=[.!?]{_CLOSER}{_CLOSER}))\s+(?=["\'(\[]?[A-Z0-9])')


def saved_vocabulary(directory: str) -> tokenizers.Vocabulary:
  """The vocabulary saved in `directory`, behind the reserved roles it was built with."""
  source = tokenizers.saved_source(directory) or {}
  return tokenizers.Vocabulary(tokenizers.load(directory), tuple(source.get('reserved', RESERVED)))


def pretraining_documents(data_config) -> list:
  """The documents of data.pretrain_corpus, each a list of sentences (normalized; data.pretrain_exclude
  applied), for objectives that pair sentences of one document. Entries: 'imdb' (each review, cut into sentences
  by split_sentences) or a file whose documents are separated by blank lines, one sentence per line."""
  corpus = data_config.get('pretrain_corpus', DEFAULT_PRETRAIN_CORPUS)
  data_dir, normalize = data_config.get('dir', ''), normalizer(data_config.get('clean', ''))
  excluded = _excluded_keys(data_dir, data_config.get('pretrain_exclude', ''))
  documents = []
  for entry in (entry.strip() for entry in corpus.split(',') if entry.strip()):
    if entry in ('imdb', 'imdb_sentences'):
      raw = [split_sentences(text) for text in _pretrain_entry(data_dir, 'imdb', _valid_fraction(data_config))]
    elif entry in PRETRAIN_CORPORA:
      raise ValueError(f'data.pretrain_corpus entry {entry!r} has no documents; pairing sentences needs imdb or '
                       'a file of documents separated by blank lines.')
    else:
      path = files.user_path(data_dir, entry)
      raw = [block.split('\n') for block in re.split(r'\n\s*\n', files.decode_utf8(files.read_bytes(path), path))]
    for sentences in raw:
      kept = [n for s in sentences if sentence_key(s) not in excluded and (n := normalize(s)).strip()]
      if kept:
        documents.append(kept)
  return documents


def split_sentences(text: str) -> list:
  """The sentences of a raw English text (a review), stripped, empty ones dropped."""
  return [sentence.strip() for sentence in _SENTENCE_END.split(text) if sentence.strip()]


def sentence_key(text: str) -> str:
  """What two copies of one sentence share across files that tokenize it differently ("it's" / "it 's")."""
  return ' '.join(re.findall(r'[a-z0-9]+', text.lower()))


def _excluded_keys(data_dir: str, exclude: str) -> set:
  keys = set()
  for entry in (entry.strip() for entry in exclude.split(',') if entry.strip()):
    if entry == 'sst2_eval':
      paths = [files.data_path(data_dir, SST2[split]) for split in ('valid', 'test')]
    elif entry == 'mr':  # Every MR sentence is a test sentence of one cross-validation fold.
      paths = [files.data_path(data_dir, MR)]
    else:
      try:
        paths = [files.user_path(data_dir, entry)]
      except FileNotFoundError as error:
        raise ValueError(f'data.pretrain_exclude entry {entry!r} is neither sst2_eval, mr nor a LABEL TEXT file: '
                         f'{error}') from error
    keys.update(sentence_key(text) for path in paths for text in read_labeled(path)[0])
  return keys


def pretraining_texts(data_config, corpus: str | None = None) -> tuple:
  """(texts, dropped): the unlabeled sentences of data.pretrain_corpus (or `corpus`), a comma-separated list, in
  its order, and how many data.pretrain_exclude dropped.

  Entries: 'sst2' (the sst2 training texts), 'mr' (all of mr.all: its labels are
  unused, but its text includes every fold's test sentences), 'multi30k' (the
  English training captions, normalized with normalize_text), 'imdb' (the IMDB
  training reviews outside the classifier's valid split, then the 50,000
  unlabeled ones; never the test reviews; `<br />` as a space), 'imdb_sentences'
  (those reviews cut into sentences by split_sentences, each normalized with
  normalize_text like the sentiment files' sentences), or the path of a
  file of one sentence per line (relative to data.dir or absolute). Empty lines
  are dropped: they hold nothing to learn. data.pretrain_exclude (comma-separated:
  'sst2_eval', SST-2's dev and test files, 'mr', all of MR, or paths of LABEL TEXT files) drops
  every sentence that is one of theirs by sentence_key, so that evaluation
  sentences are not pretrained on (MR holds 73% of SST-2's test sentences).
  """
  corpus = data_config.get('pretrain_corpus', DEFAULT_PRETRAIN_CORPUS) if corpus is None else corpus
  entries = [entry.strip() for entry in corpus.split(',') if entry.strip()]
  if not entries:
    raise ValueError(f'data.pretrain_corpus={corpus!r} names no corpus; use a comma-separated '
                     f'list of {", ".join(PRETRAIN_CORPORA)} or file paths.')
  data_dir, normalize = data_config.get('dir', ''), normalizer(data_config.get('clean', ''))
  excluded = _excluded_keys(data_dir, data_config.get('pretrain_exclude', ''))
  texts, dropped = [], 0
  for entry in entries:
    for text in _pretrain_entry(data_dir, entry, _valid_fraction(data_config)):
      if excluded and sentence_key(text) in excluded:
        dropped += 1
      elif normalize(text).strip():
        texts.append(normalize(text))
  return texts, dropped


def make_batch(ids: list, labels: np.ndarray, index: np.ndarray, batch_size: int, pad_multiple: int,
               min_len: int, extras: dict | None = None, max_len: int = 0) -> dict:
  """The batch of examples `index` (at most batch_size), filler rows appended; `extras` are more per-example
  arrays (first axis: the examples) batched the same way, zeros in filler rows."""
  tokens_BT, length_B = batching.pad_sequences([ids[i] for i in index], batch_size, pad_multiple, min_len, PAD_ID,
                                              max_len)
  batch = {'tokens': tokens_BT, 'length': length_B,
           'label': batching.fill_rows(labels[index], batch_size, 0, np.int32),
           'weight': batching.fill_rows(np.ones(len(index)), batch_size, 0, np.float32),
           'index': batching.fill_rows(index, batch_size, -1, np.int32)}
  for name, values in (extras or {}).items():
    batch[name] = batching.fill_rows(values[index], batch_size, 0, values.dtype)
  return batch


def _check_examples(ids: list, labels, extras: dict | None = None) -> np.ndarray:
  labels = np.asarray(labels)
  if labels.shape != (len(ids),):
    raise ValueError(f'{len(ids)} sentences but labels of shape {labels.shape}.')
  for name, values in (extras or {}).items():
    if len(values) != len(ids):
      raise ValueError(f'{len(ids)} sentences but {len(values)} rows of {name}.')
  return labels


def train_batcher(ids: list, labels, batch_size: int, seed: int, pad_multiple: int = 8, min_len: int = 1,
                  pool_batches: int = 100, extras: dict | None = None,
                  max_len: int = 0) -> batching.LengthGroupedBatcher:
  """Length-grouped batches of labeled sentences; a short last batch is filled with rows of weight 0."""
  labels = _check_examples(ids, labels, extras)
  if not len(ids):
    raise ValueError('No labeled sentences to train on.')
  make = functools.partial(make_batch, ids, labels, batch_size=batch_size, pad_multiple=pad_multiple,
                           min_len=min_len, extras=extras, max_len=max_len)
  return batching.LengthGroupedBatcher([len(s) for s in ids], batch_size, seed, make, pool_batches)


def eval_batches(ids: list, labels, batch_size: int, pad_multiple: int = 8, min_len: int = 1,
                 extras: dict | None = None, max_len: int = 0):
  """Every example once, sorted by length (stable); 'index' restores split order."""
  labels = _check_examples(ids, labels, extras)
  make = functools.partial(make_batch, ids, labels, batch_size=batch_size, pad_multiple=pad_multiple,
                           min_len=min_len, extras=extras, max_len=max_len)
  return batching.split_batches(make, len(ids), batch_size, lengths=[len(s) for s in ids])
