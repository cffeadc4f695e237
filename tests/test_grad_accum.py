"""Gradient accumulation: K micro-batches give the full batch's update (train.grad_accum_steps)."""
import os

import jax
import numpy as np
import pytest

from training import checkpoint
from training import config_loading
from training import loop


def _text_file(tmp_path):
  rng = np.random.default_rng(0)
  words = ['the', 'king', 'said', 'and', 'lo', 'thou', 'art', 'a', 'fool']
  path = tmp_path / 'text.txt'
  path.write_text(''.join(' '.join(rng.choice(words, rng.integers(1, 9))) + '\n' for _ in range(300)))
  return str(path)


def _labeled_files(tmp_path):
  rng = np.random.default_rng(1)
  words = (['dull', 'bad', 'flat', 'slow'], ['good', 'great', 'fun', 'well'])
  paths = {}
  # 36 = 4.5 batches of 8: the epoch's short batch (rows of weight 0) comes within the 5 steps, so micro-batches
  # differ in weight.
  for split, n in (('train', 36), ('valid', 16), ('test', 16)):
    lines = [f'{i % 2} ' + ' '.join(rng.choice(words[i % 2] + ['the', 'film'], rng.integers(1, 12)))
             for i in range(n)]
    (tmp_path / split).write_text(''.join(line + '\n' for line in lines))
    paths[f'data.{split}_path'] = str(tmp_path / split)
  return dict(paths, **{'data.name': 'files'})


CASES = {
    # Carried state: each micro-batch continues its own rows' states.
    'lstm_stream': ('configs/charlm/lstm.py', 'text', {'model.dropout': 0.0}),
    'gpt': ('configs/charlm/gpt.py', 'text', {}),
    'kim_cnn': ('configs/classify/kim_cnn.py', 'labeled', {'model.dropout': 0.0}),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_four_micro_batches_give_the_full_batch_parameters_after_5_steps(tmp_path, case):
  path, data, overrides = CASES[case]
  data_overrides = ({'data.name': 'files', 'data.train_path': _text_file(tmp_path)} if data == 'text'
                    else _labeled_files(tmp_path))
  params = {}
  for k in (1, 4):
    config = config_loading.apply_overrides(config_loading.load_config(path + ':tiny'), dict(
        data_overrides, **overrides, **{'train.batch_size': 8, 'train.num_steps': 5, 'train.num_epochs': 0,
                                         'train.steps_per_call': 1, 'train.grad_accum_steps': k,
                                         'eval.every_steps': 5, 'eval.splits': 'valid', 'eval.select_metric': '',
                                         'checkpoint.every_steps': 5, 'log.progress_bar': False}))
    workdir = str(tmp_path / f'k{k}')
    loop.train_and_evaluate(config, workdir)
    ckpt = checkpoint.Checkpointer(checkpoint.directory(workdir))
    params[k] = ckpt.restore_params(5)
    ckpt.close()
  start = jax.tree.leaves(params[1])
  for full, accumulated in zip(start, jax.tree.leaves(params[4])):
    np.testing.assert_allclose(accumulated, full, rtol=1e-5, atol=1e-6)


def test_a_batch_that_does_not_divide_is_a_config_error():
  config = config_loading.apply_overrides(config_loading.load_config('configs/charlm/gpt.py:tiny'),
                                          {'train.batch_size': 6, 'train.grad_accum_steps': 4})
  with pytest.raises(config_loading.ConfigError, match='does not divide into train.grad_accum_steps 4'):
    config_loading.validate(config)
