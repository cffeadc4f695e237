"""Attention against loops over queries and torch, masks by their weights, the cache against the full pass."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import attention
from tests import tolerances


def _qkv(B=2, T=4, S=6, N=2, Q=3, seed=0):
  rng = np.random.RandomState(seed)
  return tuple(rng.randn(B, length, N, Q).astype(np.float32) for length in (T, S, S))


def _loop_attention(q, k, v, visible):
  """float64 reference: for every (b, n, t), a softmax over the visible keys only, then the weighted values."""
  B, T, N, Q = q.shape
  S = k.shape[1]
  out, weights = np.zeros((B, T, N, Q)), np.zeros((B, N, T, S))
  for b in range(B):
    for n in range(N):
      for t in range(T):
        keys = [s for s in range(S) if visible[b, t, s]]
        scores = [float(np.dot(q[b, t, n], k[b, s, n])) / math.sqrt(Q) for s in keys]
        top = max(scores)
        exps = [math.exp(x - top) for x in scores]
        for s, e in zip(keys, exps):
          weights[b, n, t, s] = e / sum(exps)
          out[b, t, n] += weights[b, n, t, s] * v[b, s, n].astype(np.float64)
  return out, weights


def test_einsum_attention_with_causal_and_padding_masks_equals_a_loop_over_queries():
  # 4 queries at positions 2..5 of a 6-key sequence (a cache's view); batch row 1 pads keys 1 and 5.
  q, k, v = _qkv()
  valid = np.array([[True] * 6, [True, False, True, True, True, False]])
  mask = attention.combine_masks(attention.causal_mask(4, 6, offset=2), None, attention.padding_mask(valid))
  assert mask.shape == (2, 1, 4, 6)
  visible = np.array([[[s <= t + 2 and valid[b, s] for s in range(6)] for t in range(4)] for b in range(2)])
  np.testing.assert_array_equal(mask[:, 0], visible)
  out, weights = attention.dot_product_attention(q, k, v, mask)
  expected_out, expected_weights = _loop_attention(q, k, v, visible)
  # Scores: Q-term dot products (of size |q||k|, up to 10 here) through an S-term softmax; then S-term sums.
  tolerances.assert_close(weights, expected_weights, 6 * (3 + 6), scale=10.0)
  tolerances.assert_close(out, expected_out, 6 * (3 + 6) + 6, scale=10.0 * np.abs(v).max())
  assert attention.combine_masks(None, None) is None


def test_masked_keys_get_exactly_zero_weight_and_a_fully_masked_row_stays_finite():
  q, k, v = _qkv(T=3, S=5)
  valid = np.array([[True, True, False, True, False], [False, False, False, False, False]])
  out, weights = attention.dot_product_attention(q, k, v, attention.padding_mask(valid))
  weights = np.asarray(weights)
  assert (weights[0][..., ~valid[0]] == 0.0).all()  # Exactly, not merely small.
  assert (weights[0][..., valid[0]] > 0.0).all()
  tolerances.assert_close(weights[0].sum(-1), np.ones((2, 3)), 2 * 5)  # Normalized over S = 5, summed over S.
  # Row 1 masks every key: float32-min logits (not -inf) give finite uniform weights, not NaN.
  assert np.isfinite(np.asarray(out)).all()
  tolerances.assert_close(weights[1], np.full((2, 3, 5), 1 / 5), 2 * 5)


def _mha_params(module, x, kv=None):
  return module.init(jax.random.PRNGKey(0), x, kv)['params']


def test_cross_attention_with_padding_equals_projections_and_a_loop():
  """T=3 queries of width 4 attend over S=5 keys of width 6; the padded keys' contents do not matter."""
  rng = np.random.RandomState(1)
  x = rng.randn(2, 3, 4).astype(np.float32)
  kv = rng.randn(2, 5, 6).astype(np.float32)
  valid = np.array([[True, True, True, False, False], [True, False, True, True, True]])
  module = attention.MultiHeadAttention(num_heads=2, head_dim=3, out_features=7, use_bias=True)
  params = _mha_params(module, x, kv)
  # Perturbed, so that the biases (zero at init) take part.
  params = jax.tree.map(lambda p: np.asarray(p) + 0.1 * rng.randn(*p.shape).astype(np.float32), params)
  mask = attention.padding_mask(valid)
  (out, cache), state = module.apply({'params': params}, x, kv, mask=mask, mutable='intermediates')
  assert cache is None and out.shape == (2, 3, 7)

  p64 = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
  project = lambda name, inputs: np.einsum('bsc,cnq->bsnq', inputs.astype(np.float64), p64[name]['kernel']) + (
      p64[name]['bias'])
  visible = np.broadcast_to(valid[:, None, :], (2, 3, 5))
  heads, weights = _loop_attention(project('query', x), project('key', kv), project('value', kv), visible)
  expected = np.einsum('btnq,nqo->bto', heads, p64['out']['kernel']) + p64['out']['bias']
  # Projections over 4 and 6 inputs, scores over Q = 3 through a softmax over S = 5, the sum over S and the
  # output projection over N·Q = 6.
  terms = 6 + 3 + 5 + 5 + 6
  tolerances.assert_close(out, expected, terms)
  sown, = state['intermediates']['attention_weights']
  assert sown.shape == (2, 2, 3, 5)
  tolerances.assert_close(sown, weights, terms, scale=np.abs(project('query', x)).max() * np.abs(
      project('key', kv)).max() * 3)  # The weights carry the error of their scores.
  assert (np.asarray(sown)[0, :, :, 3:] == 0.0).all() and (np.asarray(sown)[1, :, :, 1] == 0.0).all()

  changed = kv.copy()
  changed[~valid] = 100.0 * rng.randn(int((~valid).sum()), 6)
  out_changed, _ = module.apply({'params': params}, x, changed, mask=mask)
  # Exactly: the padded keys' weights are exactly zero, so they add exact zeros in the same order.
  np.testing.assert_array_equal(out_changed, out)


def test_self_attention_with_a_cache_token_by_token_equals_the_full_causal_pass():
  T, C = 5, 4
  x = np.random.RandomState(2).randn(2, T, C).astype(np.float32)
  module = attention.MultiHeadAttention(num_heads=2, head_dim=2, out_features=C)
  params = _mha_params(module, x)
  full, _ = module.apply({'params': params}, x, mask=attention.causal_mask(T, T))
  close = lambda got, want, terms: tolerances.assert_close(got, want, terms, scale=np.abs(full).max())
  step = jax.jit(lambda x_B1C, cache: module.apply(
      {'params': params}, x_B1C, mask=attention.causal_mask(1, T + 2, offset=cache['index']), cache=cache))
  cache = attention.init_cache(2, T + 2, 2, 2)  # Two spare slots stay masked.
  for t in range(T):
    out, cache = step(x[:, t:t + 1], cache)
    # The same sums over another number of (masked) keys: projections over C = 4, Q = 2, S up to 7, N·Q = 4.
    close(out[:, 0], full[:, t], 4 + 2 + 7 + 7 + 4)
    assert int(cache['index']) == t + 1
  key = np.einsum('btc,cnq->btnq', x.astype(np.float64), np.asarray(params['key']['kernel'], np.float64))
  tolerances.assert_close(cache['k'][:, :T], key, C)
  assert (np.asarray(cache['k'][:, T:]) == 0).all()


def test_causal_dot_product_attention_equals_torch_scaled_dot_product_attention():
  torch = pytest.importorskip('torch')
  q, k, v = _qkv(T=5, S=5, N=3, Q=4, seed=3)
  out, _ = attention.dot_product_attention(q, k, v, attention.causal_mask(5, 5))
  to_torch = lambda a: torch.from_numpy(a).transpose(1, 2)  # (B, T, N, Q) -> (B, N, T, Q).
  expected = torch.nn.functional.scaled_dot_product_attention(to_torch(q).double(), to_torch(k).double(),
                                                             to_torch(v).double(), is_causal=True)
  # Scores over Q = 4 (of size up to |q||k|), a softmax and a sum over S = 5, in float32 on our side only.
  tolerances.assert_close(out, expected.transpose(1, 2).numpy(), 4 + 5 + 5,
                          scale=np.abs(q).max() * np.abs(k).max() * np.abs(v).max())
