"""The command-line programs: every user error is one `error: ...` line with exit status 2, before any
compile; translate.py and classify.py read their input line for line."""
import io
import os
import subprocess
import sys

import pytest

from training import cli
from training import config_loading

TINY = 'configs/timeseries/dense.py:tiny'


def _run(tmp_path, *args, script='train.py', stdin=None):
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  return subprocess.run([sys.executable, os.path.join(config_loading.REPO_ROOT, script), *args], env=env,
                        capture_output=True, text=True, cwd=tmp_path, timeout=120, input=stdin)


def _write(path, text: str) -> str:
  path.write_text(text)
  return str(path)


def _cases(tmp_path):
  """(arguments, what the error line must say) of mistakes a user makes."""
  config = os.path.join(config_loading.REPO_ROOT, TINY.split(':')[0]) + ':tiny'
  a_file = _write(tmp_path / 'a_file', 'x')
  read_only = tmp_path / 'read_only'
  read_only.mkdir()
  os.chmod(read_only, 0o500)
  return [
      ([f'--config={config}', f'--workdir={tmp_path / "w"}', '--config.train.bogus=1'],
       "Unknown config key 'train.bogus'; valid keys under 'train'"),
      ([f'--config={config}', f'--workdir={tmp_path / "w"}', '--config.optimizer.name=adamm'],
       "Unknown optimizer.name 'adamm'; choose one of"),
      ([f'--config={tmp_path / "missing.py"}', f'--workdir={tmp_path / "w"}'], 'cannot load the --config file'),
      ([f'--config={_write(tmp_path / "broken.py", "def get_config(:")}', f'--workdir={tmp_path / "w"}'],
       'SyntaxError'),
      ([f'--config={config}', f'--workdir={a_file}'], 'Cannot use workdir'),
      ([f'--config={config}', f'--workdir={read_only / "sub"}'], 'Cannot use workdir'),
      ([f'--config={config}', f'--workdir={tmp_path / "w"}', '--bogus_flag'], 'bogus_flag'),
      ([f'--config={config}', f'--workdir={tmp_path / "w"}', 'stray'], 'unexpected arguments'),
  ]


def test_user_errors_are_one_line_with_status_2(tmp_path):
  if os.geteuid() == 0:  # root writes anywhere: the read-only case cannot happen.
    cases = [c for c in _cases(tmp_path) if 'read_only' not in c[0][1]]
  else:
    cases = _cases(tmp_path)
  for args, expected in cases:
    result = _run(tmp_path, *args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (args, result.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith('error: ') and expected in lines[0], (args, lines)


def test_a_data_error_is_one_line_naming_the_file_and_byte(tmp_path):
  data = tmp_path / 'data' / 'tinyshakespeare'
  data.mkdir(parents=True)
  (data / 'input.txt').write_bytes(b'First Citizen:\n\xe9\n' * 100)
  result = _run(tmp_path, '--config=' + os.path.join(config_loading.REPO_ROOT, 'configs/charlm/lstm.py:tiny'),
                f'--workdir={tmp_path / "w"}', f'--config.data.dir={tmp_path / "data"}')
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [
      f"error: '{data / 'input.txt'}' is not UTF-8: byte 15 (line 2) is b'\\xe9'."]


def test_input_lines_are_split_on_newlines_only():
  text = 'Ein Mann\u2028fährt.\r\nZwei Hunde\x85spielen.\n\nDrei.'
  lines = cli.read_lines(None, io.BytesIO(text.encode('utf-8')))
  assert lines == ['Ein Mann\u2028fährt.', 'Zwei Hunde\x85spielen.', '', 'Drei.']
  with pytest.raises(ValueError, match="'<stdin>' is not UTF-8: byte 3"):
    cli.read_lines(None, io.BytesIO(b'abc\xff\n'))


def test_sample_on_a_workdir_that_is_not_one_is_a_one_line_error(tmp_path):
  result = _run(tmp_path, f'--workdir={tmp_path}', script='sample.py')
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [f"error: '{tmp_path}' is not a training workdir: "
                                                f"'{tmp_path / 'config.json'}' does not exist."]
