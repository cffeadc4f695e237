"""CoNLL-U treebanks for part-of-speech tagging: reading, writing predicted tags back, and tagging batches.

A CoNLL-U file holds sentences separated by blank lines; '#' lines are comments; every other line has ten
tab-separated columns: ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC. The words of a sentence are
the lines whose ID is an integer (1, 2, ...). As the UD scorer does for UPOS, multi-word token ranges
('1-2', the surface token "don't" over the words "do" "n't") and empty nodes ('8.1') are skipped: they are
kept only to be copied to the output.

Datasets: 'ud_english_ewt' (the files under ud_english_ewt/ of the data directory) and 'files'
(data.train_path, data.valid_path, data.test_path: any CoNLL-U treebank, plain or .gz).

Tagging batches (make_batch), B sentences of T words (T rounded up to a multiple of pad_multiple):

  'tokens'     (B, T) int32    word ids (PAD past a sentence's end)
  'length'     (B,)   int32    words per sentence (0 for a filler row)
  'upos'       (B, T) int32    tag ids; -1 for a tag the training data never had (scored as wrong) and
  'xpos'       (B, T) int32    at padding
  'oov'        (B, T) float32  1 at a word the training data does not hold
  'weight'     (B,)   float32  1 for a sentence, 0 for a filler row
  'index'      (B,)   int32    the sentence's position in its split, -1 for filler rows
  'chars'      (B, T, X) int32 each word's characters, PAD after its end (and at padding words); X is
                               data.max_word_len, the same in every batch
"""
import dataclasses
import functools
import re

import numpy as np

from data import batching
from data import files
from data.parallel import read_lines

DATASETS = ('ud_english_ewt', 'files')
EWT = {'train': 'ud_english_ewt/en_ewt-ud-train.conllu.gz', 'valid': 'ud_english_ewt/en_ewt-ud-dev.conllu.gz',
       'test': 'ud_english_ewt/en_ewt-ud-test.conllu.gz'}
TAG_COLUMNS = {'upos': 3, 'xpos': 4}
NUM_COLUMNS = 10
PAD_ID = 0  # data/labeled.py's PAD, for words and characters alike.
NO_TAG = -1  # A tag outside the training tag set, and padding.
_WORD_ID = re.compile(r'[1-9][0-9]*')
_RANGE_ID = re.compile(r'[1-9][0-9]*-[1-9][0-9]*')
_EMPTY_ID = re.compile(r'[0-9]+\.[1-9][0-9]*')


class ConlluError(files.DataError):
  """A line that is not CoNLL-U, named by file and line."""


@dataclasses.dataclass(frozen=True)
class Sentence:
  words: tuple  # FORM of each word (ranges and empty nodes skipped); white space inside a form is '_'.
  upos: tuple
  xpos: tuple
  lines: tuple  # Every line of the sentence as written (comments, ranges, empty nodes), for writing it back.
  word_lines: tuple  # The index in `lines` of each word's line.


def _sentence(lines: list, where: str, first_line: int) -> Sentence:
  words, upos, xpos, word_lines = [], [], [], []
  for i, line in enumerate(lines):
    if line.startswith('#'):
      continue
    place = f'{where}:{first_line + i}'
    columns = line.split('\t')
    if len(columns) != NUM_COLUMNS:
      raise ConlluError(f'{place}: a CoNLL-U line has {NUM_COLUMNS} tab-separated columns; this one has '
                        f'{len(columns)}: {line[:80]!r}.')
    token_id = columns[0]
    if _RANGE_ID.fullmatch(token_id) or _EMPTY_ID.fullmatch(token_id):
      continue  # A multi-word token or an empty node: not a word of the tagging task.
    if not _WORD_ID.fullmatch(token_id):
      raise ConlluError(f'{place}: ID {token_id!r} is not a word number (1, 2, ...), a range (1-2) or an '
                        'empty node (1.1).')
    if int(token_id) != len(words) + 1:
      raise ConlluError(f'{place}: word ID {token_id} should be {len(words) + 1} (word IDs count up from 1).')
    form = columns[1]
    if not form.strip():
      raise ConlluError(f'{place}: word {token_id} has an empty FORM.')
    for name, column in TAG_COLUMNS.items():
      if not columns[column].strip():
        raise ConlluError(f'{place}: word {token_id} has an empty {name.upper()} (write _ for none).')
    words.append('_'.join(form.split()))  # One word stays one word in whitespace-split text.
    upos.append(columns[TAG_COLUMNS['upos']])
    xpos.append(columns[TAG_COLUMNS['xpos']])
    word_lines.append(i)
  if not words:
    raise ConlluError(f'{where}:{first_line}: a sentence without words.')
  return Sentence(tuple(words), tuple(upos), tuple(xpos), tuple(lines), tuple(word_lines))


def parse_conllu(lines: list, where: str) -> list:
  """The sentences of a CoNLL-U file's lines; `where` names the file in errors."""
  sentences, block, start = [], [], 1
  for number, line in enumerate(lines + [''], start=1):
    if line.strip():
      if not block:
        start = number
      block.append(line)
    elif block:
      sentences.append(_sentence(block, where, start))
      block = []
  return sentences


def read_conllu(path: str) -> list:
  """Every sentence of a CoNLL-U file (plain or .gz); a malformed line is a ConlluError naming it."""
  sentences = parse_conllu(read_lines(path), path)
  if not sentences:
    raise ConlluError(f'{path!r} holds no sentences.')
  return sentences


def split_paths(data_config) -> dict:
  """{split: path} of the dataset data.name names."""
  if data_config.name == 'ud_english_ewt':
    return {split: files.data_path(data_config.get('dir', ''), path) for split, path in EWT.items()}
  return files.split_paths(data_config, "data.name='files' (CoNLL-U)")


def load_splits(data_config) -> dict:
  if data_config.name not in DATASETS:
    raise ValueError(f'Unknown tagging dataset {data_config.name!r}; choose from {", ".join(DATASETS)}.')
  return {split: read_conllu(path) for split, path in split_paths(data_config).items()}


def write_conllu(sentences: list, upos: list, xpos: list, out) -> None:
  """Writes the sentences as read, with UPOS and XPOS of each word replaced by the given tags (a list of
  tag sequences per sentence); every other column and line (comments, ranges, empty nodes) is copied."""
  for sentence, sentence_upos, sentence_xpos in zip(sentences, upos, xpos, strict=True):
    lines = list(sentence.lines)
    for line_index, u, x in zip(sentence.word_lines, sentence_upos, sentence_xpos, strict=True):
      columns = lines[line_index].split('\t')
      columns[TAG_COLUMNS['upos']], columns[TAG_COLUMNS['xpos']] = u, x
      lines[line_index] = '\t'.join(columns)
    out.write('\n'.join(lines) + '\n\n')


def plain_sentence(words: list) -> Sentence:
  """A sentence of whitespace-tokenized text, as a CoNLL-U sentence with no annotation (for writing tags)."""
  lines = tuple('\t'.join([str(i + 1), word] + ['_'] * (NUM_COLUMNS - 2)) for i, word in enumerate(words))
  return Sentence(tuple(words), ('_',) * len(words), ('_',) * len(words), lines, tuple(range(len(words))))


def tag_set(sentences: list, column: str) -> list:
  """The tags of one column in the sentences, sorted (ids are positions in this list)."""
  return sorted({tag for sentence in sentences for tag in getattr(sentence, column)})


def tag_ids(tags: tuple, index: dict) -> np.ndarray:
  return np.array([index.get(tag, NO_TAG) for tag in tags], np.int32)


@dataclasses.dataclass
class Encoded:
  """A split as arrays per sentence: word ids, tag ids, out-of-vocabulary flags, characters (words, W)."""
  tokens: list
  upos: list
  xpos: list
  oov: list
  chars: list


def word_chars(char_vocab, word: str, width: int) -> np.ndarray:
  """(width,) the word's character ids, PAD after its end. A longer word keeps its first and last width // 2
  characters: prefixes and suffixes say the most about a tag (and web text has 200-character URLs)."""
  ids = char_vocab.encode(word)
  if len(ids) > width:
    ids = np.concatenate([ids[:width // 2], ids[len(ids) - (width - width // 2):]])
  row = np.full(width, PAD_ID, np.int32)
  row[:len(ids)] = ids
  return row


def word_text(words, lowercase: bool = False) -> str:
  """What a vocabulary reads of a sentence's words: them, space-separated, lower-cased with `lowercase` (a
  lower-cased pretrained vocabulary's; the characters keep the case)."""
  text = ' '.join(words)
  return text.lower() if lowercase else text


def encode(sentences: list, vocab, char_vocab, upos_index: dict, xpos_index: dict, train_words: set,
           max_word_len: int, lowercase: bool = False) -> Encoded:
  """Encodes sentences for make_batch; a tag outside the index is NO_TAG."""
  tokens = []
  for sentence in sentences:
    ids = vocab.encode(word_text(sentence.words, lowercase))
    if len(ids) != len(sentence.words):  # White space inside a word would shift every later one.
      raise ValueError(f'{len(sentence.words)} words but {len(ids)} ids in {" ".join(sentence.words)!r}.')
    tokens.append(ids)
  return Encoded(tokens=tokens,
                 upos=[tag_ids(s.upos, upos_index) for s in sentences],
                 xpos=[tag_ids(s.xpos, xpos_index) for s in sentences],
                 oov=[np.array([w not in train_words for w in s.words], np.float32) for s in sentences],
                 chars=[np.stack([word_chars(char_vocab, w, max_word_len) for w in s.words]) for s in sentences])


def make_batch(data: Encoded, index: np.ndarray, batch_size: int, pad_multiple: int) -> dict:
  """The batch of sentences `index` (at most batch_size), filler rows appended (see the module docstring)."""
  tokens_BT, length_B = batching.pad_sequences([data.tokens[i] for i in index], batch_size, pad_multiple,
                                                pad_id=PAD_ID)
  T = tokens_BT.shape[1]
  def per_word(column, fill, dtype, tail=()):
    values = np.full((batch_size, T) + tail, fill, dtype)
    for row, i in enumerate(index):
      values[row, :len(column[i])] = column[i]
    return values
  return {'tokens': tokens_BT, 'length': length_B, 'upos': per_word(data.upos, NO_TAG, np.int32),
          'xpos': per_word(data.xpos, NO_TAG, np.int32), 'oov': per_word(data.oov, 0, np.float32),
          'chars': per_word(data.chars, PAD_ID, np.int32, data.chars[0].shape[1:]),
          'weight': batching.fill_rows(np.ones(len(index)), batch_size, 0, np.float32),
          'index': batching.fill_rows(index, batch_size, -1, np.int32)}


def train_batcher(data: Encoded, batch_size: int, seed: int, pad_multiple: int = 8,
                  pool_batches: int = 100) -> batching.LengthGroupedBatcher:
  if not data.tokens:
    raise ValueError('No sentences to train on.')
  make = functools.partial(make_batch, data, batch_size=batch_size, pad_multiple=pad_multiple)
  return batching.LengthGroupedBatcher([len(t) for t in data.tokens], batch_size, seed, make, pool_batches)


def eval_batches(data: Encoded, batch_size: int, pad_multiple: int = 8):
  """Every sentence once, sorted by length (stable); 'index' restores the split's order."""
  make = functools.partial(make_batch, data, batch_size=batch_size, pad_multiple=pad_multiple)
  return batching.split_batches(make, len(data.tokens), batch_size, lengths=[len(t) for t in data.tokens])
