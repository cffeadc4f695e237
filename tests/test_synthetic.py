"""The adding problem's generator, and its configs training end to end."""
import numpy as np
import pytest

from data import synthetic
from training import config_loading
from training import loop


def test_adding_problem_markers_targets_and_baseline():
  inputs, targets = synthetic.adding_problem(20000, 50, np.random.default_rng(0))
  assert inputs.shape == (20000, 50, 2) and targets.shape == (20000, 1)
  markers = inputs[..., 1]
  assert (markers.sum(1) == 2).all()
  assert (markers[:, :25].sum(1) == 1).all() and (markers[:, 25:].sum(1) == 1).all()
  for row in range(100):  # The target is the sum of the two marked values, checked one row at a time.
    marked = [inputs[row, t, 0] for t in range(50) if inputs[row, t, 1] == 1]
    assert targets[row, 0] == pytest.approx(sum(marked), abs=1e-6)
  assert ((inputs[..., 0] >= 0) & (inputs[..., 0] < 1)).all()
  # Always answering 1 scores Var(U + U') = 1/6.
  assert np.mean((targets - 1.0) ** 2) == pytest.approx(1 / 6, rel=0.03)


def test_splits_differ_and_repeat_for_a_seed():
  config = config_loading.load_config('configs/adding/lstm.py:tiny').data
  a, b = synthetic.adding_splits(config), synthetic.adding_splits(config)
  np.testing.assert_array_equal(a['train']['inputs'], b['train']['inputs'])
  assert not np.array_equal(a['train']['inputs'][:50], a['valid']['inputs'])


@pytest.mark.parametrize('name', ['rnn', 'irnn', 'gru', 'lstm'])
def test_adding_configs_validate_and_train(name, tmp_path):
  config = config_loading.apply_overrides(config_loading.load_config(f'configs/adding/{name}.py:tiny'),
                                          {'log.progress_bar': False})
  config_loading.validate(config_loading.load_config(f'configs/adding/{name}.py'))
  if name == 'lstm':
    results = loop.train_and_evaluate(config, str(tmp_path))
    assert set(results) == {'valid/mse', 'valid/mae', 'test/mse', 'test/mae', 'model/params'}
