"""Transformer blocks and the decoder-only GPT language model (Radford et al. 2018/2019; nanoGPT's layout).

The GPT keeps the LM interface (tokens (B, T), carry) -> (logits (B, T, V) float32, carry).
Training and evaluation windows are independent, so their carry is (). The
decoding model (`decoder()`) carries a fixed-size key-value cache instead: a
call with one token appends it; once the cache holds `max_len` tokens, the
window slides (the oldest token dropped, the window re-encoded) as nanoGPT
crops its context; a call with several tokens starts the cache afresh.

Mixed precision (`dtype`, model.dtype; the table in models/precision.py): with bfloat16 the attention and
feed-forward projections compute in bfloat16, while the residual stream, the layer norms, the attention
logits and softmax, and the softmax layer's accumulator and logits stay float32.
"""
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from configs import checks
from models import attention
from models import precision
from models import registry

POSITIONALS = ('learned', 'sinusoidal', 'none')
NORMS = ('pre', 'post')
ACTIVATIONS = ('gelu', 'relu')


def gelu(x):
  """Exact GELU, x·Φ(x), through erf (as torch.nn.GELU() computes it)."""
  return 0.5 * x * (1.0 + jax.lax.erf(x * (1.0 / math.sqrt(2.0))))


def sinusoidal_encoding(max_len: int, width: int):
  """(max_len, width): sin at even features, cos at odd, wavelengths 2π..10000·2π (Vaswani et al. 2017)."""
  position_L1 = jnp.arange(max_len, dtype=jnp.float32)[:, None]
  rates = jnp.exp(-math.log(10000.0) * jnp.arange(0, width, 2, dtype=jnp.float32) / width)  # One per sin-cos pair.
  angles = position_L1 * rates[None, :]  # (L, ceil(width / 2))
  encoding = jnp.zeros((max_len, width), jnp.float32)
  encoding = encoding.at[:, 0::2].set(jnp.sin(angles))
  return encoding.at[:, 1::2].set(jnp.cos(angles[:, :width // 2]))


class MLP(nn.Module):
  ff_width: int  # F: the inner (feed-forward) width.
  out_features: int
  activation: str = 'gelu'
  use_bias: bool = False
  out_init_std: float = 0.02
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BTC):
    h_BTF = nn.Dense(self.ff_width, use_bias=self.use_bias, dtype=self.dtype,
                     kernel_init=nn.initializers.normal(0.02), name='fc')(x_BTC)
    h_BTF = gelu(h_BTF) if self.activation == 'gelu' else jax.nn.relu(h_BTF)
    return nn.Dense(self.out_features, use_bias=self.use_bias, dtype=self.dtype,
                    kernel_init=nn.initializers.normal(self.out_init_std), name='proj')(h_BTF)


class Block(nn.Module):
  """Attention then feed-forward, each with a residual; layer norm before (pre-LN) or after (post-LN)."""
  width: int
  num_heads: int
  depth: int  # Of the whole stack: scales the init of the residual projections (GPT-2).
  mlp_ratio: int = 4
  norm: str = 'pre'
  activation: str = 'gelu'
  dropout: float = 0.0
  attention_dropout: float = 0.0
  use_bias: bool = False
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x_BTC, mask, cache=None, train: bool = False):
    residual_std = 0.02 / math.sqrt(2 * self.depth)
    norm = lambda name: nn.LayerNorm(epsilon=1e-5, use_bias=self.use_bias, name=name)
    drop = lambda y: nn.Dropout(self.dropout, deterministic=not train)(y)
    attend = attention.MultiHeadAttention(
        self.num_heads, self.width // self.num_heads, self.width, use_bias=self.use_bias,
        dropout=self.attention_dropout, out_init_std=residual_std, dtype=self.dtype, name='attention')
    mlp = MLP(self.mlp_ratio * self.width, self.width, self.activation, self.use_bias, residual_std, self.dtype,
              name='mlp')
    if self.norm == 'pre':
      y_BTC, cache = attend(norm('ln_attention')(x_BTC), mask=mask, cache=cache, train=train)
      x_BTC = x_BTC + drop(y_BTC)
      x_BTC = x_BTC + drop(mlp(norm('ln_mlp')(x_BTC)))
    else:
      y_BTC, cache = attend(x_BTC, mask=mask, cache=cache, train=train)
      x_BTC = norm('ln_attention')(x_BTC + drop(y_BTC))
      x_BTC = norm('ln_mlp')(x_BTC + drop(mlp(x_BTC)))
    return x_BTC, cache


class DecoderBlock(nn.Module):
  """Causal self-attention, cross-attention over the encoder's output, feed-forward (Vaswani et al. 2017).

  While decoding, `cache` holds the self-attention keys and values so far and
  `cross_kv` the cross-attention's projection of the source (`cross_keys_values`).
  """
  width: int
  num_heads: int
  depth: int
  mlp_ratio: int = 4
  norm: str = 'pre'
  activation: str = 'gelu'
  dropout: float = 0.0
  attention_dropout: float = 0.0
  use_bias: bool = False
  dtype: jnp.dtype = jnp.float32

  def setup(self):
    residual_std = 0.02 / math.sqrt(2 * self.depth)
    attend = lambda: attention.MultiHeadAttention(
        self.num_heads, self.width // self.num_heads, self.width, use_bias=self.use_bias,
        dropout=self.attention_dropout, out_init_std=residual_std, dtype=self.dtype)
    self.self_attention, self.cross_attention = attend(), attend()
    self.mlp = MLP(self.mlp_ratio * self.width, self.width, self.activation, self.use_bias, residual_std, self.dtype)
    norm = lambda: nn.LayerNorm(epsilon=1e-5, use_bias=self.use_bias)
    self.ln_self, self.ln_cross, self.ln_mlp = norm(), norm(), norm()
    self.drop = nn.Dropout(self.dropout)

  def cross_keys_values(self, memory_BSC):
    return self.cross_attention.keys_values(memory_BSC)

  def __call__(self, x_BTC, memory_BSC, self_mask, cross_mask, cache=None, cross_kv=None, train: bool = False):
    drop = lambda y: self.drop(y, deterministic=not train)
    pre = self.norm == 'pre'
    sublayers = (
        lambda h: self.self_attention(h, mask=self_mask, cache=cache, train=train),
        lambda h: self.cross_attention(h, memory_BSC, mask=cross_mask, train=train, kv_projected=cross_kv),
        lambda h: (self.mlp(h), None))
    new_cache = cache
    for i, (sublayer, norm) in enumerate(zip(sublayers, (self.ln_self, self.ln_cross, self.ln_mlp))):
      y_BTC, layer_cache = sublayer(norm(x_BTC) if pre else x_BTC)
      if i == 0:
        new_cache = layer_cache
      x_BTC = x_BTC + drop(y_BTC) if pre else norm(x_BTC + drop(y_BTC))
    return x_BTC, new_cache


class GPT(nn.Module):
  """Token and position embeddings, `depth` causal blocks, a final layer norm (pre-LN), a softmax."""
  vocab_size: int
  max_len: int
  width: int = 128
  depth: int = 4
  num_heads: int = 4
  mlp_ratio: int = 4
  norm: str = 'pre'
  activation: str = 'gelu'
  positional: str = 'learned'
  dropout: float = 0.0
  attention_dropout: float = 0.0
  use_bias: bool = False
  tie_embeddings: bool = True
  dtype: jnp.dtype = jnp.float32
  decode: bool = False

  def setup(self):
    self.embed = nn.Embed(self.vocab_size, self.width, embedding_init=nn.initializers.normal(0.02))
    if self.positional == 'learned':
      self.position_embed = nn.Embed(self.max_len, self.width, embedding_init=nn.initializers.normal(0.02))
    self.embed_dropout = nn.Dropout(self.dropout)
    self.blocks = [Block(self.width, self.num_heads, self.depth, self.mlp_ratio, self.norm, self.activation,
                         self.dropout, self.attention_dropout, self.use_bias, self.dtype, name=f'block_{i}')
                   for i in range(self.depth)]
    if self.norm == 'pre':
      self.ln_final = nn.LayerNorm(epsilon=1e-5, use_bias=self.use_bias)
    if not self.tie_embeddings:
      self.head = precision.dense(self.vocab_size, self.dtype, use_bias=False,
                                  kernel_init=nn.initializers.normal(0.02))

  def initial_carry(self, batch_size: int):
    if not self.decode:
      return ()
    head_dim = self.width // self.num_heads
    return {'index': jnp.zeros((), jnp.int32), 'tokens': jnp.zeros((batch_size, self.max_len), jnp.int32),
            'layers': tuple(attention.init_cache(batch_size, self.max_len, self.num_heads, head_dim)
                            for _ in range(self.depth))}

  def decoder(self):
    """The same parameters, decoding token by token with a key-value cache."""
    return self.clone(decode=True)

  def _positions(self, start, length: int):
    if self.positional == 'learned':
      return self.position_embed(start + jnp.arange(length))
    if self.positional == 'sinusoidal':
      return jax.lax.dynamic_slice_in_dim(sinusoidal_encoding(self.max_len, self.width), start, length)
    return 0.0

  def _run(self, tokens_BT, start, mask, caches, train: bool):
    x_BTC = self.embed(tokens_BT)
    if self.positional == 'sinusoidal':  # Vaswani et al. scale the embeddings so the unit-size waves don't swamp them.
      x_BTC = x_BTC * math.sqrt(self.width)
    x_BTC = x_BTC + self._positions(start, tokens_BT.shape[1])
    x_BTC = self.embed_dropout(x_BTC, deterministic=not train)
    new_caches = []
    for i, block in enumerate(self.blocks):
      x_BTC, cache = block(x_BTC, mask, None if caches is None else caches[i], train=train)
      new_caches.append(cache)
    if self.norm == 'pre':
      x_BTC = self.ln_final(x_BTC)
    logits_BTV = precision.attend(self.embed, x_BTC, self.dtype) if self.tie_embeddings else self.head(x_BTC)
    return logits_BTV.astype(jnp.float32), tuple(new_caches)

  def _prefill(self, tokens_BT, carry):
    """Encodes up to the last max_len tokens into a fresh cache."""
    tokens_BT = tokens_BT[:, -self.max_len:]
    T = tokens_BT.shape[1]
    fresh = self.initial_carry(tokens_BT.shape[0])
    logits_BTV, caches = self._run(tokens_BT, 0, attention.causal_mask(T, self.max_len), fresh['layers'], False)
    tokens_BL = jax.lax.dynamic_update_slice(fresh['tokens'], tokens_BT, (0, 0))
    return logits_BTV, {'index': jnp.asarray(T, jnp.int32), 'tokens': tokens_BL, 'layers': caches}

  def _append(self, tokens_B1, carry):
    index = carry['index']
    mask = attention.causal_mask(1, self.max_len, offset=index)
    logits_B1V, caches = self._run(tokens_B1, index, mask, carry['layers'], False)
    tokens_BL = jax.lax.dynamic_update_slice(carry['tokens'], tokens_B1, (0, index))
    return logits_B1V, {'index': index + 1, 'tokens': tokens_BL, 'layers': caches}

  def _slide(self, tokens_B1, carry):
    window_BL = jnp.concatenate([carry['tokens'][:, 1:], tokens_B1], axis=1)
    logits_BLV, carry = self._prefill(window_BL, carry)
    return logits_BLV[:, -1:], carry

  def __call__(self, tokens_BT, carry, train: bool = False):
    T = tokens_BT.shape[1]
    if not self.decode:
      if T > self.max_len:
        raise ValueError(f'{T} tokens exceed the model\'s context of {self.max_len} (model.max_len).')
      logits_BTV, _ = self._run(tokens_BT, 0, attention.causal_mask(T, T), None, train)
      return logits_BTV, carry
    if T > 1:
      return self._prefill(tokens_BT, carry)
    full = carry['index'] >= self.max_len
    return nn.cond(full, GPT._slide, GPT._append, self, tokens_BT, carry)


@registry.register('gpt')
def _gpt(config, vocab_size, seq_len):
  model = registry.from_config(GPT, config, vocab_size=vocab_size, max_len=config.max_len or seq_len)
  checks.check_choice(model.positional, POSITIONALS, 'model.positional')
  checks.check_choice(model.norm, NORMS, 'model.norm')
  checks.check_choice(model.activation, ACTIVATIONS, 'model.activation')
  if model.width % model.num_heads:
    raise ValueError(f'model.width ({model.width}) must be divisible by model.num_heads ({model.num_heads}).')
  if model.positional == 'sinusoidal' and model.width % 2:
    raise ValueError(f'Sinusoidal positions need an even model.width; got {model.width}.')
  registry.check_dropout(model, ('dropout', 'attention_dropout'))
  return model
