"""The compute dtype of every model (`model.dtype`: 'float32' or 'bfloat16') and the ops that stay float32.

Parameters, gradients and optimizer state are float32 in both modes: a bfloat16 model casts its float32
parameters to bfloat16 where it computes (flax `dtype=` with the default `param_dtype=float32`, or the
helpers below), so the casts' gradients arrive in float32. With 'float32' every helper below is exactly the
plain float32 op, so float32 results are bit for bit those of a model without the field.

What runs in bfloat16 with model.dtype='bfloat16', and what stays float32 and why. bfloat16 keeps 8
significant bits (a relative rounding of 2^-8 ≈ 0.4%), float32 24. Rule: the operands of matmuls and
convolutions are bfloat16, where the time goes on an accelerator; their accumulators are float32, and so
is everything that sums over time, over a sequence or over many updates.

  every model      float32: parameters, gradients and optimizer state (an update lr·g of 1e-3 of a weight
                   would round away in bfloat16); the logits returned to tasks, which take softmax,
                   log-softmax and the loss of them in float32. The output layer's matmul reads bfloat16
                   operands but returns its float32 accumulator (`dense`, `attend`): the logits never
                   round to bfloat16.
  recurrent layers bfloat16: the input projection x·W and h_{t-1}·U in every step; lstm_layer's hand-
  (rnn.py: elman,  written backward likewise (dgates·Uᵀ in every reverse step, dgates·Wᵀ and the weight
  irnn, gru, lstm) gradients over all T·B rows). float32: the matmuls' results, the gates and their
                   nonlinearities, and the carried states h and c. An LSTM's c_t = f·c_{t-1} + i·g (and
                   a GRU's h_t = (1 - z)·n + z·h_{t-1}) adds a small term to itself at every step, over
                   hundreds of steps: a bfloat16 state would round each term to a unit in its last place
                   (2^-8 of the state), dropping those below half of it.
  rnn_lm, mlp_lm   bfloat16: the recurrent layers', the tanh layer's and the softmax layer's operands.
                   float32: embeddings (cast by the matmul that reads them), states, the tanh's input,
                   logits.
  boe              bfloat16: the hidden and output layers' operands. float32: the masked mean of the
                   embeddings (a sum of up to hundreds of words), the activations.
  cnn, kim_cnn     bfloat16: the convolutions' and output layer's operands. float32: the convolutions'
                   accumulators and results, ReLU, the max over time, Kim's relu(bias) padding window.
  rnn_classifier   bfloat16: the recurrent layers' (above), output and LM layers' operands. float32:
                   states, the final/mean/max pooling over time, class and LM logits.
  elmo_classifier  as rnn_classifier, and the biLM's LSTMs and shared softmax likewise (models/elmo.py).
                   float32: the biLM's layer outputs and their scalar mix (a weighted sum of L + 1 layers).
  urnn, exprnn     bfloat16: h_{t-1}·M's and x_t·V's operands. float32: M itself, built from its parameters
  (cells)          (the FFTs, reflections and phases; expm(A)) before one cast, so it is as unitary as
                   bfloat16 can hold; modReLU's modulus and the states.
  gpt, gpt_classifier, transformer_classifier, transformer_seq2seq, bart_classifier (transformer.py)
                   bfloat16: the attention and feed-forward projections (operands and outputs: flax
                   Dense with dtype), the operands of the softmax layer (tied or not), the classifier
                   and MLM heads. float32: the residual stream (each block's bfloat16 output is added to a
                   float32 sum), layer norms (statistics and outputs), attention logits, masks and softmax
                   (attention.attention_weights), the key-value cache, the logits.
  rnn_seq2seq      bfloat16: encoder and decoder cells (above), bridges, the attention's key and query
                   projections, Luong's combine layer, the output layers (operands). float32: states;
                   attention scores (Bahdanau's v·tanh(·), Luong's q·k: the logits of a softmax), the
                   attention softmax and the context (the weighted sum of the memory); the logits.
  rnn, dense       bfloat16: the recurrent layers' and the head's operands. float32: states and the
  (time series,    regression output, from a float32 accumulator (a mean squared error of values near 1
  adding problem)  needs more than bfloat16's 3 digits).
  recursive        bfloat16: the composition matmuls' operands (the RecNN's and RNTN's W, the RNTN's
  (recnn, rntn,    tensor V against [a; b] once, the Tree-LSTM's W and U) and the softmax layer's.
  tree_lstm)       float32: their accumulators, the RNTN's second contraction, gates, the node states
                   (a Tree-LSTM's c sums over its whole subtree, as an LSTM's over time), the logits.
  bilstm_tagger,   bfloat16: the character and word BiLSTMs (recurrent layers above), the tag heads, and the
  transformer_     transformer tagger's blocks (as transformer_classifier). float32: states, the logits, and
  tagger           the CRF's transition scores, forward algorithm (a log-sum-exp over the sentence) and
                   Viterbi scores (models/crf.py computes in float32 whatever it is given).
  naive, ngram     no matmuls and no dtype field.
"""
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from configs import checks

DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}


def from_name(name: str):
  """The jnp dtype named by model.dtype; a ValueError names the choices."""
  return DTYPES[checks.check_choice(name, tuple(DTYPES), 'model.dtype')]


def is_float32(dtype) -> bool:
  return jnp.dtype(dtype) == jnp.float32


_DOT_FLOAT32 = functools.partial(jax.lax.dot_general, preferred_element_type=jnp.float32)
_CONV_FLOAT32 = functools.partial(jax.lax.conv_general_dilated, preferred_element_type=jnp.float32)


def matmul(x, w, dtype):
  """x @ w with both operands in `dtype`, accumulated and returned in float32 (float32: exactly x @ w)."""
  if is_float32(dtype):
    return x @ w
  return jnp.matmul(x.astype(dtype), w.astype(dtype), preferred_element_type=jnp.float32)


def einsum(subscripts: str, x, w, dtype):
  """jnp.einsum of two operands cast to `dtype`, accumulated and returned in float32."""
  if is_float32(dtype):
    return jnp.einsum(subscripts, x, w)
  return jnp.einsum(subscripts, x.astype(dtype), w.astype(dtype), preferred_element_type=jnp.float32)


def dense(features: int, dtype, **kwargs) -> nn.Dense:
  """nn.Dense with float32 parameters whose matmul reads `dtype` operands and returns float32.

  The bias is cast to `dtype` with the kernel (flax's promotion) and added to the float32 product. With
  float32 it is the plain nn.Dense(features, **kwargs)."""
  if is_float32(dtype):
    return nn.Dense(features, **kwargs)
  return nn.Dense(features, dtype=dtype, dot_general=_DOT_FLOAT32, **kwargs)


def conv(features: int, kernel_size, dtype, **kwargs) -> nn.Conv:
  """nn.Conv with float32 parameters, `dtype` operands and a float32 accumulator and result."""
  if is_float32(dtype):
    return nn.Conv(features, kernel_size, **kwargs)
  return nn.Conv(features, kernel_size, dtype=dtype, conv_general_dilated=_CONV_FLOAT32, **kwargs)


def attend(embed: nn.Embed, x_BTC, dtype):
  """Logits (..., V) of x against the (tied) embedding table: `dtype` operands, float32 accumulator and result."""
  if is_float32(dtype):
    return embed.attend(x_BTC)
  return einsum('...c,vc->...v', x_BTC, embed.embedding, dtype)
