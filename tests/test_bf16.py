"""Mixed precision (model.dtype = 'bfloat16', models/precision.py) for the tiny config of every model family.

For each family, from one set of float32 parameters and a synthetic, learnable batch (no shared data needed):
(a) the bfloat16 model creates the same float32 parameters, and its training keeps parameters and optimizer
    state float32;
(b) at the first step, where both read the same parameters (and dropout masks), its logits are float32, within a
    bfloat16 tolerance of the float32 model's, and farther from them than float32 rounding (bfloat16 computes);
(c) 20 Adam steps in bfloat16 lower the loss and end within a tolerance of the float32 run's loss.
Then: lstm_layer's hand-written backward in bfloat16 against autodiff, and recurrent states that must stay float32.

Tolerances. bfloat16 keeps 8 significant bits: unit roundoff u = 2^-8. A matmul whose operands are rounded to
bfloat16 and accumulated in float32 errs by about u·sqrt(2) of the size of its result (two roundings per
product, independent and of either sign, over n products: sqrt(2n)·u·rms against a result of sqrt(n)·rms). The
errors of the R matmuls on the path to a logit add to about u·sqrt(2R) of the logits' scale, where a recurrence
counts the matmuls of every step that its state passes through (as if it forgot nothing: an upper estimate).
Allowed: SAFETY (8, as tests/tolerances.py) times that,
    (b)  max |logits_bf16 - logits_f32| <= 8 · u · sqrt(2R) · max |logits_f32|,   R = FAMILIES[family][1];
         measured 0.2% to 1.0% of the scale against bounds of 6% to 40%.
Training cannot be bounded that way: Adam's update of a parameter whose gradient is near zero follows its sign,
which rounding can flip. (c) asks that bfloat16 make the float32 run's progress to within 5% of it:
    (c)  |loss_bf16 - loss_f32| <= 0.05 · (loss_start - loss_f32),   each the mean of the last 5 steps' losses
         (dropout makes single steps noisy); measured at most 0.25% of the progress.
Run with -s to print each family's errors and bounds.
"""
import copy
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import models
from data import trees
from models import precision
from models import rnn
from training import config_loading
from training import workdir
from tests import tolerances

U = 2.0 ** -8  # bfloat16's unit roundoff.
STEPS, LEARNING_RATE = 20, 1e-2
V, K = 16, 3  # Vocabulary (tokens 4.. are words: 0-3 are reserved ids of the classifiers) and classes.

TREE_HEIGHT = 4
TAG_WORD_LEN = 6  # Characters per word of the tagging batch.


def _recurrent(layers, steps):
  """Matmuls on a recurrent stack's path: x W and h U in every step of every layer."""
  return 2 * layers * steps


# Family (configs/FAMILY.py:tiny) -> (task kind, R: matmuls on the path to a logit, for the tolerance of (b)).
# An attention counts 4 (projections, scores, weighted sum, output), a feed-forward 2; the logits 1.
FAMILIES = {
    'charlm/rnn': ('lm', _recurrent(2, 16) + 1),
    'charlm/gru': ('lm', _recurrent(2, 16) + 1),
    'charlm/lstm': ('lm', _recurrent(2, 16) + 1),
    'charlm/mlp': ('lm', 2),  # The tanh layer, the softmax.
    'charlm/gpt': ('lm', 2 * 6 + 1),
    'classify/boe': ('classify', 2),
    'classify/cnn': ('classify', 2),
    'classify/kim_cnn': ('classify', 2),
    'classify/lstm': ('classify', _recurrent(1, 12) + 1),
    'classify/bilstm': ('classify', _recurrent(1, 12) + 1),  # The directions side by side.
    'classify/gpt': ('classify', 6 + 1),
    'classify/transformer': ('classify', 6 + 1),
    # Encoder (S = 10), then decoder steps (T = 10) that also project the query; the keys; deep output, softmax.
    'mt/attention': ('mt', _recurrent(1, 10) + _recurrent(1, 10) + 10 + 1 + 2),
    'mt/gru': ('mt', _recurrent(1, 10) + _recurrent(1, 10) + 1),
    'mt/lstm': ('mt', _recurrent(2, 10) + _recurrent(2, 10) + 1),
    'mt/transformer': ('mt', 6 + (4 + 4 + 2) + 1),  # An encoder block; a decoder block with cross-attention.
    'timeseries/deep_rnn_dense': ('timeseries', _recurrent(2, 8) + 1),
    'adding/urnn': ('timeseries', _recurrent(1, 8) + 1),  # The unitary W, built in float32, read in bfloat16.
    'adding/exprnn': ('timeseries', _recurrent(1, 8) + 1),
    # The frozen biLM's two layers (its mix reads all of them), then the BiLSTM, the head.
    'classify/elmo': ('classify', _recurrent(2, 12) + _recurrent(1, 12) + 1),
    'classify/bart': ('classify', 6 + (4 + 4 + 2) + 1),  # As mt/transformer: an encoder and a decoder block.
    # Trees of height <= TREE_HEIGHT: a composition per level (the RNTN's tensor and W: 2), the softmax.
    'sst/recnn': ('tree', TREE_HEIGHT + 1),
    'sst/rntn': ('tree', 2 * TREE_HEIGHT + 1),
    'sst/tree_lstm': ('tree', 2 * TREE_HEIGHT + 1),  # The leaves' W x, then U h at every level.
    # The character BiLSTM over a word's W characters, then the word BiLSTM; a block; the heads.
    'tag/char_bilstm': ('tag', _recurrent(1, TAG_WORD_LEN) + _recurrent(1, 12) + 1),
    'tag/transformer': ('tag', 6 + 1),
}


def _build(family, dtype):
  config = config_loading.load_config(f'configs/{family}.py:tiny').model
  config.dtype = dtype
  kind = FAMILIES[family][0]
  dims = {'lm': dict(vocab_size=V, seq_len=16), 'classify': dict(vocab_size=V, num_classes=K),
          'mt': dict(src_vocab_size=V, tgt_vocab_size=V), 'timeseries': {},
          'tree': dict(vocab_size=V, num_classes=K),
          'tag': dict(vocab_size=V, num_upos=K, num_xpos=K + 1, num_chars=V)}[kind]
  return models.build(config, **dims)


def _data(kind):
  """A learnable synthetic batch: numpy arrays, the inputs first."""
  rng = np.random.RandomState(0)
  if kind == 'lm':  # Each token determines the next (a random permutation), from a random start: (B, T + 1).
    successor = rng.permutation(V)
    tokens = np.zeros((4, 17), np.int32)
    tokens[:, 0] = rng.randint(0, V, 4)
    for t in range(16):
      tokens[:, t + 1] = successor[tokens[:, t]]
    return (tokens,)
  if kind == 'classify':  # Class k draws its words from its own third of the vocabulary; rows right-padded.
    B, T = 12, 12
    labels = np.arange(B) % K
    length = rng.randint(3, T + 1, B).astype(np.int32)
    span = (V - 4) // K
    tokens = 4 + labels[:, None] * span + rng.randint(0, span, (B, T))
    tokens = np.where(np.arange(T)[None] < length[:, None], tokens, 0).astype(np.int32)
    return tokens, length, labels.astype(np.int32)
  if kind == 'mt':  # Copy the source (ids 3..V-1; 0 pad, 1 BOS, 2 EOS); the target input starts with BOS.
    B, S = 8, 10
    length = rng.randint(4, S + 1, B).astype(np.int32)
    src = np.where(np.arange(S)[None] < length[:, None], rng.randint(3, V, (B, S)), 0).astype(np.int32)
    tgt_in = np.concatenate([np.ones((B, 1), np.int32), src[:, :-1]], axis=1)
    return src, length, tgt_in, src
  if kind == 'tree':  # Every node of tree b has class b % K; its words come from that class's third.
    lines = ['(L (L (L a) (L b)) (L (L c) (L (L d) (L e))))', '(L (L a) (L b))', '(L (L (L a) (L b)) (L c))',
             '(L (L a) (L (L b) (L (L c) (L d))))', '(L z)', '(L (L (L a) (L b)) (L (L c) (L d)))']
    parsed = [trees.parse_tree(line.replace('L', str(b % K))) for b, line in enumerate(lines)]
    assert max(t.heights().max() for t in parsed) <= TREE_HEIGHT
    span = (V - 4) // K
    ids = [4 + (b % K) * span + rng.randint(0, span, len(t.words)) for b, t in enumerate(parsed)]
    return (trees.make_batch(parsed, ids, 'sst5', np.arange(len(parsed)), len(parsed)),)
  if kind == 'tag':  # A word's tag is its id mod K; its characters spell the id; rows right-padded.
    B, T = 8, 12
    length = rng.randint(3, T + 1, B).astype(np.int32)
    real = np.arange(T)[None] < length[:, None]
    tokens = np.where(real, rng.randint(4, V, (B, T)), 0).astype(np.int32)
    chars = np.where(real[..., None], (tokens[..., None] + np.arange(TAG_WORD_LEN)) % V, 0).astype(np.int32)
    chars[..., TAG_WORD_LEN - 2:] = 0  # Words shorter than the width.
    tags = np.where(real, tokens % K, -1).astype(np.int32)
    return ({'tokens': tokens, 'length': length, 'chars': chars, 'upos': tags},)
  x = np.sin(np.linspace(0, 4, 9)[None, :] * rng.uniform(1, 3, (16, 1)) + rng.uniform(0, 6, (16, 1)))
  return x[:, :8, None].astype(np.float32), x[:, 8:].astype(np.float32)


def _logits_and_loss(model, kind, params, batch, train, rng):
  variables, rngs = {'params': params}, ({} if rng is None else {'dropout': rng})
  if kind == 'lm':
    (tokens,) = batch
    logits, _ = model.apply(variables, tokens[:, :-1], model.initial_carry(tokens.shape[0]), train=train, rngs=rngs)
    return logits, optax.softmax_cross_entropy_with_integer_labels(logits, tokens[:, 1:]).mean()
  if kind == 'classify':
    tokens, length, labels = batch
    logits = model.apply(variables, tokens, length, train=train, rngs=rngs)
    return logits, optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
  if kind == 'mt':
    src, length, tgt_in, tgt_out = batch
    logits = model.apply(variables, src, length, tgt_in, train=train, rngs=rngs)
    weight = (np.arange(src.shape[1])[None] < length[:, None]).astype(np.float32)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, tgt_out)
    return logits, (loss * weight).sum() / weight.sum()
  if kind == 'tree':
    (tree_batch,) = batch
    logits = model.apply(variables, tree_batch, train=train, rngs=rngs)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, tree_batch['node_label'])
    return logits, (loss * tree_batch['node_weight']).sum() / tree_batch['node_weight'].sum()
  if kind == 'tag':
    (tag_batch,) = batch
    logits, _ = model.apply(variables, tag_batch, train=train, rngs=rngs)
    tags, weight = np.maximum(tag_batch['upos'], 0), (tag_batch['upos'] >= 0).astype(np.float32)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits['upos'], tags)
    return logits['upos'], (loss * weight).sum() / weight.sum()
  x, y = batch
  prediction = model.apply(variables, x)
  return prediction, ((prediction - y) ** 2).mean()


def _random_params(shapes, seed=0):
  """Float32 parameters of the given shapes, at a Glorot-like scale: a kernel N(0, 1/fan_in) (fan_in: all axes
  but the last), a vector N(0, 0.1²) (a norm's scale about 1). Nothing starts at zero, unlike some inits (Kim's
  output layer), so every layer shapes the logits; drawn in numpy, there is no init to compile."""
  rng = np.random.RandomState(seed)
  def draw(path, shape):
    if len(shape.shape) >= 2:
      return (rng.randn(*shape.shape) / math.sqrt(np.prod(shape.shape[:-1]))).astype(np.float32)
    offset = 1.0 if jax.tree_util.keystr(path).endswith("['scale']") else 0.0
    return np.asarray(offset + 0.1 * rng.randn(*shape.shape), np.float32)  # A scalar (ELMo's γ) too.
  return jax.tree_util.tree_map_with_path(draw, shapes)


def _experiment(family):
  """Trains the float32 and the bfloat16 model from one set of float32 parameters: per step, the training loss of
  each and the logits of step 0, where both read the same parameters and dropout masks. One compiled program per
  model: the step (gradient and Adam update)."""
  kind = FAMILIES[family][0]
  model32, model16 = _build(family, 'float32'), _build(family, 'bfloat16')
  batch = _data(kind)
  init_args = {'lm': lambda: (batch[0][:, :-1], model32.initial_carry(batch[0].shape[0])),
               'classify': lambda: batch[:2], 'mt': lambda: batch[:3], 'timeseries': lambda: batch[:1],
               'tree': lambda: batch, 'tag': lambda: batch}[kind]()
  shapes32, shapes16 = (jax.eval_shape(model.init, jax.random.PRNGKey(0), *init_args)['params']
                        for model in (model32, model16))
  optimizer = optax.adam(LEARNING_RATE)

  def train(model, params):
    @jax.jit
    def step(params, opt_state, i):
      (loss, logits), grads = jax.value_and_grad(
          lambda p: _logits_and_loss(model, kind, p, batch, True, jax.random.PRNGKey(i))[::-1], has_aux=True)(params)
      updates, opt_state = optimizer.update(grads, opt_state, params)
      return optax.apply_updates(params, updates), opt_state, loss, logits
    opt_state, losses = optimizer.init(params), []
    for i in range(STEPS):
      params, opt_state, loss, logits = step(params, opt_state, i)
      losses.append(float(loss))
      if i == 0:
        first_logits = np.asarray(logits)
    return np.array(losses), first_logits, params, opt_state

  params = _random_params(shapes32)
  losses32, logits32, _, _ = train(model32, params)
  losses16, logits16, trained16, opt_state16 = train(model16, params)
  return shapes32, shapes16, {'losses32': losses32, 'losses16': losses16, 'logits32': logits32,
                              'logits16': logits16, 'trained16': trained16, 'opt_state16': opt_state16}


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_bfloat16_keeps_float32_state_and_stays_near_float32(family):
  shapes32, shapes16, out = _experiment(family)
  roundings = FAMILIES[family][1]
  # (a) Parameters are created, trained and optimized in float32: the same parameters whatever the compute dtype.
  assert shapes16 == shapes32
  for tree in (shapes16, out['trained16'], out['opt_state16']):
    floats = [leaf for leaf in jax.tree.leaves(tree) if jnp.issubdtype(leaf.dtype, jnp.floating)]
    assert floats and all(leaf.dtype == jnp.float32 for leaf in floats)
  # (b) Float32 logits, within bfloat16's tolerance of float32's on the same params, yet not float32's.
  assert out['logits16'].dtype == jnp.float32
  scale = float(np.abs(out['logits32']).max())
  error = float(np.abs(out['logits16'] - out['logits32']).max())
  bound = tolerances.SAFETY * U * math.sqrt(2 * roundings)
  print(f'\n{family}: logits error {error / scale:.2e} of scale {scale:.3g} (bound {bound:.2e}); ', end='')
  assert error <= bound * scale
  assert error > tolerances.atol(roundings, scale)
  # (c) bfloat16 training lowers the loss and ends near the float32 run (the last steps' mean: dropout varies).
  start = float(out['losses32'][0])
  end32, end16 = float(out['losses32'][-5:].mean()), float(out['losses16'][-5:].mean())
  allowed = 0.05 * (start - end32)
  print(f'loss {start:.4f} -> float32 {end32:.4f}, bfloat16 {end16:.4f} (|diff| {abs(end16 - end32):.2e}, '
        f'allowed {allowed:.2e})', end='')
  assert end16 < start and end32 < start
  assert abs(end16 - end32) <= allowed


def test_model_dtype_is_checked_by_the_builder_and_absent_means_float32():
  config = config_loading.load_config('configs/charlm/lstm.py:tiny').model
  assert config.dtype == 'float32'
  config.dtype = 'float16'
  with pytest.raises(ValueError, match=r"Unknown model.dtype 'float16'; choose one of: float32, bfloat16"):
    models.build(config, vocab_size=V, seq_len=8)
  del config.dtype  # A config.json recorded before the field existed (configs/renamed.py ADDED).
  assert models.build(config, vocab_size=V, seq_len=8).dtype == jnp.float32


def test_a_run_recorded_before_model_dtype_resumes_as_the_same_config():
  new = config_loading.load_config('configs/classify/cnn.py:tiny').to_dict()
  old = copy.deepcopy(new)
  del old['model']['dtype']  # config.json of a run trained before the field (configs/renamed.py ADDED).
  assert workdir.config_changes(old, new) == {}
  new['model']['dtype'] = 'bfloat16'
  assert workdir.config_changes(old, new) == {'model.dtype': [None, 'bfloat16']}  # A change: refused on resume.


@pytest.mark.parametrize('folder', ['charlm', 'classify', 'pretrain', 'mt', 'timeseries', 'adding', 'copy', 'sst',
                                    'tag'])
def test_every_shipped_config_of_a_trained_model_sets_model_dtype(folder):
  root = os.path.join(config_loading.REPO_ROOT, 'configs', folder)
  for name in sorted(os.listdir(root)):
    if name.endswith('.py') and name not in ('__init__.py', 'common.py'):
      model = config_loading.load_config(f'configs/{folder}/{name}').model
      if model.name not in ('naive', 'ngram'):  # No matmuls: no dtype field (models/precision.py).
        assert model.dtype == 'float32', f'configs/{folder}/{name}'


def test_lstm_custom_backward_in_bfloat16_equals_autodiff_of_the_bfloat16_step_function():
  """lstm_layer's hand-written VJP with bfloat16 matmul operands against JAX's autodiff of the same bfloat16
  forward (projecting with rounded operands and scanning lstm_step): the two round the same forward operands,
  and differ only in the backward's roundings (the hand-written one rounds the gate gradients before its
  matmuls, autodiff does not), each gradient by about u·sqrt(2R) of its scale for the R matmuls behind it."""
  T, B, D, H = 6, 3, 5, 4
  rng = np.random.RandomState(0)
  args = tuple(jnp.asarray(a, jnp.float32) for a in (
      rng.randn(D, 4 * H) * 0.5, rng.randn(4 * H), rng.randn(H, 4 * H) * 0.5, rng.randn(T, B, D),
      rng.randn(B, H), rng.randn(B, H)))
  weights = rng.randn(T, B, H)
  bf16 = jnp.bfloat16

  def loss(hs, h, c):
    return jnp.sum(hs * weights) + jnp.sum(jnp.sin(h)) + jnp.sum(c ** 2)

  def reference(W, b, U, x, h0, c0):
    xw = precision.einsum('tbd,dg->tbg', x, W, bf16) + b
    def body(carry, xw_BG):
      carry = rnn.lstm_step({'recurrent_kernel': U}, carry, xw_BG, bf16)
      return carry, carry[0]
    (h, c), hs = jax.lax.scan(body, (h0, c0), xw)
    return loss(hs, h, c)

  def custom(dtype):
    def f(W, b, U, x, h0, c0):
      hs, (h, c) = rnn.lstm_layer(W, b, U, x, h0, c0, 1, dtype)
      return loss(hs, h, c)
    return f

  grad = lambda f: jax.jit(jax.value_and_grad(f, argnums=range(6)))
  (value, grads), (value_ref, grads_ref) = grad(custom(bf16))(*args), grad(reference)(*args)
  value32, grads32 = grad(custom(jnp.float32))(*args)
  roundings = 2 * T + 1  # Back through up to T steps of 2 matmuls, then the weight-gradient matmul.
  bound = tolerances.SAFETY * U * math.sqrt(2 * roundings)
  print(f'\nloss {float(value):.6f}, autodiff {float(value_ref):.6f}, float32 {float(value32):.6f}')
  assert abs(float(value) - float(value_ref)) <= tolerances.atol(2 * T * (D + H), abs(float(value_ref)))
  assert abs(float(value) - float(value32)) <= bound * abs(float(value32))
  for name, got, want, full in zip(('W', 'b', 'U', 'x', 'h0', 'c0'), grads, grads_ref, grads32):
    assert got.dtype == jnp.float32
    scale = float(np.abs(want).max())
    tolerance = bound * scale
    print(f'd{name}: {float(np.abs(got - want).max()) / scale:.2e} from autodiff, '
          f'{float(np.abs(got - full).max()) / scale:.2e} from float32 (bound {bound:.2e})')
    np.testing.assert_allclose(got, want, rtol=0, atol=tolerance, err_msg=f'd{name}')
    np.testing.assert_allclose(got, full, rtol=0, atol=tolerance, err_msg=f'd{name} against float32')


@pytest.mark.parametrize('cell,masked', [('lstm', False), ('lstm', True), ('gru', False)])
def test_recurrent_states_accumulate_in_float32(cell, masked):
  """Over 256 steps a nearly open forget gate (LSTM, f ≈ 1) or a nearly closed update (GRU, z ≈ 1) adds a small
  term to the state at every step. In bfloat16 each term would be rounded to a unit in the last place of the
  state (2^-8 of it): lost, or doubled. Kept in float32, the state errs by the bfloat16 rounding of the matmul
  operands behind each term (at most 2u of the matmuls' size, the gates' slopes being at most 1) added up over
  the T steps, as if every rounding had the same sign (a rounded weight, or an operand that barely changes,
  rounds alike in every step), plus float32's own rounding. A state rounded to bfloat16 at every step (computed
  here beside it) errs by far more, so the test can fail."""
  T, B, D, H = 256, 2, 3, 4
  rng = np.random.RandomState(0)
  x = (0.5 * rng.randn(B, T, D)).astype(np.float32)
  layer = rnn.RecurrentLayer(H, cell)
  params = _random_params(jax.eval_shape(layer.init, jax.random.PRNGKey(0), x)['params'])
  params['kernel'] *= 2e-4  # Small matmuls: each step's term comes mostly from the (float32) bias.
  params['recurrent_kernel'] *= 2e-4
  bias = np.zeros_like(params['bias'])
  if cell == 'lstm':  # Gates i, f, g, o: input and forget gates open (f = 0.99966), g about 0.02.
    bias[:H], bias[H:2 * H], bias[2 * H:3 * H] = 8.0, 8.0, 0.02
  else:  # Gates r, z, n: z = sigmoid(5) = 0.9933, so h moves 0.7% of the way to n ≈ tanh(0.5) in a step.
    bias[H:2 * H], bias[2 * H:] = 5.0, 0.5
  params['bias'] = bias
  valid = np.ones((B, T), bool) if masked else None

  with jax.enable_x64(True):
    params64 = jax.tree.map(lambda p: np.asarray(p, np.float64), params)
    _, last64 = layer.apply({'params': params64}, x.astype(np.float64), valid=valid)
    last64 = jax.device_get(last64)
  _, last16 = rnn.RecurrentLayer(H, cell, dtype=jnp.bfloat16).apply({'params': params}, x, valid=valid)
  for state in jax.tree.leaves(last16):
    assert state.dtype == jnp.float32

  def rounded_state_run():  # The same recurrence with the carried state rounded to bfloat16 at every step.
    step = rnn.step_function(cell, params, dtype=jnp.bfloat16)
    xw_TBG = precision.einsum('btd,dg->tbg', x, params['kernel'], jnp.bfloat16) + params['bias']
    def body(carry, xw_BG):
      carry = jax.tree.map(lambda s: s.astype(jnp.bfloat16).astype(jnp.float32), step(carry, xw_BG))
      return carry, None
    zeros = jnp.zeros((B, H), jnp.float32)
    return jax.lax.scan(body, (zeros, zeros) if cell == 'lstm' else zeros, xw_TBG)[0]

  # The matmul results behind each step's term, x·W and h·U: a bound on their size, |x|·Σ|W| + |h|·Σ|U|.
  matmul_scale = (np.abs(x).max() * np.abs(params['kernel']).sum(0).max()
                  + np.abs(jax.tree.leaves(last64)[0]).max() * np.abs(params['recurrent_kernel']).sum(0).max())
  state = lambda carry: carry[1] if cell == 'lstm' else carry  # The accumulating state: the LSTM's c, the GRU's h.
  want = state(last64)
  tolerance = T * 2 * U * matmul_scale + tolerances.atol(T * (D + H), np.abs(want).max())
  error = float(np.abs(state(last16) - want).max())
  rounded_error = float(np.abs(state(rounded_state_run()) - want).max())
  print(f'\n{cell}{" masked" if masked else ""}: state {float(np.abs(want).max()):.3f}, error {error:.2e} '
        f'(tolerance {tolerance:.2e}); rounded to bfloat16 every step: {rounded_error:.2e}', end='')
  assert error <= tolerance
  assert rounded_error > 4 * tolerance
