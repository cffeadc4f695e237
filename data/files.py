"""Locating dataset files under the configured data directory and reading them as text."""
import gzip
import os


class DataError(ValueError):
  """A data file that cannot be used as it is (not UTF-8, empty, a bad label), named with the place."""


def decode_utf8(data: bytes, path: str, byte: int = 0, line: int = 1) -> str:
  """data as UTF-8, or a DataError naming the file and the byte offset of the first bad byte.

  byte, line: where data starts in the file, when it is one block of it.
  """
  try:
    return data.decode('utf-8')
  except UnicodeDecodeError as e:
    line += data.count(b'\n', 0, e.start)
    raise DataError(f'{path!r} is not UTF-8: byte {byte + e.start} (line {line}) is '
                    f'{data[e.start:e.start + 1]!r}.') from None


def read_bytes(path: str) -> bytes:
  """The bytes of path, gunzipped when it ends in .gz."""
  with (gzip.open if path.endswith('.gz') else open)(path, 'rb') as f:
    return f.read()


def split_lines(text: str) -> list:
  """Lines split on '\n' only, '\r\n' read as '\n', the final newline ending the last line.

  str.splitlines also breaks at U+2028, U+0085 and others, which would silently misalign two
  sides of a corpus, or a translation's output with its input.
  """
  lines = text.split('\n')
  if lines[-1] == '':
    lines.pop()
  return [line[:-1] if line.endswith('\r') else line for line in lines]


def data_path(data_dir: str, relative: str) -> str:
  """Returns data_dir/relative, or raises naming what was expected where."""
  if not data_dir:
    raise FileNotFoundError(
        f'No data directory is set, so {relative!r} cannot be found. Set the '
        'SEQLAB_DATA_DIR environment variable or pass --config.data.dir=DIR '
        '(the folder that holds e.g. tinyshakespeare/input.txt).')
  if not os.path.isdir(data_dir):
    raise FileNotFoundError(
        f'Data directory {data_dir!r} (config.data.dir / SEQLAB_DATA_DIR) does '
        f'not exist; it should contain {relative!r}.')
  path = os.path.join(data_dir, relative)
  if not os.path.exists(path):
    raise FileNotFoundError(
        f'Expected {relative!r} in data directory {data_dir!r}, but {path!r} '
        'does not exist. See ../shared/data/README.md for the layout and sources.')
  return path


def user_path(data_dir: str, path: str) -> str:
  """A path a user gave: itself when absolute, else data_dir/path; raises naming what is missing where."""
  if os.path.isabs(path):
    if not os.path.exists(path):
      raise FileNotFoundError(f'{path!r} does not exist.')
    return path
  return data_path(data_dir, path)


SPLITS = ('train', 'valid', 'test')


def split_paths(data_config, what: str) -> dict:
  """{split: path} from data.train_path, data.valid_path and data.test_path, each resolved by user_path.

  what: how the error names the dataset, e.g. "data.name='files' (CoNLL-U)".
  """
  paths = {split: data_config.get(f'{split}_path', '') for split in SPLITS}
  missing = [f'data.{split}_path' for split, path in paths.items() if not path]
  if missing:
    raise ValueError(f'{what} needs data.train_path, data.valid_path and data.test_path; '
                     f'missing {", ".join(missing)}.')
  return {split: user_path(data_config.get('dir', ''), path) for split, path in paths.items()}
