"""Sentence classifiers (and Kim's CNN): padding and lengths, pooling against numpy loops, dropout forms, causality by
gradient, LM-head params."""
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

import models
from models import classifiers
from models import kim_cnn
from models import rnn

V, K, B, T = 13, 3, 4, 6
LENGTHS = np.array([6, 4, 1, 0])  # The last sentence is empty.
TRANSFORMER = dict(max_len=12, width=8, depth=2, num_heads=2, dropout=0.1, attention_dropout=0.1)

MODELS = {
    'boe': classifiers.BagOfEmbeddings(V, K, embed_dim=6, hidden_sizes=(5,), activation='relu', dropout=0.2),
    'cnn': classifiers.TextCNN(V, K, embed_dim=6, filter_widths=(2, 3, 5), num_filters=4),
    'kim_cnn': kim_cnn.KimCNN(V, K, embed_dim=6, filter_widths=(2, 3, 5), num_filters=4),
    'bilstm_final': classifiers.RNNClassifier(V, K, embed_dim=6, hidden_size=5, dropout=0.2),
    'bigru_max': classifiers.RNNClassifier(V, K, embed_dim=6, hidden_size=5, num_layers=2, cell='gru', pooling='max'),
    'lstm_mean': classifiers.RNNClassifier(V, K, embed_dim=6, hidden_size=5, num_layers=2, bidirectional=False,
                                           pooling='mean'),
    'gru_final_tied': classifiers.RNNClassifier(V, K, embed_dim=6, hidden_size=6, cell='gru', bidirectional=False),
    'bert_pre_pooler': classifiers.TransformerClassifier(V, K, **TRANSFORMER),
    'bert_post': classifiers.TransformerClassifier(V, K, norm='post', activation='relu', pooler=False, **TRANSFORMER),
    'gpt': classifiers.GPTClassifier(V, K, **TRANSFORMER),  # Post-LN blocks: bert_post.
}
CAUSAL_LM = ['lstm_mean', 'gru_final_tied', 'gpt']
WITH_LM = CAUSAL_LM + ['bert_pre_pooler', 'bert_post']
HEADS = ('output', 'pool')  # Fresh at fine-tuning: the only parameters an LM init does not create.


def _batch(seed=0, lengths=LENGTHS):
  """Random real tokens, PAD after them."""
  tokens = np.random.RandomState(seed).randint(4, V, (len(lengths), T)).astype(np.int32)
  tokens[np.arange(T)[None, :] >= lengths[:, None]] = classifiers.PAD
  return jnp.asarray(tokens), jnp.asarray(lengths, jnp.int32)


@functools.lru_cache(maxsize=None)
def _params(name):
  """Weights far from their small init, so that every input matters as much as when trained."""
  params = MODELS[name].init(jax.random.PRNGKey(0), *_batch())['params']
  rng = np.random.RandomState(1)
  return jax.tree.map(lambda p: jnp.asarray(p + 0.3 * rng.randn(*p.shape).astype(np.float32)), params)


def _apply(name, *args, method=None, **kwargs):
  """Not jitted: the models share most operations, and op-by-op dispatch compiles each of them once."""
  return MODELS[name].apply({'params': _params(name)}, *args, method=method, **kwargs)


def _garbage_padded(tokens, lengths, extra):
  """The batch with `extra` more columns, and arbitrary non-PAD ids everywhere past each row's length."""
  garbage = np.random.RandomState(7).randint(4, V, (tokens.shape[0], tokens.shape[1] + extra)).astype(np.int32)
  real = np.arange(tokens.shape[1] + extra)[None, :] < np.asarray(lengths)[:, None]
  garbage[:, :tokens.shape[1]] = np.where(real[:, :tokens.shape[1]], tokens, garbage[:, :tokens.shape[1]])
  return jnp.asarray(garbage)


@pytest.mark.parametrize('name', sorted(MODELS))
def test_extra_padding_and_garbage_past_the_length_change_no_logit(name):
  tokens, lengths = _batch()
  padded = _garbage_padded(tokens, lengths, extra=3)
  np.testing.assert_allclose(_apply(name, padded, lengths), _apply(name, tokens, lengths), rtol=1e-5, atol=1e-5)
  if name in WITH_LM:  # The LM logits of the real positions too.
    real = np.arange(T)[None, :] < LENGTHS[:, None]
    lm = np.asarray(_apply(name, tokens, lengths, method='lm_logits'))
    lm_padded = np.asarray(_apply(name, padded, lengths, method='lm_logits'))[:, :T]
    np.testing.assert_allclose(lm_padded[real], lm[real], rtol=1e-5, atol=1e-5)


def _conv_pool_reference(params, tokens, lengths, widths, rows):
  """Max over windows of relu(window . kernel + bias), a numpy loop in float64; rows(real, w) builds the
  sequence of word vectors whose windows of width w are pooled (no windows: zeros)."""
  table = np.asarray(params['embed']['embedding'], np.float64)
  C = params['convs_0']['kernel'].shape[-1]  # Channels per filter width.
  expected = np.zeros((len(lengths), len(widths) * C))
  for b, length in enumerate(lengths):
    real = table[np.asarray(tokens)[b, :length]]
    for j, w in enumerate(widths):
      kernel = np.asarray(params[f'convs_{j}']['kernel'], np.float64)  # (w, D, C)
      bias_C = np.asarray(params[f'convs_{j}']['bias'], np.float64)
      x = rows(real, w)
      windows = [np.maximum(np.tensordot(x[i:i + w], kernel, 2) + bias_C, 0.0)
                 for i in range(len(x) - w + 1)]
      expected[b, C * j:C * (j + 1)] = np.max(windows, axis=0) if windows else 0.0
  return expected


def test_cnn_pools_the_narrow_windows_like_a_numpy_loop():
  """Windows within the sentence; a sentence shorter than w (an empty one too) has one, zeros after it."""
  tokens, lengths = _batch()
  zeros = lambda n: np.zeros((n, 6))
  expected = _conv_pool_reference(_params('cnn'), tokens, lengths, (2, 3, 5),
                                  lambda real, w: np.concatenate([real, zeros(max(w - len(real), 0))]))
  features = _apply('cnn', _garbage_padded(tokens, lengths, extra=3), lengths, method='features')
  np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-5)


def test_kim_cnn_pools_wide_windows_and_a_window_of_padding_like_a_numpy_loop():
  """Kim's code: w_max - 1 zero vectors before each sentence and zeros after it, so every window holding a
  real token counts, and (padded far enough) a window of zero vectors alone joins every max."""
  tokens, lengths = _batch()
  zeros = lambda n: np.zeros((n, 6))
  kim_row = lambda real, w: np.concatenate([zeros(4), real, zeros(5)])  # Widest filter 5.
  expected = _conv_pool_reference(_params('kim_cnn'), tokens, lengths, (2, 3, 5), kim_row)
  features = _apply('kim_cnn', _garbage_padded(tokens, lengths, extra=3), lengths, method='features')
  np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-5)
  # The reference tells the pieces apart: without the padding window, or narrow, some feature differs.
  wide_only = lambda real, w: np.concatenate([zeros(w - 1), real, zeros(w - 1)]) if len(real) else zeros(0)
  narrow = lambda real, w: np.concatenate([real, zeros(max(w - len(real), 0))])
  for rows in (wide_only, narrow):
    other = _conv_pool_reference(_params('kim_cnn'), tokens, lengths, (2, 3, 5), rows)
    assert np.abs(other - expected).max() > 1e-3


def _dropped_features(name, tokens, lengths, rng):
  """(logits, what the dropout layer returned) of one training pass."""
  logits, state = MODELS[name].apply({'params': _params(name)}, tokens, lengths, train=True, rngs={'dropout': rng},
                                     capture_intermediates=lambda module, _: module.name == 'drop',
                                     mutable=['intermediates'])
  return np.asarray(logits), np.asarray(state['intermediates']['drop']['__call__'][0])


@pytest.mark.parametrize('name', ['cnn', 'kim_cnn'])
def test_cnn_dropout_forms(name):
  """cnn: inverted dropout (kept units x 1 / (1 - p) in training, features as they are at test). kim_cnn: the
  paper's (kept units unscaled in training, features x (1 - p) at test)."""
  tokens, lengths = _batch()
  params = _params(name)
  kernel_CK, bias_K = np.asarray(params['output']['kernel'], np.float64), np.asarray(params['output']['bias'])
  features_BC = np.asarray(_apply(name, tokens, lengths, method='features'), np.float64)
  train_scale, test_scale = (1.0, 0.5) if name == 'kim_cnn' else (2.0, 1.0)  # p = 0.5.
  np.testing.assert_allclose(_apply(name, tokens, lengths), features_BC * test_scale @ kernel_CK + bias_K,
                             rtol=1e-5, atol=1e-5)
  logits, dropped_BC = _dropped_features(name, tokens, lengths, jax.random.PRNGKey(3))
  kept_BC = dropped_BC != 0
  assert 0.2 < kept_BC[features_BC != 0].mean() < 0.8  # Some units dropped, some kept.
  np.testing.assert_allclose(logits, features_BC * kept_BC * train_scale @ kernel_CK + bias_K, rtol=1e-5, atol=1e-5)


def test_kim_init_draws_lenet_uniform_convolutions_and_a_zero_output_layer():
  model = kim_cnn.KimCNN(V, K, init_len=64)
  params = model.init(jax.random.PRNGKey(0), *_batch())['params']
  assert not np.any(np.asarray(params['output']['kernel'])) and not np.any(np.asarray(params['output']['bias']))
  embedding = np.asarray(params['embed']['embedding'])
  assert np.abs(embedding).max() <= 0.25  # U(-0.25, 0.25): sd 0.25 / sqrt(3).
  np.testing.assert_allclose(embedding.std(), 0.25 / np.sqrt(3.0), rtol=0.05)
  for j, w in enumerate((3, 4, 5)):
    kernel = np.asarray(params[f'convs_{j}']['kernel'])
    # Theano LeNet (Kim's code's tanh branch): Glorot's bound, fan_out over the pooled length 64 - w + 1.
    bound = np.sqrt(6.0 / (w * 300 + 100 * w * 300 / (64 - w + 1)))
    assert kernel.shape == (w, 300, 100) and np.abs(kernel).max() <= bound
    np.testing.assert_allclose(kernel.std(), bound / np.sqrt(3.0), rtol=0.02)  # U(-a, a): sd a / sqrt(3).
    assert not np.any(np.asarray(params[f'convs_{j}']['bias']))


def test_bilstm_directions_equal_each_direction_run_over_the_real_tokens_alone():
  tokens, lengths = _batch()
  params, hidden = _params('bilstm_final'), 5
  outputs = np.asarray(_apply('bilstm_final', tokens, lengths, method='encode'))
  features = np.asarray(_apply('bilstm_final', tokens, lengths, method='features'))
  layer = rnn.RecurrentLayer(hidden, 'lstm')  # Unmasked, forward, batch-major: another code path (lstm_layer).
  table = np.asarray(params['embed']['embedding'])
  for b, length in enumerate(LENGTHS):
    np.testing.assert_array_equal(outputs[b, length:], 0.0)
    if length == 0:
      np.testing.assert_array_equal(features[b], 0.0)  # Both directions stay at their zero initial states.
      continue
    x_1TD = table[np.asarray(tokens)[b, :length]][None]
    fwd, _ = layer.apply({'params': params['forward_rnn_0']}, x_1TD)
    bwd, _ = layer.apply({'params': params['backward_rnn_0']}, x_1TD[:, ::-1])
    np.testing.assert_allclose(outputs[b, :length, :hidden], fwd[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs[b, :length, hidden:], bwd[0, ::-1], rtol=1e-5, atol=1e-6)
    # 'final': the forward state after the last real token, the backward state after reading back to the first.
    np.testing.assert_allclose(features[b], np.concatenate([fwd[0, -1], bwd[0, -1]]), rtol=1e-5, atol=1e-6)


def test_bag_of_embeddings_is_invariant_to_the_order_of_the_real_tokens_only():
  tokens, lengths = _batch()
  shuffled = np.asarray(tokens).copy()
  rng = np.random.RandomState(3)
  for b, length in enumerate(LENGTHS):
    shuffled[b, :length] = rng.permutation(shuffled[b, :length])
  assert (shuffled != np.asarray(tokens)).any()
  logits = np.asarray(_apply('boe', tokens, lengths))
  np.testing.assert_allclose(_apply('boe', jnp.asarray(shuffled), lengths), logits, rtol=1e-5, atol=1e-6)
  changed = shuffled.copy()
  changed[0, 0] = 4 if changed[0, 0] != 4 else 5
  assert np.abs(np.asarray(_apply('boe', jnp.asarray(changed), lengths))[0] - logits[0]).max() > 1e-4


def _perturbed_embeddings(name, method, tokens, lengths):
  """The output of `method` as a function of a perturbation added to the token embeddings."""
  def fn(delta):
    def add_delta(next_fun, args, kwargs, context):
      out = next_fun(*args, **kwargs)
      if context.module.name == 'embed' and context.method_name == '__call__':
        return out + (delta if out.shape == delta.shape else jnp.swapaxes(delta, 0, 1))  # RNNs: time-major.
      return out
    with nn.intercept_methods(add_delta):
      return _apply(name, tokens, lengths, method=method)
  return fn


@pytest.mark.parametrize('name', ['bert_pre_pooler', 'bert_post'])
def test_transformer_classifier_gets_exactly_zero_gradient_from_positions_past_the_length(name):
  tokens, lengths = _batch()
  jacobian = jax.jacrev(_perturbed_embeddings(name, None, tokens, lengths))(jnp.zeros((B, T + 1, 8)))
  influence = np.abs(np.asarray(jacobian)).max(axis=(1, 4))  # (B, B, 1 + T): row b's logits, row b' slot s.
  for b, length in enumerate(LENGTHS):
    assert (influence[b, b, :length + 1] > 1e-6).all()  # CLS and every real token are seen.
    assert (influence[b, b, length + 1:] == 0.0).all()  # Exactly zero, not merely small.
    assert (np.delete(influence[b], b, axis=0) == 0.0).all()  # Rows are independent.


@pytest.mark.parametrize('name', CAUSAL_LM)
def test_causal_lm_logits_get_exactly_zero_gradient_from_later_tokens(name):
  tokens, lengths = _batch(lengths=np.full(B, T))
  width = _params(name)['embed']['embedding'].shape[1]
  jacobian = jax.jacrev(_perturbed_embeddings(name, 'lm_logits', tokens, lengths))(jnp.zeros((B, T, width)))
  influence = np.abs(np.asarray(jacobian))[0, :, :, 0].max(axis=(1, 3))  # (t, s) of row 0.
  future = np.triu(np.ones((T, T), bool), k=1)
  assert (influence[future] == 0.0).all()
  assert (influence[~future] > 1e-7).all()


def _shapes(params):
  return {jax.tree_util.keystr(path): leaf.shape for path, leaf in jax.tree_util.tree_leaves_with_path(params)}


@pytest.mark.parametrize('name', sorted(MODELS))
def test_an_lm_init_creates_every_parameter_but_the_classification_head(name):
  model, (tokens, lengths) = MODELS[name], _batch()
  if name not in WITH_LM:
    with pytest.raises(ValueError, match='no language-model head'):
      jax.eval_shape(functools.partial(model.init, method='lm_logits'), jax.random.PRNGKey(0), tokens, lengths)
    return
  init = lambda method: jax.eval_shape(functools.partial(model.init, method=method), jax.random.PRNGKey(0),
                                       tokens, lengths)['params']
  full, lm = init(None), init('lm_logits')
  assert set(full) - set(lm) == ({'output', 'pool'} if name == 'bert_pre_pooler' else {'output'})
  assert _shapes(lm) == _shapes({k: v for k, v in full.items() if k not in HEADS})


@pytest.mark.parametrize('name', CAUSAL_LM)
def test_classify_and_lm_equals_both_separate_passes(name):
  tokens, lengths = _batch()
  logits, lm = _apply(name, tokens, lengths, method='classify_and_lm')
  np.testing.assert_allclose(logits, _apply(name, tokens, lengths), rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(lm, _apply(name, tokens, lengths, method='lm_logits'), rtol=1e-6, atol=1e-6)
  assert lm.shape == (B, T, V) and lm.dtype == jnp.float32


def test_classify_and_lm_is_refused_where_there_is_no_causal_lm():
  for name in ('boe', 'bilstm_final', 'bert_post'):
    with pytest.raises(ValueError, match='LM|language-model'):
      _apply(name, *_batch(), method='classify_and_lm')


def test_max_norm_rescales_only_the_output_columns_above_the_norm():
  params = jax.tree.map(np.asarray, _params('kim_cnn'))
  kernel = np.random.RandomState(0).randn(12, K).astype(np.float32)
  kernel[:, 1] *= 0.01  # One column inside the ball: untouched.
  params['output']['kernel'] = kernel
  clipped = classifiers.max_norm(params, 3.0)
  expected = kernel.copy()
  for k in range(K):
    norm = np.sqrt(np.sum(kernel[:, k] ** 2))
    if norm > 3.0:
      expected[:, k] = kernel[:, k] * 3.0 / norm
  np.testing.assert_allclose(clipped['output']['kernel'], expected, rtol=1e-6)
  np.testing.assert_array_equal(clipped['output']['kernel'][:, 1], kernel[:, 1])
  np.testing.assert_allclose(np.linalg.norm(clipped['output']['kernel'], axis=0).max(), 3.0, rtol=1e-6)
  assert clipped['convs_0'] is params['convs_0'] and clipped['output']['bias'] is params['output']['bias']


@pytest.mark.parametrize('name', ['boe', 'cnn', 'kim_cnn', 'bilstm_final', 'bert_pre_pooler', 'gpt'])  # Each family.
def test_train_mode_draws_dropout_from_its_rng_and_empty_sentences_stay_finite(name):
  tokens, lengths = _batch(lengths=np.zeros(B, int))
  model = MODELS[name]

  def loss(params):
    return model.apply({'params': params}, tokens, lengths, train=True, rngs={'dropout': jax.random.PRNGKey(2)}).sum()
  value, grads = jax.value_and_grad(loss)(_params(name))
  assert np.isfinite(value)
  assert all(np.isfinite(g).all() for g in jax.tree.leaves(grads))
  tokens, lengths = _batch()
  train = lambda seed: np.asarray(_apply(name, tokens, lengths, train=True, rngs={'dropout': jax.random.PRNGKey(seed)}))
  np.testing.assert_array_equal(train(0), train(0))
  assert np.abs(train(0) - train(1)).max() > 1e-6
  assert np.abs(train(0) - np.asarray(_apply(name, tokens, lengths))).max() > 1e-6


def _config(name, **fields):
  return ml_collections.ConfigDict(dict(name=name, **fields))


def test_builders_read_the_config_and_keep_the_module_defaults():
  cnn = models.build(_config('cnn', embed_dim=8, filter_widths=[2, 3]), vocab_size=V, num_classes=K)
  assert isinstance(cnn, classifiers.TextCNN) and not isinstance(cnn, kim_cnn.KimCNN)
  assert (cnn.embed_dim, cnn.filter_widths, cnn.num_filters, cnn.dropout) == (8, (2, 3), 100, 0.5) and hash(cnn)
  kim = models.build(_config('kim_cnn', embed_dim=8), vocab_size=V, num_classes=K)
  assert isinstance(kim, kim_cnn.KimCNN)
  assert (kim.embed_dim, kim.filter_widths, kim.num_filters, kim.dropout, kim.init_len) == (8, (3, 4, 5), 100, 0.5, 64)
  boe = models.build(_config('boe', hidden_sizes=[4, 4], activation='relu'), vocab_size=V, num_classes=K)
  assert boe.hidden_sizes == (4, 4) and hash(boe)
  gpt = models.build(_config('gpt_classifier', width=8, num_heads=2, max_len=10), vocab_size=V, num_classes=2)
  assert isinstance(gpt, classifiers.GPTClassifier) and gpt.num_classes == 2
  assert gpt.apply(gpt.init(jax.random.PRNGKey(0), *_batch()), *_batch()).shape == (B, 2)
  assert {'boe', 'cnn', 'kim_cnn', 'rnn_classifier', 'transformer_classifier', 'gpt_classifier'} <= set(models.names())


@pytest.mark.parametrize('name,field,value,choices', [
    ('rnn_classifier', 'cell', 'elman', 'lstm, gru'),
    ('rnn_classifier', 'pooling', 'last', 'final, mean, max'),
    ('boe', 'activation', 'gelu', 'tanh, relu'),
    ('transformer_classifier', 'norm', 'sandwich', 'pre, post'),
    ('gpt_classifier', 'activation', 'swish', 'gelu, relu'),
])
def test_builders_reject_unknown_choices_naming_the_valid_ones(name, field, value, choices):
  with pytest.raises(ValueError, match=f'model.{field} .*{choices}'):
    models.build(_config(name, **{field: value}), vocab_size=V, num_classes=K)


def test_builders_reject_bad_sizes():
  with pytest.raises(ValueError, match='divisible'):
    models.build(_config('transformer_classifier', width=10, num_heads=4), vocab_size=V, num_classes=K)
  with pytest.raises(ValueError, match='dropout'):
    models.build(_config('kim_cnn', dropout=1.0), vocab_size=V, num_classes=K)
  with pytest.raises(ValueError, match='filter_widths'):
    models.build(_config('kim_cnn', filter_widths=(3, 0)), vocab_size=V, num_classes=K)
  with pytest.raises(ValueError, match='filter_widths needs at least one'):
    models.build(_config('cnn', filter_widths=()), vocab_size=V, num_classes=K)
  with pytest.raises(ValueError, match=r'init_len \(4\) must be at least the widest filter \(5\)'):
    models.build(_config('kim_cnn', init_len=4), vocab_size=V, num_classes=K)
  with pytest.raises(ValueError, match='max_len'):
    _apply('gpt', jnp.zeros((1, 13), jnp.int32), jnp.ones((1,), jnp.int32))


def test_autoencoder_decoder_starts_from_the_encoder_state_and_rebuilds_the_real_tokens():
  # Reference: the encoder and the decoder run as separate unmasked layers over each row's real tokens alone.
  name = 'lstm_mean'  # Two layers, embed_dim 6 != hidden 5: the untied LM output.
  model = MODELS[name]
  tokens, lengths = _batch()
  params = model.init(jax.random.PRNGKey(0), tokens, lengths, method='autoencoder_logits')['params']
  rng = np.random.RandomState(2)
  params = jax.tree.map(lambda p: jnp.asarray(p + 0.3 * rng.randn(*p.shape).astype(np.float32)), params)
  assert {'decoder_rnn_0', 'decoder_rnn_1', 'lm_output'} <= set(params) and 'output' not in params
  logits = np.asarray(model.apply({'params': params}, tokens, lengths, method='autoencoder_logits'))
  layer = rnn.RecurrentLayer(5, 'lstm')
  table = np.asarray(params['embed']['embedding'])
  for b, length in enumerate(LENGTHS):
    if length == 0:
      continue
    real = np.asarray(tokens)[b, :length]
    x, states = table[real][None], []
    for i in range(2):
      x, state = layer.apply({'params': params[f'forward_rnn_{i}']}, x)
      states.append(state)
    y = table[np.concatenate([[classifiers.CLS], real[:-1]])][None]
    for i in range(2):
      y, _ = layer.apply({'params': params[f'decoder_rnn_{i}']}, y, states[i])
    expected = y[0] @ params['lm_output']['kernel'] + params['lm_output']['bias']
    np.testing.assert_allclose(logits[b, :length], expected, rtol=1e-4, atol=1e-5)
  # Padding and garbage past each length change no real position's logits.
  garbage = model.apply({'params': params}, _garbage_padded(tokens, lengths, 3), lengths, method='autoencoder_logits')
  for b, length in enumerate(LENGTHS):
    np.testing.assert_allclose(np.asarray(garbage)[b, :length], logits[b, :length], rtol=1e-5, atol=1e-6)


def test_an_autoencoder_pretrained_encoder_is_all_a_classifier_keeps():
  model = MODELS['lstm_mean']
  tokens, lengths = _batch()
  pretrained = model.init(jax.random.PRNGKey(0), tokens, lengths, method='autoencoder_logits')['params']
  classifier = model.init(jax.random.PRNGKey(1), tokens, lengths)['params']
  shared = set(pretrained) & set(classifier)
  assert set(classifier) - shared == {'output'}
  assert set(pretrained) - shared == {'decoder_rnn_0', 'decoder_rnn_1'}
