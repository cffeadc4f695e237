"""Locating dataset files under the configured data directory."""
import os


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
