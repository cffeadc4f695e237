"""A workdir that never lies: stale tokenizers, changed configs, a second process, unreadable checkpoints,
half-written metrics and diverging runs, each left as a clear error or a correct result."""
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import tasks
from training import checkpoint
from training import config_loading
from training import errors
from training import loop
from training import workdir as workdir_files
from training import writers


def _read(path):
  with open(path) as f:
    return json.load(f)


def _corpus(root, text: str) -> str:
  os.makedirs(root / 'tinyshakespeare', exist_ok=True)
  (root / 'tinyshakespeare' / 'input.txt').write_text(text, encoding='utf-8')
  return str(root)


def _lm_config(data_dir: str, **overrides):
  config = config_loading.load_config('configs/charlm/lstm.py:tiny')
  return config_loading.apply_overrides(config, dict({'log.progress_bar': False, 'data.dir': data_dir,
                                                      'data.max_chars': 0}, **overrides))


def test_a_stale_tokenizer_is_rebuilt_without_a_checkpoint_and_refused_with_one(tmp_path):
  workdir = str(tmp_path / 'run')
  first = _lm_config(_corpus(tmp_path / 'a', 'aaaa bbbb\n' * 50))
  assert tasks.build(first, workdir).tokenizer.vocab_size == 5  # <unk>, a, b, ' ', '\n'
  second = _lm_config(_corpus(tmp_path / 'b', 'xyz wvu?\n' * 50))
  # No checkpoint: the tokenizer left by the earlier start is rebuilt from this text.
  task = tasks.build(second, workdir)
  assert task.tokenizer.vocab_size == 10 and task.tokenizer.decode(task.tokenizer.encode('xyz')) == 'xyz'
  assert tasks.build(second, workdir, resuming=True).tokenizer.vocab_size == 10  # The same source: reused.
  with pytest.raises(errors.DataError, match='train_text_sha256'):
    tasks.build(first, workdir, resuming=True)
  with pytest.raises(errors.DataError, match='differing in: tokenizer'):
    tasks.build(_lm_config(str(tmp_path / 'b'), **{'data.tokenizer': 'word'}), workdir, resuming=True)


def test_lm_data_that_cannot_train_stops_before_anything_compiles(tmp_path):
  with pytest.raises(errors.DataError, match='train split .* holds 0 tokens'):
    tasks.build(_lm_config(_corpus(tmp_path / 'empty', '')), str(tmp_path / 'run'))
  bad = tmp_path / 'bad'
  _corpus(bad, '')
  (bad / 'tinyshakespeare' / 'input.txt').write_bytes(b'good line\nbad \xff byte\n')
  with pytest.raises(errors.DataError, match=r"is not UTF-8: byte 14 \(line 2\)"):
    tasks.build(_lm_config(str(bad)), str(tmp_path / 'run'))
  with pytest.raises(config_loading.ConfigError, match='data.seq_len must be >= 1'):
    config_loading.validate(_lm_config(str(bad), **{'data.seq_len': 0}))


def test_a_changed_config_is_refused_before_it_touches_the_workdir_or_recorded_when_allowed(tiny_config, tmp_path):
  config = tiny_config('dense')
  results = loop.train_and_evaluate(config, str(tmp_path))
  saved = (tmp_path / 'config.json').read_bytes()
  changed = config_loading.apply_overrides(config, {'optimizer.learning_rate': 0.5})
  with pytest.raises(config_loading.ConfigError, match=r'optimizer.learning_rate: 0.001 -> 0.5'):
    loop.train_and_evaluate(changed, str(tmp_path))
  assert (tmp_path / 'config.json').read_bytes() == saved
  # Where and how it runs may change freely.
  moved = config_loading.apply_overrides(config, {'log.every_steps': 7, 'data.dir': '/elsewhere'})
  assert loop.train_and_evaluate(moved, str(tmp_path)) == results
  assert loop.train_and_evaluate(changed, str(tmp_path), config_change='allow') == results  # Nothing left to train.
  record = _read(tmp_path / 'config.json')
  assert record['optimizer']['learning_rate'] == 0.5
  assert record['config_changes'] == [{'step': 20, 'changed': {'optimizer.learning_rate': [0.001, 0.5]}}]


def test_a_model_change_into_a_finished_workdir_leaves_config_json_describing_its_checkpoints(tiny_config, tmp_path):
  loop.train_and_evaluate(tiny_config('dense'), str(tmp_path))
  saved = (tmp_path / 'config.json').read_bytes()
  with pytest.raises(config_loading.ConfigError, match='model.name'):
    loop.train_and_evaluate(tiny_config('simple_rnn'), str(tmp_path))
  assert (tmp_path / 'config.json').read_bytes() == saved


def test_a_config_json_from_before_a_field_rename_still_describes_its_run(tiny_config, tmp_path):
  config = tiny_config('simple_rnn')
  results = loop.train_and_evaluate(config, str(tmp_path))
  record = _read(tmp_path / 'config.json')
  record['model']['scan_unroll'] = record['model'].pop('unroll')  # As runs recorded it before the rename.
  writers.write_json(str(tmp_path / 'config.json'), record)
  assert loop.train_and_evaluate(config, str(tmp_path)) == results  # Not refused as another config.


def _sleeper():
  return subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])


def test_a_second_process_is_refused_and_a_dead_holder_taken_over(tiny_config, tmp_path):
  live = _sleeper()
  try:
    tmp_path.mkdir(exist_ok=True)
    holder = {'pid': live.pid, 'host': workdir_files.Lock(str(tmp_path)).mine['host'], 'started': 0}
    writers.write_json(str(tmp_path / workdir_files.LOCK_FILE), holder)
    with pytest.raises(errors.WorkdirError, match=f'in use by process {live.pid}'):
      loop.train_and_evaluate(tiny_config('dense'), str(tmp_path))
    assert not (tmp_path / 'metrics.jsonl').exists()
  finally:
    live.kill()
    live.wait()
  # The holder died without removing its lock: the next run takes it over and removes it when done.
  assert set(loop.train_and_evaluate(tiny_config('dense'), str(tmp_path))) >= {'test/mse'}
  assert not (tmp_path / workdir_files.LOCK_FILE).exists()
  records = writers.read_jsonl(str(tmp_path / 'metrics.jsonl'))
  keys = [(r['step'], r['split']) for r in records]
  assert len(keys) == len(set(keys))


def test_a_stale_lock_from_another_host_is_taken_over(tmp_path):
  lock = workdir_files.Lock(str(tmp_path))
  writers.write_json(lock.path, {'pid': 1, 'host': 'elsewhere', 'started': 0})
  with pytest.raises(errors.WorkdirError, match='elsewhere'):
    workdir_files.Lock(str(tmp_path)).acquire()  # Refreshed just now: alive as far as we can tell.
  old = os.path.getmtime(lock.path) - workdir_files.STALE_SECONDS - 1
  os.utime(lock.path, (old, old))
  with lock:
    assert _read(lock.path) == lock.mine
  assert not os.path.exists(lock.path)


@pytest.mark.parametrize('damage', ['truncate_array', 'drop_metadata'])
def test_an_unreadable_latest_checkpoint_is_moved_aside_and_the_run_resumes_from_the_one_before(
    tiny_config, tmp_path, damage, capsys):
  config = tiny_config('deep_rnn_dense', **{'checkpoint.every_steps': 5, 'checkpoint.max_to_keep': 5})
  full = loop.train_and_evaluate(config, str(tmp_path / 'full'))
  run = tmp_path / 'damaged'
  shutil.copytree(tmp_path / 'full', run)
  os.remove(run / 'results.json')
  shutil.rmtree(run / 'checkpoints' / '20')
  step_dir = run / 'checkpoints' / '15'
  if damage == 'truncate_array':
    arrays = [os.path.join(d, f) for d, _, fs in os.walk(step_dir / 'state') for f in fs
              if os.path.getsize(os.path.join(d, f)) > 64 and 'd' in os.path.relpath(d, step_dir)]
    for path in arrays:
      with open(path, 'r+b') as f:
        f.truncate(16)
  else:
    for d, _, fs in os.walk(step_dir):
      for f in fs:
        if f == '_METADATA':
          os.remove(os.path.join(d, f))
  earlier = run / loop.UNREADABLE_CHECKPOINTS / '15'  # A copy of step 15 that failed in an earlier resume.
  earlier.mkdir(parents=True)
  (earlier / 'kept').write_text('')
  capsys.readouterr()
  assert loop.train_and_evaluate(config, str(run)) == full
  err = capsys.readouterr().err
  assert 'Checkpoint step 15 is unreadable' in err and 'Resuming' in err and 'from step 10' in err
  assert (earlier / 'kept').exists()  # Kept, not deleted: neither copy is lost.
  assert (run / loop.UNREADABLE_CHECKPOINTS / '15.1' / 'state').is_dir()
  assert sorted(int(d) for d in os.listdir(run / 'checkpoints') if d.isdigit())[-1] == 20


def test_a_half_written_last_metrics_line_is_dropped_on_resume(tiny_config, tmp_path, capsys):
  config = tiny_config('deep_rnn_dense', **{'checkpoint.max_to_keep': 5})
  full = loop.train_and_evaluate(config, str(tmp_path / 'full'))
  run = tmp_path / 'cut'
  shutil.copytree(tmp_path / 'full', run)
  os.remove(run / 'results.json')
  shutil.rmtree(run / 'checkpoints' / '20')
  with open(run / 'metrics.jsonl', 'a') as f:
    f.write('{"step": 20, "split": "tra')
  assert loop.train_and_evaluate(config, str(run)) == full
  assert 'half-written last line' in capsys.readouterr().err
  strip = lambda rs: [{k: v for k, v in r.items() if k not in ('wall_time', 'steps_per_sec')} for r in rs]
  assert strip(writers.read_jsonl(str(run / 'metrics.jsonl'))) == strip(
      writers.read_jsonl(str(tmp_path / 'full' / 'metrics.jsonl')))
  (run / 'metrics.jsonl').write_text('{"step": 1}\nnot json\n{"step": 2}\n')
  with pytest.raises(errors.DataError, match='line 2 is not a JSON record'):
    writers.read_jsonl(str(run / 'metrics.jsonl'))


def test_divergence_before_the_first_save_says_no_checkpoint_was_kept(tiny_config, tmp_path):
  config = tiny_config('dense', **{'optimizer.name': 'sgd', 'optimizer.learning_rate': 1e30,
                                   'checkpoint.every_steps': 1000, 'log.every_steps': 1})
  with pytest.raises(errors.Diverged, match='No checkpoint had been saved yet') as error:
    loop.train_and_evaluate(config, str(tmp_path))
  assert f'at step {error.value.step};' in str(error.value)
  assert checkpoint.Checkpointer(checkpoint.directory(str(tmp_path))).latest_step() is None


def test_a_loss_past_max_loss_stops_the_run_without_nan(tiny_config, tmp_path):
  config = tiny_config('dense', **{'train.max_loss': 1e-6, 'log.every_steps': 1, 'checkpoint.every_steps': 2})
  with pytest.raises(errors.Diverged, match=r'above train.max_loss 1e-06 at step 1;') as error:
    loop.train_and_evaluate(config, str(tmp_path))
  assert error.value.step == 1
  # -1: no limit at all.
  assert 'test/mse' in loop.train_and_evaluate(tiny_config('dense', **{'train.max_loss': -1.0}), str(tmp_path / 'b'))
  with pytest.raises(config_loading.ConfigError, match='train.max_loss'):
    config_loading.validate(tiny_config('dense', **{'train.max_loss': -3.0}))


def test_language_models_stop_by_default_at_100_times_the_uniform_loss(tmp_path):
  task = tasks.build(_lm_config(_corpus(tmp_path, 'abcd efgh\n' * 40)), str(tmp_path / 'run'))
  assert task.default_max_loss() == pytest.approx(100 * math.log(task.tokenizer.vocab_size))
  metrics_list = [{'loss': (np.array([3.0, 2.0 * task.default_max_loss()]), np.ones(2))}]
  with pytest.raises(errors.Diverged, match='at step 11;'):
    loop._check_diverged(11, metrics_list, [np.array([True, True])], task.default_max_loss(), 10, 'ckpt')


def test_a_field_added_since_a_run_was_recorded_is_no_change_at_the_value_it_ran_with():
  saved = {'data': {'name': 'tinyshakespeare'}}
  assert workdir_files.config_changes(saved, {'data': {'name': 'tinyshakespeare', 'train_path': '',
                                                        'tokenizer_sample_chars': 10_000_000}}) == {}
  assert workdir_files.config_changes(saved, {'data': {'name': 'tinyshakespeare', 'tokenizer_sample_chars': 5}}) == {
      'data.tokenizer_sample_chars': [None, 5]}
