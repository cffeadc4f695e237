"""Text corpora for language modelling, read from the data directory and split.

A corpus is one file of text; the splits are contiguous character ranges of it,
cut by one of two published schemes so results compare with their papers.
"""
from configs import checks
from data import files

# Corpus name -> file under the data directory (see ../shared/data/README.md).
CORPORA = {'tinyshakespeare': 'tinyshakespeare/input.txt'}

SPLITS = ('charrnn', 'nanogpt')


def load_text(data_dir: str, relative_path: str) -> str:
  """Returns the file data_dir/relative_path as UTF-8 text, exactly as stored."""
  path = files.data_path(data_dir, relative_path)
  # Bytes decoded as they are: '\r\n' stays two characters, so lengths match the published counts.
  return files.decode_utf8(files.read_bytes(path), path)


def split_text(text: str, split: str) -> dict:
  """Cuts text into {'train', 'valid', 'test'} contiguous strings.

  'charrnn': the first 90% of characters train; the last 10% is halved into
    valid then test (the odd character, if any, goes to test).
  'nanogpt': the first 90% train; the last 10% is valid, and test is the same
    text as valid (nanoGPT reports no separate test split).
  90% is rounded down: 1,115,394 characters of Tiny Shakespeare give nanoGPT's
  1,003,854 train and 111,540 valid characters.
  """
  checks.check_choice(split, SPLITS, 'data.split')
  n_train = len(text) * 9 // 10  # Integer arithmetic: int(n * 0.9) can round wrongly.
  train, rest = text[:n_train], text[n_train:]
  if split == 'nanogpt':
    return {'train': train, 'valid': rest, 'test': rest}
  n_valid = len(rest) // 2
  return {'train': train, 'valid': rest[:n_valid], 'test': rest[n_valid:]}


def load_corpus(data_config) -> dict:
  """The splits of corpus data_config.name under data_config.dir, cut by data_config.split.

  data_config.max_chars > 0 keeps only that prefix of the corpus before splitting.
  """
  name = checks.check_choice(data_config.name, sorted(CORPORA), 'data.name')
  text = load_text(data_config.dir, CORPORA[name])
  max_chars = data_config.get('max_chars', 0)  # A prefix of the corpus, for quick runs and tests.
  return split_text(text[:max_chars] if max_chars else text, data_config.split)
