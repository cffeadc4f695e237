"""Tokenizers behind one interface: char, word and sentencepiece (bpe, unigram), and the vocabulary of a task.

Each tokenizer maps text to int32 ids and back, knows its vocabulary size and
its special ids, and saves itself to a directory as `tokenizer.json` (its kind
and data, plus the .model file for sentencepiece) that `load(directory)`
restores. All are built from the training split only, so valid and test text
can hold unknown symbols; those map to the `<unk>` id, which is always 0.

A `Vocabulary` puts the ids a task reserves (padding, BOS, EOS, CLS, MASK)
before a tokenizer's. A workdir keeps its tokenizer with the source it was built
from (`load_or_build`, `load_or_build_vocabulary`), so a stale one is never
reused.
"""
import abc
import collections
import hashlib
import io
import json
import os
import re

import numpy as np
import sentencepiece as spm

from configs import checks
from data import files

CONFIG_FILE = 'tokenizer.json'
SENTENCEPIECE_FILE = 'sentencepiece.model'
UNK, EOS = '<unk>', '<eos>'


class Tokenizer(abc.ABC):
  """The interface every tokenizer implements."""
  kind: str

  @abc.abstractmethod
  def encode(self, text: str) -> np.ndarray:
    """Returns the ids of text, int32 of shape (T,)."""

  @abc.abstractmethod
  def decode(self, ids) -> str:
    """Returns the text of a sequence of ids."""

  @property
  @abc.abstractmethod
  def vocab_size(self) -> int:
    """Number of ids: every id is in [0, vocab_size)."""

  @property
  @abc.abstractmethod
  def special_ids(self) -> dict:
    """Ids with a role, by name, e.g. {'unk': 0}."""

  @abc.abstractmethod
  def _data(self, directory: str) -> dict:
    """What tokenizer.json holds besides the kind; may write further files."""

  def fingerprint(self) -> str:
    """sha256 of what decides the ids (kind and vocabulary), e.g. to key tokens cached from it."""
    digest = hashlib.sha256(self.kind.encode())
    digest.update(self._identity())
    return digest.hexdigest()

  def _identity(self) -> bytes:
    return json.dumps(self._data(None), sort_keys=True, ensure_ascii=False).encode()

  def save(self, directory: str, source: dict | None = None) -> None:
    """source: what the tokenizer was built from (see load_or_build), kept beside it."""
    os.makedirs(directory, exist_ok=True)
    config = dict(kind=self.kind, **self._data(directory))
    if source is not None:
      config['source'] = source
    # tokenizer.json appears last and whole (rename), so a run killed while
    # saving leaves no half-written tokenizer for its resumption to load.
    path = os.path.join(directory, CONFIG_FILE)
    with open(path + '.tmp', 'w', encoding='utf-8') as f:
      json.dump(config, f, ensure_ascii=False, indent=1)
    os.replace(path + '.tmp', path)


class CharTokenizer(Tokenizer):
  """One id per character of the training text (sorted), after `<unk>` = 0."""
  kind = 'char'

  def __init__(self, chars: list):
    self.chars = list(chars)
    if self.chars != sorted(set(self.chars)):
      raise ValueError('CharTokenizer expects sorted, distinct characters.')
    self._codes = np.array([ord(c) for c in self.chars], np.uint32)
    # Code point -> id, one past the largest code point mapping to <unk>: encoding is one gather.
    self._ids = np.zeros(int(self._codes.max(initial=0)) + 2, np.int32)
    self._ids[self._codes] = np.arange(1, len(self._codes) + 1)
    # Id -> code point; <unk> decodes to U+FFFD so every id stays one character.
    self._decode_codes = np.concatenate([[0xFFFD], self._codes]).astype(np.uint32)

  @classmethod
  def train(cls, text: str) -> 'CharTokenizer':
    return cls(sorted(set(text)))

  @staticmethod
  def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode('utf-32-le'), np.uint32)

  def encode(self, text: str) -> np.ndarray:
    return self._ids.take(self._code_points(text), mode='clip')

  def decode(self, ids) -> str:
    return self._decode_codes[np.asarray(ids, np.int64)].tobytes().decode('utf-32-le')

  @property
  def vocab_size(self) -> int:
    return len(self.chars) + 1

  @property
  def special_ids(self) -> dict:
    return {'unk': 0}

  def _data(self, directory: str) -> dict:
    return {'chars': self.chars}

  @classmethod
  def _from_data(cls, data: dict, directory: str) -> 'CharTokenizer':
    return cls(data['chars'])


# With split_punctuation: the specials whole, numbers like 3.5 or 1,000 whole,
# words with inner apostrophes or hyphens ("man's", "t-shirt") whole, and every
# other non-space character (punctuation) a token of its own.
_WORD_PATTERN = re.compile(r"<unk>|<eos>|\d+(?:[.,:]\d+)+|\w+(?:['\u2019-]\w+)*|[^\w\s]")
# Plain detokenization: no space before closers, none after openers; straight
# quotes alternate opening/closing within a line.
_NO_SPACE_BEFORE = frozenset(',.!?;:%)]}\u201d\u2019')
_NO_SPACE_AFTER = frozenset('([{\u201c\u2018\u201e\u201a')
_STRAIGHT_QUOTES = frozenset('"\'')


def _detokenize(words: list) -> str:
  text, glue, open_quotes = '', True, set()
  for word in words:
    quote = word in _STRAIGHT_QUOTES
    closing = word in _NO_SPACE_BEFORE or (quote and word in open_quotes)
    if not (glue or closing):
      text += ' '
    text += word
    glue = word in _NO_SPACE_AFTER or (quote and not closing)
    if quote and closing:
      open_quotes.remove(word)
    elif quote:
      open_quotes.add(word)
  return text


class WordTokenizer(Tokenizer):
  """Whitespace-separated words; with `newline`, `<eos>` stands for each newline.

  Ids: `<unk>` = 0, `<eos>` = 1 (with newline), then the kept words, most
  frequent first. decode joins the words of a line with single spaces and lines
  with '\\n', so it rebuilds the line structure; other whitespace is not kept. A
  literal '<unk>' word in the text (as in PTB) encodes to the `<unk>` id.
  Without newline (text of one sentence per example), a newline is whitespace
  like any other and there is no `<eos>`.

  split_punctuation splits punctuation off words ("bushes." -> "bushes", ".";
  "man's" stays whole), and decode then detokenizes plainly ("a man ." ->
  "a man."), for translation output scored on raw text.
  """
  kind = 'word'

  def __init__(self, words: list, lowercase: bool, split_punctuation: bool = False,
               min_count: int = 1, newline: bool = True):
    self.specials = [UNK, EOS] if newline else [UNK]
    self.vocab = self.specials + list(words)
    self.lowercase = lowercase
    self.split_punctuation = split_punctuation
    self.min_count = min_count  # Recorded only: it already shaped `words`.
    self.newline = newline
    self._index = {word: i for i, word in enumerate(self.vocab)}
    if len(self._index) != len(self.vocab) or (EOS in self._index and not newline):
      raise ValueError('WordTokenizer expects distinct words, none of them <unk> or <eos>.')

  def _words(self, line: str) -> list:
    return _WORD_PATTERN.findall(line) if self.split_punctuation else line.split()

  def _lines(self, text: str) -> list:
    return text.split('\n') if self.newline else [text]

  @classmethod
  def train(cls, text: str, vocab_size: int, lowercase: bool, min_count: int = 1,
            split_punctuation: bool = False, newline: bool = True) -> 'WordTokenizer':
    """Keeps the vocab_size - (2 or 1 without newline) most frequent words (all when vocab_size is 0)
    among those seen at least min_count times."""
    if lowercase:
      text = text.lower()
    tokenizer = cls([], lowercase, split_punctuation, min_count, newline)
    counts = collections.Counter(
        word for line in tokenizer._lines(text) for word in tokenizer._words(line))
    for special in (UNK, EOS):
      counts.pop(special, None)
    # Ties go to the word that sorts first, so the vocabulary is a function of the text.
    words = sorted((w for w in counts if counts[w] >= min_count), key=lambda word: (-counts[word], word))
    if vocab_size:
      specials = ', '.join(tokenizer.specials)
      if vocab_size <= len(tokenizer.specials):
        raise ValueError(
            f'A word vocabulary needs vocab_size >= {len(tokenizer.specials) + 1} ({specials} and a word), '
            f'got {vocab_size}.')
      words = words[:vocab_size - len(tokenizer.specials)]
    return cls(words, lowercase, split_punctuation, min_count, newline)

  def encode(self, text: str) -> np.ndarray:
    if self.lowercase:
      text = text.lower()
    ids = []
    for i, line in enumerate(self._lines(text)):
      if i:
        ids.append(1)
      ids.extend(self._index.get(word, 0) for word in self._words(line))
    return np.array(ids, np.int32)

  def decode(self, ids) -> str:
    join = _detokenize if self.split_punctuation else ' '.join
    lines, line = [], []
    for i in np.asarray(ids).tolist():
      if i == 1 and self.newline:
        lines.append(join(line))
        line = []
      else:
        line.append(self.vocab[i])
    lines.append(join(line))
    return '\n'.join(lines)

  @property
  def vocab_size(self) -> int:
    return len(self.vocab)

  @property
  def special_ids(self) -> dict:
    return {'unk': 0, 'eos': 1} if self.newline else {'unk': 0}

  def _data(self, directory: str) -> dict:
    return {'words': self.vocab[len(self.specials):], 'lowercase': self.lowercase,
            'split_punctuation': self.split_punctuation, 'min_count': self.min_count, 'newline': self.newline}

  @classmethod
  def _from_data(cls, data: dict, directory: str) -> 'WordTokenizer':
    # Files saved before these options existed lack them; the defaults are that behaviour.
    return cls(data['words'], data['lowercase'], data.get('split_punctuation', False),
               data.get('min_count', 1), data.get('newline', True))


class SentencePieceTokenizer(Tokenizer):
  """A sentencepiece model ('bpe' or 'unigram') that round-trips text exactly.

  sentencepiece reads its input as one sentence per line, so newlines are handled
  here: text is encoded line by line and the lines are joined by the id of a
  reserved '\\n' piece (a user-defined symbol, id 1); decode splits at that id.
  Identity normalization with extra whitespace kept makes each line reversible,
  and the dummy '▁' prefix sentencepiece adds to each line (and decode removes)
  lets a word at the start of a line use the same pieces as one after a space.
  Characters not in the training text become `<unk>` (id 0) unless the model was
  trained with byte_fallback, which spells them as UTF-8 bytes.
  """

  def __init__(self, kind: str, model_proto: bytes):
    self.kind = kind
    self.model_proto = model_proto
    self._sp = spm.SentencePieceProcessor(model_proto=model_proto)
    self._newline = self._sp.piece_to_id('\n')
    if self._sp.unk_id() != 0 or self._newline != 1:
      raise ValueError('Expected a sentencepiece model with <unk> = 0 and a "\\n" piece = 1.')

  @classmethod
  def train(cls, kind: str, text: str, vocab_size: int, byte_fallback: bool) -> 'SentencePieceTokenizer':
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text.split('\n')), model_writer=model,
        model_type=kind, vocab_size=vocab_size,
        # Reversible: no normalization, whitespace as it is, every training character kept.
        normalization_rule_name='identity', remove_extra_whitespaces=False,
        character_coverage=1.0, byte_fallback=byte_fallback,
        unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, user_defined_symbols=['\n'],
        # Deterministic: one thread, every sentence, in order.
        num_threads=1, input_sentence_size=0, shuffle_input_sentence=False,
        minloglevel=2)
    return cls(kind, model.getvalue())

  def encode(self, text: str) -> np.ndarray:
    lines = self._sp.encode(text.split('\n'))
    ids = list(lines[0])
    for line in lines[1:]:
      ids.append(self._newline)
      ids.extend(line)
    return np.array(ids, np.int32)

  def decode(self, ids) -> str:
    ids = np.asarray(ids, np.int64)
    breaks = np.flatnonzero(ids == self._newline)
    lines = np.split(ids, breaks)
    lines = [lines[0].tolist()] + [line[1:].tolist() for line in lines[1:]]
    return '\n'.join(self._sp.decode(lines))

  @property
  def vocab_size(self) -> int:
    return self._sp.get_piece_size()

  @property
  def special_ids(self) -> dict:
    return {'unk': 0, 'newline': self._newline}

  def _identity(self) -> bytes:
    return self.model_proto

  def _data(self, directory: str) -> dict:
    with open(os.path.join(directory, SENTENCEPIECE_FILE), 'wb') as f:
      f.write(self.model_proto)
    return {'model_file': SENTENCEPIECE_FILE}

  @classmethod
  def _from_data(cls, data: dict, directory: str) -> 'SentencePieceTokenizer':
    with open(os.path.join(directory, data['model_file']), 'rb') as f:
      return cls(data['kind'], f.read())


KINDS = {'char': CharTokenizer, 'word': WordTokenizer,
         'bpe': SentencePieceTokenizer, 'unigram': SentencePieceTokenizer}


def build_tokenizer(kind: str, train_text: str, vocab_size: int = 0,
                    lowercase: bool = False, byte_fallback: bool = False,
                    min_count: int = 1, split_punctuation: bool = False, newline: bool = True) -> Tokenizer:
  """Builds a tokenizer of `kind` from the training text.

  vocab_size counts every id, specials included: 0 keeps the whole vocabulary of
  the text for 'word' and must be 0 for 'char' (its vocabulary is the text's
  characters); 'bpe' and 'unigram' need it. lowercase, min_count (drop words
  seen fewer times), split_punctuation and newline (False: no <eos>) are for
  'word' only, byte_fallback for 'bpe' and 'unigram' only.
  """
  checks.check_choice(kind, tuple(KINDS), 'tokenizer')
  word_options = {'lowercase': lowercase, 'min_count': min_count != 1,
                  'split_punctuation': split_punctuation, 'newline': not newline}
  for option, given in word_options.items():
    if given and kind != 'word':
      raise ValueError(f'{option} applies to the word tokenizer only, not {kind!r}.')
  if min_count < 1:
    raise ValueError(f'min_count must be >= 1, got {min_count}.')
  if byte_fallback and kind not in ('bpe', 'unigram'):
    raise ValueError(f'byte_fallback applies to bpe and unigram only, not {kind!r}.')
  if kind == 'char':
    if vocab_size:
      raise ValueError(
          f'The char vocabulary is the characters of the text; pass vocab_size=0, not {vocab_size}.')
    return CharTokenizer.train(train_text)
  if kind == 'word':
    return WordTokenizer.train(train_text, vocab_size, lowercase, min_count, split_punctuation, newline)
  if vocab_size <= 0:
    raise ValueError(f'A {kind} tokenizer needs vocab_size > 0, got {vocab_size}.')
  return SentencePieceTokenizer.train(kind, train_text, vocab_size, byte_fallback)


def text_fingerprint(texts) -> str:
  """sha256 of the texts a tokenizer is built from, in order."""
  digest = hashlib.sha256()
  for text in texts:
    digest.update(text.encode('utf-8', 'surrogatepass'))
    digest.update(b'\0')
  return digest.hexdigest()


def saved_source(directory: str):
  """The source dict saved with the tokenizer in `directory`; None if none is saved there."""
  path = os.path.join(directory, CONFIG_FILE)
  if not os.path.exists(path):
    return None
  with open(path, encoding='utf-8') as f:
    return json.load(f).get('source', {})


def load_or_build(directory: str, source: dict, build, rebuild_stale: bool, write: bool = True) -> Tokenizer:
  """The tokenizer saved in `directory` if it was built from `source`, else `build()`, saved there with it.

  source: what decides the vocabulary (kind, sizes, options, the training text's fingerprint). A saved
  tokenizer built from another source is left from an earlier run: rebuilt when `rebuild_stale` (nothing
  was trained with it), else a DataError, since the checkpoints beside it index its vocabulary.
  """
  saved = saved_source(directory)
  if saved == source or (saved == {} and not rebuild_stale):
    # {}: saved before tokenizers recorded their source; a run resuming with it keeps it, unchecked.
    return load(directory)
  if saved is not None and not rebuild_stale:
    changed = sorted(k for k in saved.keys() | source.keys() if saved.get(k) != source.get(k))
    raise files.DataError(
        f'{directory!r} holds a vocabulary built from other data or settings (differing in: {", ".join(changed)}) '
        'and the checkpoints beside it use that vocabulary; resume with the data and config it was built from, '
        'or train into a new workdir.')
  tokenizer = build()
  if write:
    tokenizer.save(directory, source)
  return tokenizer


class Vocabulary:
  """A tokenizer's ids behind ids reserved for roles the model gives them (padding, sentence start and
  end, a classifier slot, a mask), so that every task reads text through one tokenizer family.

  reserved: the roles, in id order (ids 0 .. R-1), declared by the task. The tokenizer's id i is id
  i + R, except that a reserved 'unk' is the tokenizer's own <unk> (its id 0) moved to that place, its
  other ids then following from R: an unknown word has one id however the text was tokenized.
  """

  def __init__(self, tokenizer: Tokenizer, reserved: tuple):
    self.tokenizer, self.reserved = tokenizer, tuple(reserved)
    self.ids = {role: i for i, role in enumerate(self.reserved)}  # The reserved ids by role.
    if len(self.ids) != len(self.reserved):
      raise ValueError(f'Reserved roles must be distinct; got {self.reserved}.')
    self._unk = self.ids.get('unk')
    self._offset = _added_ids(self.reserved)

  @property
  def vocab_size(self) -> int:
    return self.tokenizer.vocab_size + self._offset

  @property
  def num_reserved(self) -> int:
    """The first id that is not reserved: the tokenizer's ids (words, pieces) are [num_reserved, vocab_size)."""
    return len(self.reserved)

  def encode(self, text: str) -> np.ndarray:
    """The ids of text, int32 (T,), with no reserved id added (no BOS or EOS)."""
    ids = self.tokenizer.encode(text)
    shifted = ids + self._offset
    if self._unk is not None:
      shifted = np.where(ids == 0, self._unk, shifted)
    return shifted.astype(np.int32)

  def decode(self, ids) -> str:
    """The text of ids up to the first reserved 'eos' (if one is reserved), the other reserved ids skipped
    (but 'unk', the tokenizer's <unk>), so a padded row decodes whole."""
    ids = np.asarray(ids, np.int64).reshape(-1)
    if 'eos' in self.ids:
      eos = np.flatnonzero(ids == self.ids['eos'])
      if len(eos):
        ids = ids[:eos[0]]
    tokens = ids - self._offset
    kept = ids >= self.num_reserved
    if self._unk is not None:
      tokens = np.where(ids == self._unk, 0, tokens)
      kept |= ids == self._unk
    return self.tokenizer.decode(tokens[kept])


def _added_ids(reserved: tuple) -> int:
  """How many ids `reserved` adds before a tokenizer's own: each role, but 'unk', which the tokenizer has."""
  return len(reserved) - ('unk' in reserved)


def load_or_build_vocabulary(directory: str, reserved: tuple, kind: str, texts: list, rebuild_stale: bool,
                             write: bool = True, vocab_size: int = 0, size_key: str = 'vocab_size',
                             **options) -> Vocabulary:
  """The Vocabulary of a `kind` tokenizer trained on texts (one text per line) behind `reserved` ids, kept
  in `directory` as load_or_build keeps a tokenizer (a stale one is rebuilt when rebuild_stale, else refused).

  vocab_size counts every id, the reserved ones included (0: every word of the texts, for 'word'), and
  size_key names it in errors; options (lowercase, min_count ...) go to build_tokenizer.
  """
  if vocab_size and vocab_size <= len(reserved):
    raise ValueError(f'{size_key} counts the {len(reserved)} reserved ids ({", ".join(reserved)}), so it must '
                     f'exceed them (or be 0 where the text decides); got {vocab_size}.')
  added = _added_ids(reserved)
  source = dict(tokenizer=kind, vocab_size=vocab_size, reserved=list(reserved), **options,
                train_text_sha256=text_fingerprint(texts))
  build = lambda: build_tokenizer(kind, '\n'.join(texts), vocab_size - added if vocab_size else 0, **options)
  return Vocabulary(load_or_build(directory, source, build, rebuild_stale, write), reserved)


def load(directory: str) -> Tokenizer:
  """Restores the tokenizer that `save(directory)` wrote, whichever kind it is."""
  path = os.path.join(directory, CONFIG_FILE)
  if not os.path.exists(path):
    raise FileNotFoundError(f'No saved tokenizer in {directory!r}: {path!r} does not exist.')
  with open(path, encoding='utf-8') as f:
    data = json.load(f)
  if data.get('kind') not in KINDS:
    raise ValueError(f'{path!r} names tokenizer kind {data.get("kind")!r}; known: {", ".join(KINDS)}.')
  return KINDS[data['kind']]._from_data(data, directory)
