"""Encoder-decoder models: masks, cached decoding, scheduled sampling, source reversal."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import seq2seq
from tests import tolerances

B, S, T, V = 3, 7, 5, 23
LENGTHS = np.array([7, 4, 1])


def _batch(seed=0):
  rng = np.random.RandomState(seed)
  src_BS = rng.randint(3, V, (B, S)).astype(np.int32)
  src_BS[np.arange(S)[None, :] >= LENGTHS[:, None]] = 0
  tgt_BT = rng.randint(3, V, (B, T)).astype(np.int32)
  return jnp.asarray(src_BS), jnp.asarray(LENGTHS, jnp.int32), jnp.asarray(tgt_BT)


MODELS = {
    'lstm_reversed': seq2seq.RNNSeq2Seq(V, V, cell='lstm', embed_dim=8, hidden_size=16, reverse_source=True),
    'gru_context': seq2seq.RNNSeq2Seq(V, V, cell='gru', embed_dim=8, hidden_size=16, encoder_layers=1, decoder_layers=1,
                                      feed_context=True, deep_output=True),
    'bahdanau': seq2seq.RNNSeq2Seq(V, V, cell='gru', embed_dim=8, hidden_size=16, encoder_layers=1, decoder_layers=1,
                                   bidirectional=True, attention='additive', attention_dim=12, deep_output=True,
                                   output_dim=12),
    'luong_residual': seq2seq.RNNSeq2Seq(V, V, cell='lstm', embed_dim=8, hidden_size=16, encoder_layers=2,
                                         decoder_layers=3, bidirectional=True, attention='dot', residual=True),
    'transformer': seq2seq.TransformerSeq2Seq(V, V, max_len=16, width=16, num_heads=2, encoder_layers=2,
                                              decoder_layers=2, dropout=0.1),
    'transformer_post_learned': seq2seq.TransformerSeq2Seq(V, V, max_len=16, width=16, num_heads=2, encoder_layers=1,
                                                           decoder_layers=2, norm='post', positional='learned',
                                                           share_embeddings=True, tie_output=False),
}
ATTENDING = ['bahdanau', 'luong_residual', 'transformer', 'transformer_post_learned']


def _terms(model):
  """Rounded float32 operations behind a logit: for the recurrent models, S + T steps through every layer of
  projections over the widest input and the hidden state, the attention's S-term sums and the output layers;
  for the Transformer, its blocks (a decoder block counted twice: self- and cross-attention)."""
  if isinstance(model, seq2seq.TransformerSeq2Seq):
    return tolerances.transformer_terms(model.width, model.encoder_layers + 2 * model.decoder_layers, S + T,
                                        model.mlp_ratio, model.num_heads)
  widest_input = model.embed_dim + 2 * model.memory_dim + model.hidden_size
  steps = (S + T) * (model.encoder_layers + model.decoder_layers) * (widest_input + model.hidden_size)
  return steps + T * S * model.attention_dim + model.output_dim + model.hidden_size + model.memory_dim


def _init(model, src, src_len, tgt):
  return model.init({'params': jax.random.PRNGKey(0), 'dropout': jax.random.PRNGKey(1)}, src, src_len, tgt)['params']


@pytest.mark.parametrize('name', sorted(MODELS))
def test_step_by_step_decoding_equals_the_teacher_forced_pass(name):
  model, (src, src_len, tgt) = MODELS[name], _batch()
  params = _init(model, src, src_len, tgt)
  full_BTV = model.apply({'params': params}, src, src_len, tgt)
  state = model.apply({'params': params}, src, src_len, T, method='start')
  steps = []
  for t in range(T):
    logits_BV, state = model.apply({'params': params}, tgt[:, t], state, method='step')
    steps.append(logits_BV)
  tolerances.assert_close(np.stack(steps, 1), full_BTV, _terms(model))


@pytest.mark.parametrize('name', sorted(MODELS))
def test_padding_changes_nothing(name):
  """More padding columns, filled with arbitrary ids, leave every logit unchanged."""
  model, (src, src_len, tgt) = MODELS[name], _batch()
  params = _init(model, src, src_len, tgt)
  garbage = jnp.asarray(np.random.RandomState(5).randint(3, V, (B, 4)), jnp.int32)
  padded = jnp.concatenate([src, garbage], axis=1)
  padded = jnp.where(jnp.arange(S + 4)[None, :] < src_len[:, None], padded, garbage[:, :1])
  tolerances.assert_close(model.apply({'params': params}, padded, src_len, tgt),
                          model.apply({'params': params}, src, src_len, tgt), _terms(model))


@pytest.mark.parametrize('name', ATTENDING)
def test_padded_source_positions_get_zero_attention(name):
  model, (src, src_len, tgt) = MODELS[name], _batch()
  params = _init(model, src, src_len, tgt)
  weights_BTS = np.asarray(seq2seq.cross_attention_map(model, params, src, src_len, tgt))
  padded_BS = np.arange(S)[None, :] >= LENGTHS[:, None]
  assert np.all(weights_BTS[np.broadcast_to(padded_BS[:, None, :], weights_BTS.shape)] == 0.0)
  tolerances.assert_close(weights_BTS.sum(-1), np.ones((B, T)), 2 * S)  # Normalized over S, summed over S.
  assert np.all(weights_BTS[2, :, 0] == pytest.approx(1.0))  # A one-token source takes all the weight.


@pytest.mark.parametrize('name', sorted(MODELS))
def test_scheduled_sampling_at_probability_zero_is_teacher_forcing(name):
  model, (src, src_len, tgt) = MODELS[name], _batch()
  params = _init(model, src, src_len, tgt)
  rngs = {'dropout': jax.random.PRNGKey(7)}
  forced = model.apply({'params': params}, src, src_len, tgt, train=True, rngs=rngs)
  sampled = model.apply({'params': params}, src, src_len, tgt, train=True, own_BT=jnp.zeros((B, T), bool),
                        rng=jax.random.PRNGKey(3), rngs=rngs)
  if isinstance(model, seq2seq.RNNSeq2Seq):
    tolerances.assert_close(sampled, forced, _terms(model))
  else:  # The same dropout draws need the same call order; compare without dropout.
    forced = model.apply({'params': params}, src, src_len, tgt)
    sampled = model.apply({'params': params}, src, src_len, tgt, own_BT=jnp.zeros((B, T), bool),
                          rng=jax.random.PRNGKey(3))
    tolerances.assert_close(sampled, forced, _terms(model))


def test_rnn_scheduled_sampling_feeds_its_own_samples():
  """With every position 'own', the inputs are the model's samples: replay them with step() in a loop."""
  model, (src, src_len, tgt) = MODELS['bahdanau'], _batch()
  params = _init(model, src, src_len, tgt)
  rng = jax.random.PRNGKey(11)
  own = model.apply({'params': params}, src, src_len, tgt, own_BT=jnp.ones((B, T), bool), rng=rng)
  state = model.apply({'params': params}, src, src_len, T, method='start')
  token_B, expected = tgt[:, 0], []
  for t in range(T):
    logits_BV, state = model.apply({'params': params}, token_B, state, method='step')
    expected.append(logits_BV)
    token_B = jax.random.categorical(jax.random.fold_in(rng, t), logits_BV).astype(jnp.int32)
  tolerances.assert_close(own, np.stack(expected, 1), _terms(model))
  teacher = model.apply({'params': params}, src, src_len, tgt)
  assert np.abs(np.asarray(own[:, 1:] - teacher[:, 1:])).max() > 1e-3  # The fed tokens did change.


def test_transformer_scheduled_sampling_reads_the_first_pass_samples():
  model, (src, src_len, tgt) = MODELS['transformer'], _batch()
  params = _init(model, src, src_len, tgt)
  rng = jax.random.PRNGKey(2)
  own = model.apply({'params': params}, src, src_len, tgt, own_BT=jnp.ones((B, T), bool), rng=rng)
  first = model.apply({'params': params}, src, src_len, tgt)
  sample_BT = jax.random.categorical(rng, first).astype(jnp.int32)
  fed = jnp.concatenate([tgt[:, :1], sample_BT[:, :-1]], axis=1)
  tolerances.assert_close(own, model.apply({'params': params}, src, src_len, fed), _terms(model))


def test_reverse_within_length_matches_a_loop():
  src, src_len, _ = _batch()
  out = np.asarray(seq2seq.reverse_within_length(src, src_len))
  for row, n in enumerate(LENGTHS):
    expected = np.concatenate([np.asarray(src[row, :n])[::-1], np.asarray(src[row, n:])])
    np.testing.assert_array_equal(out[row], expected)


def test_bidirectional_encoder_matches_separate_directional_runs():
  """The backward direction of row r equals a forward run over its reversed real tokens."""
  model = MODELS['bahdanau']
  src, src_len, tgt = _batch()
  params = _init(model, src, src_len, tgt)
  state = model.apply({'params': params}, src, src_len, T, method='start')
  memory_BSM = np.asarray(state['memory'])
  layer = seq2seq.rnn.RecurrentLayer(16, 'gru')
  embed = np.asarray(params['src_embed']['embedding'])
  for row, n in enumerate(LENGTHS):
    x_1SD = embed[np.asarray(src[row, :n])][None]
    fwd, _ = layer.apply({'params': params['encoder_fwd_0']}, x_1SD)
    bwd, _ = layer.apply({'params': params['encoder_bwd_0']}, x_1SD[:, ::-1])
    terms = S * (8 + 3 * 16)  # S steps of the GRU's projections; |h| <= 1.
    tolerances.assert_close(memory_BSM[row, :n, :16], fwd[0], terms, scale=1.0)
    tolerances.assert_close(memory_BSM[row, :n, 16:], bwd[0, ::-1], terms, scale=1.0)
    assert np.all(memory_BSM[row, n:] == 0.0)
