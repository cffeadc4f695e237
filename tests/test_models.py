"""Forecasters against hand-written forms, and the registry's errors."""
import jax
import ml_collections
import numpy as np
import pytest

import models
from tests.test_rnn import _python_loop


def _config(**fields):
  return ml_collections.ConfigDict(fields)


def test_naive_returns_the_last_value():
  x = np.random.RandomState(0).randn(4, 6, 1).astype(np.float32)
  model = models.build(_config(name='naive', output_size=1))
  variables = model.init(jax.random.PRNGKey(0), x)
  assert not jax.tree.leaves(variables)
  np.testing.assert_array_equal(model.apply(variables, x), x[:, -1])


def test_dense_is_a_linear_map_of_the_flattened_window():
  x = np.random.RandomState(0).randn(4, 6, 1).astype(np.float32)
  model = models.build(_config(name='dense', output_size=1))
  params = model.init(jax.random.PRNGKey(0), x)['params']
  kernel, bias = params['Dense_0']['kernel'], params['Dense_0']['bias']
  np.testing.assert_allclose(model.apply({'params': params}, x), x.reshape(4, 6) @ kernel + bias, rtol=1e-5)


def test_stacked_rnn_with_dense_head_equals_loops():
  x = np.random.RandomState(0).randn(3, 5, 1).astype(np.float32)
  model = models.build(_config(name='rnn', cell='elman', activation='tanh', hidden_sizes=(4, 3),
                               head='dense', output_size=1, unroll=1))
  params = model.init(jax.random.PRNGKey(0), x)['params']
  h1 = _python_loop(params['rnn_0'], x)
  h2 = _python_loop(params['rnn_1'], h1)
  expected = h2[:, -1] @ np.asarray(params['head']['kernel']) + np.asarray(params['head']['bias'])
  np.testing.assert_allclose(model.apply({'params': params}, x), expected, rtol=1e-5, atol=1e-6)


def test_rnn_without_head_outputs_the_last_state():
  x = np.random.RandomState(1).randn(3, 5, 1).astype(np.float32)
  model = models.build(_config(name='rnn', cell='elman', activation='tanh', hidden_sizes=(1,),
                               head='none', output_size=1, unroll=2))
  params = model.init(jax.random.PRNGKey(0), x)['params']
  assert set(params) == {'rnn_0'}
  np.testing.assert_allclose(model.apply({'params': params}, x), _python_loop(params['rnn_0'], x)[:, -1],
                             rtol=1e-5, atol=1e-6)


def test_unknown_model_name_lists_choices():
  with pytest.raises(ValueError, match=r"Unknown model.name 'transformr'.*bart_classifier, bilstm_tagger, boe, cnn, dense, elmo_classifier, gpt, gpt_classifier, kim_cnn, mlp_lm, naive, ngram, recursive, rnn, rnn_classifier, rnn_lm"):
    models.build(_config(name='transformr'))


def test_bad_rnn_fields_are_named():
  base = dict(name='rnn', cell='elman', activation='tanh', hidden_sizes=(4,), head='none',
              output_size=1, unroll=1)
  with pytest.raises(ValueError, match='last of model.hidden_sizes'):
    models.build(_config(**base))
  with pytest.raises(ValueError, match=r"model.cell 'lstmm'.*elman"):
    models.build(_config(**dict(base, cell='lstmm', hidden_sizes=(1,))))


def test_builders_read_the_module_fields_from_the_config_and_leave_the_others():
  # num_filters belongs to another model: configs share one model section across models.
  model = models.build(_config(name='rnn', cell='elman', hidden_sizes=[4, 3], output_size=1, num_filters=7))
  assert model.hidden_sizes == (4, 3) and model.head == 'dense' and hash(model)  # A list becomes a tuple.
  with pytest.raises(ValueError, match="model 'rnn' needs model.hidden_sizes"):
    models.build(_config(name='rnn', output_size=1))
