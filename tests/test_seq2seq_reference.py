"""The recurrent encoder-decoder (models/seq2seq.py) against a numpy loop of its published equations.

models/seq2seq.py runs the teacher-forced pass and step() through one `_cell_step`, so comparing those two
checks the decoder only against itself. Here the equations are written again, in float64 numpy, one step at a
time, from the papers and the model's documented structure (its docstring and models/rnn.py's gate layout),
reading the weights by name from the Flax parameters:

- cells (models/rnn.py, PyTorch's layout): GRU r = σ(x W_r + b_r + h U_r), z likewise,
  n = tanh(x W_n + b_n + r ⊙ (h U_n + b_hn)), h' = (1 - z) ⊙ n + z ⊙ h;
  LSTM i, f, g, o from x W + b + h U, c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g), h' = σ(o) ⊙ tanh(c').
- encoder: stacked layers over the real tokens of each row (a backward direction starts at the row's last real
  token); padded positions output zeros; residual connections from the second layer (GNMT); the source
  optionally reversed within its length (Sutskever et al.). Memory m_s: the top layer's outputs; summary:
  the top layer's final state(s).
- decoder start: the encoder's final states layer by layer (Sutskever et al.), or h_0 = tanh(W summary + b)
  per layer (zero cell state) when the encoder is bidirectional or of another depth.
- Bahdanau et al. (additive): e_s = v · tanh(W_q s_{t-1} + W_k m_s), queried with the previous top state;
  α = softmax over the real positions; c_t = Σ α_s m_s enters the cell ([y_{t-1}; c_t]) and, with deep output,
  the output layer ([s_t; y_{t-1}; c_t]).
- Cho et al. (feed_context): the summary c enters every step's input and, with deep output, the output layer.
- Luong et al. (dot): e_s = h_t · (W_k m_s) with the new top state, h~_t = tanh(W_c [c_t; h_t]) predicts the
  token, and input feeding: h~_{t-1} enters the next step's input (its only form in this model: dot attention
  always feeds). The cell input is [y_{t-1}; c_t (additive); summary (feed_context); h~_{t-1} (dot)].
- output: dropout, then tanh(W_p f + b_p) when output_dim > 0, then W_o f + b_o.

With dropout > 0 in training, the masks the model draws are read back from that very call: the outputs of its
nn.Dropout calls (each a scaled keep mask times an input that is never exactly zero where it matters) and the
return value of its `_layer_keep` (the masks between decoder layers), through flax's method interception,
without changing the model. The reference applies the same masks.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import seq2seq
from tests import tolerances

V, E, H, A = 11, 5, 6, 7  # Vocabulary, embedding, hidden and attention widths.
S, T = 6, 4
LENGTHS = np.array([6, 3, 1])
B = len(LENGTHS)

CASES = {
    # Sutskever et al.: LSTM stacks whose final states start the decoder, the source reversed.
    'sutskever': dict(cell='lstm', encoder_layers=2, decoder_layers=2, reverse_source=True),
    # Cho et al.: the summary enters every step and the deep output layer.
    'cho': dict(cell='gru', encoder_layers=1, decoder_layers=1, feed_context=True, deep_output=True, output_dim=8),
    'cho_no_deep_output': dict(cell='gru', encoder_layers=1, decoder_layers=1, feed_context=True),
    # Bahdanau et al.: bidirectional encoder (a bridge starts the decoder), additive attention, deep output.
    'bahdanau': dict(cell='gru', encoder_layers=1, decoder_layers=1, bidirectional=True, attention='additive',
                     deep_output=True, output_dim=8),
    'additive_lstm_bridge': dict(cell='lstm', encoder_layers=2, decoder_layers=1, attention='additive',
                                 residual=True),
    'additive_and_summary': dict(cell='gru', encoder_layers=1, decoder_layers=2, bidirectional=True,
                                 attention='additive', feed_context=True, share_embeddings=True),
    # Left out: additive attention with feed_context and deep_output together. No paper defines it, and the
    # model's output layer then reads the summary in place of the attention context.
    # Luong et al.: dot attention with the new top state, h~ fed to the next step; residual stacks.
    'luong': dict(cell='lstm', encoder_layers=2, decoder_layers=3, bidirectional=True, attention='dot',
                  residual=True),
    'dot_gru_copy_states': dict(cell='gru', encoder_layers=1, decoder_layers=1, attention='dot',
                                feed_context=True, output_dim=8, reverse_source=True),
}
DROPOUT_CASES = {
    'bahdanau_dropout': dict(cell='gru', encoder_layers=2, decoder_layers=2, bidirectional=True,
                             attention='additive', deep_output=True, output_dim=8, dropout=0.3),
    'luong_dropout': dict(cell='lstm', encoder_layers=2, decoder_layers=3, attention='dot', residual=True,
                          dropout=0.4),
}


def _model(fields):
  fields = dict(dict(embed_dim=E, hidden_size=H, attention_dim=A), **fields)
  return seq2seq.RNNSeq2Seq(V, V, **fields)


def _batch(seed=0):
  rng = np.random.RandomState(seed)
  src = rng.randint(3, V, (B, S))
  src[np.arange(S)[None, :] >= LENGTHS[:, None]] = 0
  return src.astype(np.int32), LENGTHS.astype(np.int32), rng.randint(3, V, (B, T)).astype(np.int32)


def _params(model, src, lengths, tgt, seed=0):
  """Initialized parameters with every leaf perturbed, so that zero biases and small inits hide nothing."""
  params = model.init({'params': jax.random.PRNGKey(seed), 'dropout': jax.random.PRNGKey(seed + 1)},
                      src, lengths, tgt)['params']
  rng = np.random.RandomState(seed + 2)
  return jax.tree.map(lambda p: np.asarray(p, np.float64) + 0.3 * rng.randn(*p.shape), params)


# The equations, in float64 numpy.
def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def _top(carry):
  return carry[0] if isinstance(carry, tuple) else carry


def _cell(kind, w, x_BD, carry):
  W, U, b = w['kernel'], w['recurrent_kernel'], w['bias']
  H_ = U.shape[0]
  if kind == 'gru':
    h = carry
    xw, hu = x_BD @ W + b, h @ U
    r = _sigmoid(xw[:, :H_] + hu[:, :H_])
    z = _sigmoid(xw[:, H_:2 * H_] + hu[:, H_:2 * H_])
    n = np.tanh(xw[:, 2 * H_:] + r * (hu[:, 2 * H_:] + w['recurrent_bias']))
    return (1.0 - z) * n + z * h
  h, c = carry
  gates = x_BD @ W + b + h @ U
  i, f, g, o = (gates[:, k * H_:(k + 1) * H_] for k in range(4))
  c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
  return _sigmoid(o) * np.tanh(c), c


def _where_valid(valid_B, new, old):
  if isinstance(new, tuple):
    return tuple(_where_valid(valid_B, n, o) for n, o in zip(new, old))
  return np.where(valid_B[:, None], new, old)


def _zero_carry(kind, batch):
  zeros = np.zeros((batch, H))
  return (zeros, zeros) if kind == 'lstm' else zeros


def _attend(scores_BS, memory_BSM, valid_BS):
  scores_BS = np.where(valid_BS, scores_BS, -np.inf)
  weights_BS = np.exp(scores_BS - scores_BS.max(-1, keepdims=True))
  weights_BS /= weights_BS.sum(-1, keepdims=True)
  return np.einsum('bs,bsm->bm', weights_BS, memory_BSM)


def reference(model, p, src, lengths, tgt, masks=None, mutant=None):
  """logits (B, T, V) of the teacher-forced pass; `masks` the dropout masks to apply (None: no dropout).
  `mutant` changes one equation, to show that the comparison notices: 'no_input_feeding' keeps h~_{t-1} at
  zero, 'unmasked_attention' lets padded source positions take attention, 'no_dropout' ignores the masks."""
  if mutant == 'no_dropout':
    masks = None
  keep = (lambda name, x, *index: x) if masks is None else (lambda name, x, *index: x * masks[name][index])
  valid_BS = np.arange(S)[None, :] < lengths[:, None]
  if model.reverse_source:
    src = np.array([np.r_[row[:n][::-1], row[n:]] for row, n in zip(src, lengths)])
  src_embed = p['src_embed']['embedding']
  tgt_embed = src_embed if model.share_embeddings else p['tgt_embed']['embedding']

  # Encoder (batch-major here).
  x_BSD = keep('encoder_embed', src_embed[src])
  finals = []
  for i in range(model.encoder_layers):
    outputs, lasts = [], []
    for direction in ('fwd', 'bwd') if model.bidirectional else ('fwd',):
      carry, h_BSH = _zero_carry(model.cell, B), np.zeros((B, S, H))
      for s in (range(S) if direction == 'fwd' else reversed(range(S))):
        carry = _where_valid(valid_BS[:, s], _cell(model.cell, p[f'encoder_{direction}_{i}'], x_BSD[:, s], carry),
                             carry)
        h_BSH[:, s] = np.where(valid_BS[:, s, None], _top(carry), 0.0)
      outputs.append(h_BSH)
      lasts.append(carry)
    h_BSM = np.concatenate(outputs, -1)
    x_BSD = h_BSM + x_BSD if (model.residual and i > 0) else h_BSM
    if i < model.encoder_layers - 1:
      x_BSD = keep(f'encoder_{i}', x_BSD)
    finals.append(lasts)
  memory_BSM = x_BSD
  summary_BM = np.concatenate([_top(c) for c in finals[-1]], -1)

  # Decoder start.
  if not model.bidirectional and model.encoder_layers == model.decoder_layers:
    layers = [lasts[0] for lasts in finals]
  else:
    hs = [np.tanh(summary_BM @ p[f'bridges_{i}']['kernel'] + p[f'bridges_{i}']['bias'])
          for i in range(model.decoder_layers)]
    layers = [(h, np.zeros_like(h)) if model.cell == 'lstm' else h for h in hs]
  attention_valid_BS = np.ones_like(valid_BS) if mutant == 'unmasked_attention' else valid_BS
  if model.attention != 'none':
    keys = memory_BSM @ p['attention_keys']['kernel']  # (B, S, A) additive, (B, S, H) dot.
  feed_BH = np.zeros((B, H))

  features = []
  for t in range(T):
    y_BE = keep('decoder_embed', tgt_embed[tgt[:, t]], t)
    inputs, output_context = [y_BE], []
    if model.attention == 'additive':  # Queried with the previous top state.
      hidden_BSA = np.tanh(keys + (_top(layers[-1]) @ p['attention_query'])[:, None, :])
      context_BM = _attend(hidden_BSA @ p['attention_v'], memory_BSM, attention_valid_BS)
      inputs.append(context_BM)
      output_context = [context_BM]
    if model.feed_context:
      inputs.append(summary_BM)
      output_context = [summary_BM]
    if model.attention == 'dot':
      inputs.append(feed_BH)
    x_BD = np.concatenate(inputs, -1)
    for i in range(model.decoder_layers):
      layers[i] = _cell(model.cell, p[f'decoder_cells_{i}'], x_BD, layers[i])
      h_BH = _top(layers[i]) + x_BD if (model.residual and i > 0) else _top(layers[i])
      x_BD = keep('decoder_layers', h_BH, i, t) if i < model.decoder_layers - 1 else h_BH
    if model.attention == 'dot':  # Queried with the new top state.
      context_BM = _attend(np.einsum('bh,bsh->bs', x_BD, keys), memory_BSM, attention_valid_BS)
      x_BD = np.tanh(np.concatenate([context_BM, x_BD], -1) @ p['attention_combine'])
      if mutant != 'no_input_feeding':
        feed_BH = x_BD
    elif model.deep_output:
      x_BD = np.concatenate([x_BD, y_BE] + output_context, -1)
    features.append(x_BD)
  f_BTC = keep('features', np.stack(features, 1))
  if model.output_dim:
    f_BTC = np.tanh(f_BTC @ p['pre_output']['kernel'] + p['pre_output']['bias'])
  return f_BTC @ p['output']['kernel'] + p['output']['bias']


def _terms(model):
  """Rounded float32 operations behind a logit: S + T steps through every layer's projections of the widest
  input and the hidden state, the attention's sums over S and its widths, the output layers."""
  widest_input = E + 2 * model.memory_dim + H
  steps = (S + T) * (model.encoder_layers + model.decoder_layers) * (widest_input + 4 * H)
  return steps + T * S * (A + model.memory_dim) + model.output_dim + 3 * model.memory_dim


def _apply_recording_masks(model, params, src, lengths, tgt, rng):
  """The model's training-mode logits and the dropout masks it drew, read back from the same call."""
  dropouts, layer_keeps = [], []

  def record(next_fun, args, kwargs, context):
    out = next_fun(*args, **kwargs)
    if isinstance(context.module, nn.Dropout) and context.method_name == '__call__':
      dropouts.append((np.asarray(args[0]), np.asarray(out)))
    if isinstance(context.module, seq2seq.RNNSeq2Seq) and context.method_name == '_layer_keep':
      layer_keeps.append(None if out is None else np.asarray(out))
    return out

  params32 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), params)
  with nn.intercept_methods(record):
    logits = model.apply({'params': params32}, src, lengths, tgt, train=True, rngs={'dropout': rng})
  # The order of the model's dropout calls: the source embeddings and between encoder layers (time-major),
  # the target embeddings (time-major), the output features (time-major).
  names = ['encoder_embed'] + [f'encoder_{i}' for i in range(model.encoder_layers - 1)] + [
      'decoder_embed', 'features']
  assert len(dropouts) == len(names), [x.shape for x, _ in dropouts]
  keep_probability = 1.0 - model.dropout
  masks, readable = {}, {}
  for name, (x, out) in zip(names, dropouts):
    # out = x · keep / (1 - p): where x is 0 (padded encoder outputs) the mask cannot be read and does not matter.
    nonzero = x != 0
    np.testing.assert_allclose(out[nonzero & (out != 0)] * keep_probability, x[nonzero & (out != 0)],
                               rtol=tolerances.rel(1))  # One float32 division.
    mask = (out != 0).astype(np.float64) / keep_probability
    layout = (lambda a: a) if name == 'decoder_embed' else (lambda a: np.swapaxes(a, 0, 1))  # embed: (T, B, E).
    masks[name], readable[name] = layout(mask), layout(nonzero)  # The others (B, S|T, ·), as the reference.
  assert len(layer_keeps) == 1 and layer_keeps[0] is not None, 'no masks between decoder layers were read back'
  masks['decoder_layers'] = np.asarray(layer_keeps[0], np.float64)  # (L - 1, T, B, H).
  readable['decoder_layers'] = np.ones(masks['decoder_layers'].shape, bool)
  return np.asarray(logits), masks, readable


@pytest.mark.parametrize('name', sorted(CASES))
def test_teacher_forced_pass_equals_the_equations(name):
  model = _model(CASES[name])
  src, lengths, tgt = _batch()
  params = _params(model, src, lengths, tgt)
  params32 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), params)
  got = model.apply({'params': params32}, src, lengths, tgt)
  # The reference reads the float32-rounded weights, so that only the arithmetic differs.
  params_rounded = jax.tree.map(lambda a: np.asarray(a, np.float32).astype(np.float64), params)
  expected = reference(model, params_rounded, src, lengths, tgt)
  tolerances.assert_close(got, expected, _terms(model), err_msg=name)
  tolerance = tolerances.atol(_terms(model), np.abs(expected).max())
  for mutant, applies in [('no_input_feeding', model.attention == 'dot'),
                          ('unmasked_attention', model.attention != 'none')]:
    if applies:  # The comparison would notice a missing equation.
      wrong = reference(model, params_rounded, src, lengths, tgt, mutant=mutant)
      assert np.abs(np.asarray(got) - wrong).max() > 100 * tolerance, mutant


@pytest.mark.parametrize('name', sorted(DROPOUT_CASES))
def test_training_pass_with_dropout_equals_the_equations_with_the_same_masks(name):
  model = _model(DROPOUT_CASES[name])
  src, lengths, tgt = _batch(1)
  params = _params(model, src, lengths, tgt, seed=3)
  got, masks, readable = _apply_recording_masks(model, params, src, lengths, tgt, jax.random.PRNGKey(5))
  params_rounded = jax.tree.map(lambda a: np.asarray(a, np.float32).astype(np.float64), params)
  expected = reference(model, params_rounded, src, lengths, tgt, masks)
  tolerances.assert_close(got, expected, _terms(model), err_msg=name)
  # The masks were really drawn and really matter ...
  wrong = reference(model, params_rounded, src, lengths, tgt, masks, mutant='no_dropout')
  assert np.abs(got - wrong).max() > 100 * tolerances.atol(_terms(model), np.abs(expected).max())
  # ... and keep each unit with probability 1 - p: every mask's kept count within 5 binomial deviations.
  for mask_name, mask in masks.items():
    mask = mask[readable[mask_name]]
    kept = mask != 0
    np.testing.assert_allclose(mask[kept], 1.0 / (1.0 - model.dropout), rtol=tolerances.rel(1), err_msg=mask_name)
    n, q = kept.size, 1.0 - model.dropout
    assert abs(kept.sum() - n * q) < 5 * np.sqrt(n * q * (1 - q)), (mask_name, kept.mean())

