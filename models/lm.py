"""Language models over token streams: recurrent (Zaremba et al. 2014) and fixed-window (Bengio et al. 2003).

Every LM maps (tokens (B, T), carry) -> (logits (B, T, V) in float32, carry).
The carry is what the next window of a contiguous stream needs: the recurrent
states, or the last n-1 tokens of a fixed-window model.

Mixed precision (`dtype`, model.dtype; the table in models/precision.py): bfloat16 operands in every
matmul (recurrent layers, the tanh layer, the softmax layer), float32 accumulation. Embeddings are looked
up in float32 and cast by the matmul that reads them; recurrent states, the tanh layer's input and the
logits stay float32 (the logits never round to bfloat16: tasks take their log-softmax).
"""
import flax.linen as nn
import jax.numpy as jnp

from configs import checks
from models import precision
from models import registry
from models import rnn


class RNNLM(nn.Module):
  """Embedding, stacked recurrent layers, softmax; dropout on every non-recurrent connection."""
  vocab_size: int
  embed_dim: int
  hidden_sizes: tuple[int, ...]
  cell: str = 'lstm'
  activation: str = 'tanh'
  dropout: float = 0.0
  tie_embeddings: bool = False
  forget_bias: float = 1.0
  unroll: int = 1  # lax.scan unroll factor: speed only, same numbers.
  dtype: jnp.dtype = jnp.float32  # Of the matmuls' operands (precision.py); parameters and states stay float32.

  def initial_carry(self, batch_size: int):
    def zeros(size):
      h = lambda: jnp.zeros((batch_size, size), jnp.float32)  # Distinct buffers: the carry is donated.
      return (h(), h()) if rnn.CELLS[self.cell].has_cell_state else h()
    return tuple(zeros(size) for size in self.hidden_sizes)

  def decoder(self):
    return self  # The recurrent state already decodes token by token.

  @nn.compact
  def __call__(self, tokens_BT, carry, train: bool = False):
    embed = nn.Embed(self.vocab_size, self.embed_dim, embedding_init=nn.initializers.normal(0.1), name='embed')
    drop = lambda x: nn.Dropout(self.dropout, deterministic=not train)(x)
    # Time-major inside: the recurrences scan over the leading axis, and only tokens and logits transpose.
    x_TBD = drop(embed(tokens_BT.T))
    new_carry = []
    for i, size in enumerate(self.hidden_sizes):
      layer = rnn.RecurrentLayer(size, self.cell, self.activation, self.forget_bias, self.unroll,
                                 time_major=True, dtype=self.dtype, name=f'rnn_{i}')
      x_TBD, layer_carry = layer(x_TBD, carry[i])
      x_TBD = drop(x_TBD)
      new_carry.append(layer_carry)
    if self.tie_embeddings:
      logits_TBV = precision.attend(embed, x_TBD, self.dtype)
    else:
      logits_TBV = precision.dense(self.vocab_size, self.dtype, name='softmax')(x_TBD)
    return jnp.swapaxes(logits_TBV, 0, 1).astype(jnp.float32), tuple(new_carry)


class FixedWindowLM(nn.Module):
  """Bengio et al. (2003): the n-1 previous embeddings concatenated, a tanh layer, a softmax."""
  vocab_size: int
  embed_dim: int
  hidden_size: int
  context: int  # n - 1 previous tokens.
  dropout: float = 0.0
  dtype: jnp.dtype = jnp.float32  # Of the two matmuls' operands; the tanh reads their float32 result.

  def initial_carry(self, batch_size: int):
    return jnp.zeros((batch_size, self.context), jnp.int32)

  def decoder(self):
    return self  # The carried history already decodes token by token.

  @nn.compact
  def __call__(self, tokens_BT, carry, train: bool = False):
    T = tokens_BT.shape[1]
    history_BS = jnp.concatenate([carry.astype(tokens_BT.dtype), tokens_BT], axis=1)  # S = context + T
    embed_BSE = nn.Embed(self.vocab_size, self.embed_dim, embedding_init=nn.initializers.normal(0.1),
                         name='embed')(history_BS)
    # Position t sees tokens t-context+1 .. t (in stream order), oldest first.
    window_BTD = jnp.concatenate([embed_BSE[:, k + 1:k + 1 + T] for k in range(self.context)], axis=-1)
    hidden_BTH = jnp.tanh(precision.dense(self.hidden_size, self.dtype, name='hidden')(window_BTD))
    hidden_BTH = nn.Dropout(self.dropout, deterministic=not train)(hidden_BTH)
    logits_BTV = precision.dense(self.vocab_size, self.dtype, name='softmax')(hidden_BTH)
    return logits_BTV.astype(jnp.float32), history_BS[:, -self.context:]


@registry.register('rnn_lm')
def _rnn_lm(config, vocab_size, seq_len):
  del seq_len  # A recurrence takes windows of any length.
  model = registry.from_config(RNNLM, config, vocab_size=vocab_size)
  checks.check_choice(model.cell, tuple(rnn.CELLS), 'model.cell')
  rnn.check_sizes(model.cell, model.hidden_sizes, 'model.hidden_sizes')
  if model.tie_embeddings and model.hidden_sizes[-1] != model.embed_dim:
    raise ValueError(f'model.tie_embeddings needs the last of model.hidden_sizes {model.hidden_sizes} '
                     f'to equal model.embed_dim ({model.embed_dim}).')
  registry.check_dropout(model)
  return model


@registry.register('mlp_lm')
def _mlp_lm(config, vocab_size, seq_len):
  del seq_len  # Its window is model.order, whatever the training window.
  if config.order < 2:
    raise ValueError(f'model.order must be >= 2 (the model sees order-1 previous tokens); got {config.order}.')
  return registry.from_config(FixedWindowLM, config, vocab_size=vocab_size, context=config.order - 1)
