"""Multi-head scaled dot-product attention: einsum, explicit boolean masks, a key-value cache.

Masks are boolean and broadcast to (B, N, T, S): True where query t may attend
to key s. They combine by logical and and are applied to float32 logits with
the float32 minimum (not -inf, so a fully masked row stays finite).
"""
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

NEG = jnp.finfo(jnp.float32).min


def causal_mask(q_len: int, k_len: int, offset=0):
  """(1, 1, T, S): key s is visible to query t iff s <= t + offset (offset = position of query 0)."""
  q_T1 = jnp.arange(q_len)[:, None] + offset
  k_1S = jnp.arange(k_len)[None, :]
  return (k_1S <= q_T1)[None, None]


def length_mask(length_B, T: int):
  """(B, T) boolean: True at the first length_B[b] positions of row b, the real tokens of right-padded rows."""
  return jnp.arange(T)[None, :] < length_B[:, None]


def padding_mask(valid_BS):
  """(B, 1, 1, S) from a (B, S) boolean of real (not padded) keys."""
  return valid_BS.astype(bool)[:, None, None, :]


def combine_masks(*masks):
  """Logical and of the masks that are not None; None if all are."""
  masks = [m for m in masks if m is not None]
  if not masks:
    return None
  out = masks[0]
  for m in masks[1:]:
    out = jnp.logical_and(out, m)
  return out


def attention_weights(q_BTNQ, k_BSNQ, mask=None):
  """softmax(q·k / sqrt(Q)) over keys, in float32: (B, N, T, S)."""
  scale = 1.0 / math.sqrt(q_BTNQ.shape[-1])
  logits_BNTS = jnp.einsum('btnq,bsnq->bnts', q_BTNQ, k_BSNQ, preferred_element_type=jnp.float32) * scale
  if mask is not None:
    logits_BNTS = jnp.where(mask, logits_BNTS, NEG)
  return jax.nn.softmax(logits_BNTS, axis=-1)


def dot_product_attention(q_BTNQ, k_BSNQ, v_BSNQ, mask=None, dropout_rate: float = 0.0, dropout_rng=None):
  """(out (B, T, N, Q) in v's dtype, weights (B, N, T, S) float32 before dropout)."""
  weights_BNTS = attention_weights(q_BTNQ, k_BSNQ, mask)
  dropped_BNTS = weights_BNTS
  if dropout_rate > 0.0 and dropout_rng is not None:
    keep_BNTS = jax.random.bernoulli(dropout_rng, 1.0 - dropout_rate, weights_BNTS.shape)
    dropped_BNTS = jnp.where(keep_BNTS, weights_BNTS / (1.0 - dropout_rate), 0.0)
  out_BTNQ = jnp.einsum('bnts,bsnq->btnq', dropped_BNTS.astype(v_BSNQ.dtype), v_BSNQ)
  return out_BTNQ, weights_BNTS


def init_cache(batch_size: int, max_len: int, num_heads: int, head_dim: int, dtype=jnp.float32) -> dict:
  """A fixed-size cache of keys and values for incremental decoding; `index` = positions filled."""
  zeros = lambda: jnp.zeros((batch_size, max_len, num_heads, head_dim), dtype)  # Distinct: donated buffers.
  return {'k': zeros(), 'v': zeros(), 'index': jnp.zeros((), jnp.int32)}


class MultiHeadAttention(nn.Module):
  """Self-attention (`kv` None) or cross-attention over `kv`, sharing one code path.

  With `cache` (self-attention only) the new keys and values are written at
  cache['index'] and the queries attend to every filled slot; the caller passes
  the causal mask for the new positions (see `causal_mask`'s offset).
  Cross-attention while decoding projects its fixed source once
  (`keys_values`) and passes the result as `kv_projected` at every step.
  Weights are sown as intermediates 'attention_weights' for plotting.
  """
  num_heads: int
  head_dim: int
  out_features: int
  use_bias: bool = False
  dropout: float = 0.0
  out_init_std: float = 0.02
  dtype: jnp.dtype = jnp.float32

  def setup(self):
    dense = lambda feats, std=0.02, axis=-1: nn.DenseGeneral(
        feats, axis=axis, use_bias=self.use_bias, dtype=self.dtype, kernel_init=nn.initializers.normal(std))
    heads = (self.num_heads, self.head_dim)
    self.query, self.key, self.value = dense(heads), dense(heads), dense(heads)
    self.out = dense(self.out_features, self.out_init_std, axis=(-2, -1))

  def keys_values(self, source_BSC):
    """(keys, values), each (B, S, N, Q), of a source that every decoding step attends to."""
    return self.key(source_BSC), self.value(source_BSC)

  def __call__(self, x_BTC, kv_BSC=None, mask=None, cache=None, train: bool = False, kv_projected=None):
    q_BTNQ = self.query(x_BTC)
    if kv_projected is not None:
      k_BSNQ, v_BSNQ = kv_projected
    else:
      k_BSNQ, v_BSNQ = self.keys_values(x_BTC if kv_BSC is None else kv_BSC)
    if cache is not None:
      index = cache['index']
      k_BSNQ = jax.lax.dynamic_update_slice(cache['k'], k_BSNQ.astype(cache['k'].dtype), (0, index, 0, 0))
      v_BSNQ = jax.lax.dynamic_update_slice(cache['v'], v_BSNQ.astype(cache['v'].dtype), (0, index, 0, 0))
      cache = {'k': k_BSNQ, 'v': v_BSNQ, 'index': index + x_BTC.shape[1]}
    rng = self.make_rng('dropout') if train and self.dropout > 0 else None
    out_BTNQ, weights_BNTS = dot_product_attention(q_BTNQ, k_BSNQ, v_BSNQ, mask, self.dropout, rng)
    self.sow('intermediates', 'attention_weights', weights_BNTS)
    return self.out(out_BTNQ), cache
