"""bench/nanogpt_run.py refuses, in one error line naming what is missing, a nanoGPT folder it cannot run."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_folder_without_nanogpt_is_one_error_naming_the_missing_files(tmp_path):
  (tmp_path / 'train.py').write_text('')
  out = subprocess.run([sys.executable, 'bench/nanogpt_run.py', f'--nanogpt_dir={tmp_path}'],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
  assert out.returncode != 0
  lines = out.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith('error: '), out.stderr
  assert 'model.py' in lines[0] and 'data/shakespeare_char/train.bin' in lines[0]
  assert ' train.py' not in lines[0].split('lacks', 1)[1]
