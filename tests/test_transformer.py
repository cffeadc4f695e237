"""The GPT: causality by gradient, cached decoding against the full pass, positions, training and sampling."""
import functools
import json
import math
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
from models import attention
from models import transformer
from tasks import sampling
from training import config_loading
from training import loop
from tests import tolerances

DATA_DIR = os.environ.get('SEQLAB_DATA_DIR', '')
needs_data = pytest.mark.skipif(
    not os.path.exists(os.path.join(DATA_DIR, 'tinyshakespeare', 'input.txt')),
    reason='SEQLAB_DATA_DIR does not hold tinyshakespeare/input.txt')

VOCAB = 13


def _gpt(**fields):
  fields = dict(dict(vocab_size=VOCAB, max_len=8, width=8, depth=2, num_heads=2), **fields)
  model = transformer.GPT(**fields)
  params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, fields['max_len']), jnp.int32), ())['params']
  return model, params


def _far_from_init(params, seed=0):
  """Weights far from their small init, so that positions and context matter as much as when trained."""
  rng = np.random.RandomState(seed)
  return jax.tree.map(lambda p: np.asarray(p) + 0.3 * rng.randn(*p.shape).astype(np.float32), params)


def _tokens(B, T, seed=1):
  return np.asarray(jax.random.randint(jax.random.PRNGKey(seed), (B, T), 0, VOCAB))


@pytest.mark.parametrize('width', [8, 7])
def test_sinusoidal_encoding_equals_its_closed_form(width):
  expected = np.zeros((5, width))
  for pos in range(5):
    for i in range(width):
      angle = pos / 10000 ** (2 * (i // 2) / width)  # PE(pos, 2j) = sin(pos / 10000^(2j/d)), 2j+1: cos.
      expected[pos, i] = math.sin(angle) if i % 2 == 0 else math.cos(angle)
  # float32 rounds the rate (an exp), the angle (a product) and the sine: a few ulp of angles up to 4.
  tolerances.assert_close(transformer.sinusoidal_encoding(5, width), expected, terms=3, scale=4.0)


def test_gelu_is_the_exact_erf_form():
  x = np.linspace(-4, 4, 17).astype(np.float32)
  expected = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.tolist()])
  # A scaling, the erf, a sum and two products in float32, on inputs up to 4 in size.
  tolerances.assert_close(transformer.gelu(x), expected, terms=5, scale=4.0)
  # That tolerance still tells the exact form from GPT-2's tanh approximation.
  tanh_form = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
  assert np.abs(tanh_form - expected).max() > 10 * tolerances.atol(5, 4.0)


def _logits_from_embeddings(model, params, tokens):
  """logits as a function of a perturbation added to the token embeddings (the input of the first block)."""
  def logits_fn(delta_BTC):
    def add_delta(next_fun, args, kwargs, context):
      out = next_fun(*args, **kwargs)
      if context.module.name == 'embed' and context.method_name == '__call__':
        return out + delta_BTC
      return out
    with nn.intercept_methods(add_delta):
      return model.apply({'params': params}, tokens, ())[0]
  return logits_fn


def _influence(jacobian):
  """(T, S): the largest |d output[t] / d input[s]| of a (1, T, V, 1, S, C) Jacobian."""
  return np.abs(np.asarray(jacobian))[0, :, :, 0].max(axis=(1, 3))


@pytest.mark.parametrize('positional,norm', [('learned', 'pre'), ('sinusoidal', 'post')])
def test_gpt_logits_have_exactly_zero_gradient_from_later_inputs(positional, norm):
  model, params = _gpt(positional=positional, norm=norm)
  tokens = _tokens(1, 6)
  jacobian = jax.jit(jax.jacrev(_logits_from_embeddings(model, params, tokens)))(jnp.zeros((1, 6, 8)))
  influence = _influence(jacobian)
  future = np.triu(np.ones((6, 6), bool), k=1)
  assert (influence[future] == 0.0).all()  # Exactly zero, not merely small.
  assert (influence[~future] > 1e-6).all()  # Every earlier (and the same) position is seen.


def test_block_gradient_sees_the_future_only_without_a_causal_mask():
  block = transformer.Block(width=8, num_heads=2, depth=1)
  x = np.random.RandomState(0).randn(1, 5, 8).astype(np.float32)
  params = block.init(jax.random.PRNGKey(0), x, None)['params']
  jacobian = lambda mask: jax.jit(jax.jacrev(lambda x: block.apply({'params': params}, x, mask)[0]))(x)
  future = np.triu(np.ones((5, 5), bool), k=1)
  causal = _influence(jacobian(attention.causal_mask(5, 5)))
  assert (causal[future] == 0.0).all() and (causal[~future] > 1e-6).all()
  assert (_influence(jacobian(None)) > 1e-6).all()  # The same measurement does see the future when allowed to.


@pytest.mark.parametrize('norm', ['pre', 'post'])
def test_block_without_mask_or_positions_is_permutation_equivariant(norm):
  block = transformer.Block(width=8, num_heads=2, depth=1, norm=norm)
  x = np.random.RandomState(0).randn(2, 6, 8).astype(np.float32)
  params = block.init(jax.random.PRNGKey(0), x, None)['params']
  perm = np.array([3, 0, 5, 1, 4, 2])
  out, _ = block.apply({'params': params}, x, None)
  out_permuted, _ = block.apply({'params': params}, x[:, perm], None)
  # The same sums in another order: the attention's sum over keys is what the permutation reorders.
  tolerances.assert_close(out_permuted, np.asarray(out)[:, perm], tolerances.transformer_terms(8, 1, 6, 4, 2))
  out_causal, _ = block.apply({'params': params}, x[:, perm], attention.causal_mask(6, 6))
  assert np.abs(np.asarray(out_causal) - np.asarray(out)[:, perm]).max() > 1e-3  # A mask breaks the symmetry.


@pytest.mark.parametrize('positional', ['none', 'learned', 'sinusoidal'])
def test_one_layer_gpt_sees_the_order_of_its_prefix_only_through_positions(positional):
  """With one block and no positions, the last logits depend on the last token and the bag of the others."""
  model, params = _gpt(positional=positional, depth=1)
  params = _far_from_init(params)
  tokens = np.array([[1, 2, 3, 4, 5, 6, 7]])
  shuffled = np.array([[5, 3, 6, 1, 2, 4, 7]])  # The prefix permuted, the last token kept.
  last = lambda t: np.asarray(model.apply({'params': params}, t, ())[0][0, -1])
  difference = np.abs(last(tokens) - last(shuffled)).max()
  # Without positions the two differ only in the order of the attention's sums.
  tolerance = tolerances.atol(tolerances.transformer_terms(8, 1, 7, 4, 2), np.abs(last(tokens)).max())
  if positional == 'none':
    assert difference <= tolerance
  else:
    assert difference > 100 * tolerance


def test_cached_decoding_equals_the_full_forward_pass_then_slides_its_window():
  model, params = _gpt()
  decoder = model.decoder()
  tokens = _tokens(2, 13)
  full = jax.jit(lambda t: model.apply({'params': params}, t, ())[0])
  step = jax.jit(lambda t, carry: decoder.apply({'params': params}, t, carry))
  reference = np.asarray(full(tokens[:, :8]))
  # The cache changes the shapes (and so the order) of the attention's sums, not what they add.
  close = functools.partial(tolerances.assert_close, terms=tolerances.transformer_terms(8, 2, 8, 4, 2),
                            scale=np.abs(reference).max())

  logits, carry = step(tokens[:, :3], decoder.initial_carry(2))  # Prefill a 3-token prompt.
  close(logits, reference[:, :3])
  for t in range(3, 13):  # Then one token at a time, past the context of 8.
    logits, carry = step(tokens[:, t:t + 1], carry)
    assert logits.shape == (2, 1, VOCAB)
    assert int(carry['index']) == min(t + 1, 8)
    expected = reference[:, t] if t < 8 else np.asarray(full(tokens[:, t - 7:t + 1]))[:, -1]  # Sliding window.
    close(logits[:, 0], expected, err_msg=f'position {t}')
  np.testing.assert_array_equal(carry['tokens'], tokens[:, 5:13])

  # A multi-token call starts a fresh cache from its last max_len tokens, whatever the carry held.
  logits, carry = step(tokens[:, :11], carry)
  close(logits, full(tokens[:, 3:11]))
  assert int(carry['index']) == 8
  logits, _ = step(tokens[:, 11:12], carry)
  close(logits[:, 0], full(tokens[:, 4:12])[:, -1])


def test_gpt_decoder_generates_past_its_context_like_cropped_full_passes():
  """Sinusoidal positions and post-LN here; the cached-decoding test above uses learned positions and pre-LN."""
  model, params = _gpt(max_len=6, positional='sinusoidal', norm='post')
  params = _far_from_init(params)  # Context-dependent logits: a wrong position or window changes the argmax.
  decoder = model.decoder()
  apply_fn = lambda p, tokens, carry: decoder.apply({'params': p}, tokens, carry)
  prompt = _tokens(4, 3)
  draw = lambda seed, temperature=1.0: np.asarray(sampling.generate(
      apply_fn, params, prompt, decoder.initial_carry(4), jax.random.PRNGKey(seed), num_tokens=10,
      temperature=temperature))
  first = draw(7)
  assert first.shape == (4, 10)
  np.testing.assert_array_equal(first, draw(7))
  assert not np.array_equal(first, draw(8))

  # nanoGPT's greedy loop: crop to the last max_len tokens, run the full model, take the argmax.
  full = jax.jit(lambda t: model.apply({'params': params}, t, ())[0][:, -1])
  sequence = prompt
  for _ in range(10):
    sequence = np.concatenate([sequence, np.asarray(jnp.argmax(full(sequence[:, -6:]), -1))[:, None]], 1)
  np.testing.assert_array_equal(draw(0, temperature=0.0), sequence[:, 3:])


def test_gpt_config_builds_and_bad_fields_are_named():
  for variant in ('', ':tiny'):
    config_loading.validate(config_loading.load_config(f'configs/charlm/gpt.py{variant}'))
  config = config_loading.load_config('configs/charlm/gpt.py:tiny')
  model = models.build(config.model, vocab_size=VOCAB, seq_len=16)
  assert isinstance(model, transformer.GPT) and model.max_len == 16 and model.width == 16
  with pytest.raises(ValueError, match='17 tokens exceed'):
    model.init(jax.random.PRNGKey(0), jnp.zeros((1, 17), jnp.int32), ())
  for field, value, message in [('num_heads', 3, 'divisible'), ('positional', 'rope', 'model.positional'),
                                ('dropout', 1.0, 'model.dropout')]:
    bad = config_loading.apply_overrides(config_loading.load_config('configs/charlm/gpt.py:tiny'),
                                         {f'model.{field}': value})
    with pytest.raises(ValueError, match=message):
      models.build(bad.model, vocab_size=VOCAB, seq_len=16)


def _train(workdir, steps_per_call):
  """(results.json, the train records of metrics.jsonl) of a 10-step run, logging every 5 steps."""
  config = config_loading.load_config('configs/charlm/gpt.py:tiny')
  config = config_loading.apply_overrides(config, {
      'log.progress_bar': False, 'data.dir': DATA_DIR, 'train.num_steps': 10, 'train.steps_per_call': steps_per_call,
      'log.every_steps': 5, 'eval.every_steps': 10, 'checkpoint.every_steps': 10})
  returned = loop.train_and_evaluate(config, str(workdir))
  results = json.load(open(workdir / 'results.json'))
  assert results == pytest.approx(returned, rel=1e-12)
  records = [json.loads(line) for line in open(workdir / 'metrics.jsonl')]
  return results, [{k: r[k] for k in ('step', 'loss', 'grad_norm', 'learning_rate')} for r in records
                   if r['split'] == 'train']


@needs_data
def test_tiny_gpt_trains_and_steps_per_call_does_not_change_the_run(tmp_path):
  """3 steps per call (calls of 3 and 2 between logs) against one step per call."""
  results, train = _train(tmp_path / 'multi', 3)
  assert set(results) == {'model/params', 'valid/loss', 'valid/ppl', 'valid/bpc'}
  assert [r['step'] for r in train] == [5, 10]
  assert train[-1]['loss'] < train[0]['loss']
  single_results, single_train = _train(tmp_path / 'single', 1)
  # The same 10 steps from programs of other shapes, which may round differently: a logged number carries the
  # rounding of every step so far, forward and backward through the tiny GPT (width 16, 2 blocks, 16 tokens).
  rel = tolerances.rel(10 * 2 * tolerances.transformer_terms(16, 2, 16, 4, 2))
  assert single_results == pytest.approx(results, rel=rel)
  assert len(single_train) == len(train)
  for single, multi in zip(single_train, train):
    assert single == pytest.approx(multi, rel=rel)


def test_bfloat16_compute_keeps_float32_parameters_and_logits_close_to_float32():
  model32, params = _gpt(width=16, max_len=8)
  model16 = transformer.GPT(vocab_size=VOCAB, max_len=8, width=16, depth=2, num_heads=2, dtype=jnp.bfloat16)
  params = _far_from_init(params)
  tokens = _tokens(2, 8)
  logits32, _ = model32.apply({'params': params}, tokens, ())
  logits16, _ = model16.apply({'params': params}, tokens, ())
  assert logits16.dtype == jnp.float32
  assert all(p.dtype == jnp.float32 for p in jax.tree.leaves(
      model16.init(jax.random.PRNGKey(0), tokens, ())['params']))
  scale = float(jnp.abs(logits32).max())
  error = float(jnp.abs(logits16 - logits32).max())
  # bfloat16 rounds the inputs and output of each matmul (6 per block, then the logits); float32 accumulates.
  roundings = 6 * 2 + 1
  assert error < tolerances.atol(roundings, scale, jnp.bfloat16)  # Stays near float32 ...
  assert error > tolerances.atol(tolerances.transformer_terms(16, 2, 8, 4, 2), scale)  # ... but really computes.
