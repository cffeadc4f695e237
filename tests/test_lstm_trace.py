"""models/lstm_trace.py: the traced h equals what the LSTM LM itself computes; the gates equal a float64 loop."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import lm
from models import lstm_trace
from tests import tolerances

V, E, SIZES, B, T = 13, 5, (7, 6), 2, 9


def _model_and_params(seed=0):
  model = lm.RNNLM(vocab_size=V, embed_dim=E, hidden_sizes=SIZES, cell='lstm')
  tokens_BT = jax.random.randint(jax.random.PRNGKey(seed), (B, T), 0, V)
  params = model.init(jax.random.PRNGKey(seed + 1), tokens_BT, model.initial_carry(B))['params']
  # Every gate's bias distinct (the initializer gives i, g, o zero and f one), so a gate read from the wrong
  # block of the 4H columns shows.
  rng = np.random.RandomState(seed)
  params = jax.tree.map(lambda p: p + 0.3 * rng.randn(*p.shape).astype(np.float32), params)
  carry = tuple((jnp.asarray(0.5 * rng.randn(B, H), jnp.float32), jnp.asarray(rng.randn(B, H), jnp.float32))
                for H in SIZES)
  return model, params, tokens_BT, carry


def test_traced_h_equals_the_models_own_layers_logits_and_carry():
  model, params, tokens_BT, carry = _model_and_params()
  traces, last = lstm_trace.trace(params, tokens_BT, carry)
  # The model's fused layers (rnn.lstm_layer), as the model runs them: each layer's output sequence.
  (logits_BTV, model_carry), state = model.apply({'params': params}, tokens_BT, carry, capture_intermediates=True,
                                                 mutable=['intermediates'])
  atol = tolerances.atol(T * (E + max(SIZES)), 1.0)
  for i, trace in enumerate(traces):
    h_TBH, _ = state['intermediates'][f'rnn_{i}']['__call__'][0]
    np.testing.assert_allclose(trace.h, np.swapaxes(h_TBH, 0, 1), atol=atol)
    for ours, theirs in zip(last[i], model_carry[i]):
      np.testing.assert_allclose(ours, theirs, atol=atol)
  softmax = params['softmax']
  np.testing.assert_allclose(traces[-1].h @ softmax['kernel'] + softmax['bias'], logits_BTV, atol=atol)


def _sigmoid(z):
  return 1.0 / (1.0 + np.exp(-z))


def _numpy_trace(params, tokens_BT, carry):
  """Step by step, one row at a time, in float64: the gates read from their own blocks of the kernels."""
  out = []
  x = np.asarray(params['embed']['embedding'], np.float64)[np.asarray(tokens_BT)]  # (B, T, E)
  for layer, (h0, c0) in enumerate(carry):
    p = {k: np.asarray(v, np.float64) for k, v in params[f'rnn_{layer}'].items()}
    H = p['recurrent_kernel'].shape[0]
    fields = {name: np.zeros((B, T, H)) for name in lstm_trace.LayerTrace._fields}
    for b in range(B):
      h, c = np.asarray(h0[b], np.float64), np.asarray(c0[b], np.float64)
      for t in range(T):
        block = lambda k: x[b, t] @ p['kernel'][:, k * H:(k + 1) * H] + h @ p['recurrent_kernel'][:, k * H:(k + 1) * H] \
            + p['bias'][k * H:(k + 1) * H]
        i, f, g, o = _sigmoid(block(0)), _sigmoid(block(1)), np.tanh(block(2)), _sigmoid(block(3))
        c = f * c + i * g
        h = o * np.tanh(c)
        for name, value in zip('ifgoch', (i, f, g, o, c, h)):
          fields[name][b, t] = value
    out.append(fields)
    x = fields['h']
  return out


def test_gates_and_states_equal_a_float64_loop():
  _, params, tokens_BT, carry = _model_and_params(seed=3)
  traces, _ = lstm_trace.trace(params, tokens_BT, carry)
  expected = _numpy_trace(params, tokens_BT, carry)
  atol = tolerances.atol(T * (E + max(SIZES)), 1.0)
  for trace, fields in zip(traces, expected, strict=True):
    for name in lstm_trace.LayerTrace._fields:
      np.testing.assert_allclose(getattr(trace, name), fields[name], atol=atol, err_msg=name)
  # The states moved far from where they started: a trace that ignored the carry or a gate would differ.
  assert np.abs(expected[0]['c'][:, -1] - np.asarray(carry[0][1])).max() > 0.1


def test_a_stream_traced_in_two_windows_equals_one_pass():
  _, params, tokens_BT, carry = _model_and_params(seed=5)
  whole, last = lstm_trace.trace(params, tokens_BT, carry)
  first, middle = lstm_trace.trace(params, tokens_BT[:, :4], carry)
  second, end = lstm_trace.trace(params, tokens_BT[:, 4:], middle)
  atol = tolerances.atol(T * (E + max(SIZES)), 1.0)
  for layer in range(len(SIZES)):
    np.testing.assert_allclose(whole[layer].c, np.concatenate([first[layer].c, second[layer].c], axis=1), atol=atol)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=atol), last, end)


def test_saturation_counts_equal_a_loop():
  gate_NH = np.array([[0.05, 0.1, 0.95, 0.5],
                      [0.09, 0.9, 0.91, 0.02],
                      [0.5, 0.0999, 0.9001, 0.97]])
  left, right = lstm_trace.saturation_counts(gate_NH)
  for h in range(gate_NH.shape[1]):
    assert left[h] == sum(1 for n in range(3) if gate_NH[n, h] < 0.1)
    assert right[h] == sum(1 for n in range(3) if gate_NH[n, h] > 0.9)
  # Strictly below 0.1 and above 0.9: 0.1 and 0.9 themselves are neither.
  assert left.tolist() == [2, 1, 0, 1] and right.tolist() == [0, 0, 3, 1]


def test_only_lstm_parameters_are_traced():
  model = lm.RNNLM(vocab_size=V, embed_dim=E, hidden_sizes=(4,), cell='gru')
  tokens_BT = jnp.zeros((1, 3), jnp.int32)
  params = model.init(jax.random.PRNGKey(0), tokens_BT, model.initial_carry(1))['params']
  with pytest.raises(ValueError, match='rnn_0 is not an LSTM layer'):
    lstm_trace.lstm_layers(params)
