"""Encoder-decoder models for translation: recurrent (Sutskever, Cho, Bahdanau, Luong) and the Transformer.

Every model has one interface:
- `__call__(src_BS, src_len_B, tgt_in_BT, train, own_BT=None, rng=None) -> logits_BTV` (float32), teacher-forced;
  with scheduled sampling (Bengio et al. 2015) `own_BT` marks the target positions whose input is the
  model's own sample from the previous position instead of the reference token.
- `start(src_BS, src_len_B, max_len) -> state` encodes once; `step(tokens_R, state) -> (logits_RV, state)` decodes one
  token per row (R: the batch's rows, or their beams). The state's leaves have the rows first (beam search
  reorders them) or are scalars.
- `cross_attention_map(model, params, src_BS, src_len_B, tgt_in_BT) -> (B, T, S)`: where each target
  position looks (the Transformer's last layer, averaged over heads), for plots.
Rows are right-padded; masks come from the lengths, and padded source positions get zero attention.

Mixed precision (`dtype`, model.dtype; the table in models/precision.py). RNNSeq2Seq with bfloat16: the
matmuls (encoder and decoder cells, bridges, the attention's key and query projections, Luong's combine
layer, the output layers) read bfloat16 operands and accumulate in float32; recurrent states, attention
scores (Bahdanau's v·tanh(·), Luong's q·k: the softmax's logits), the attention softmax and context, and
the logits stay float32. TransformerSeq2Seq computes as the GPT (transformer.py).
"""
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from configs import checks
from models import attention
from models import precision
from models import registry
from models import rnn
from models import transformer

ATTENTIONS = ('none', 'additive', 'dot')
NEG = attention.NEG


def reverse_within_length(tokens_BS, len_B):
  """Each row's first len tokens reversed, the padding left in place (Sutskever et al.'s source reversal)."""
  s_1S = jnp.arange(tokens_BS.shape[1])[None, :]
  index_BS = jnp.where(s_1S < len_B[:, None], len_B[:, None] - 1 - s_1S, s_1S)
  return jnp.take_along_axis(tokens_BS, index_BS, axis=1)


def _softmax_context(scores_BS, memory_BSM, valid_BS):
  weights_BS = jax.nn.softmax(jnp.where(valid_BS, scores_BS, NEG), axis=-1)
  return jnp.einsum('bs,bsm->bm', weights_BS, memory_BSM), weights_BS


def additive_attention(query_BH, w: dict, keys_BSA, memory_BSM, valid_BS, dtype=jnp.float32):
  """Bahdanau et al.: score_s = v · tanh(W_q q + W_k m_s), with W_k m_s precomputed as keys.
  W_q q reads `dtype` operands; the tanh, the scores and their softmax are float32."""
  hidden_BSA = jnp.tanh(keys_BSA + precision.matmul(query_BH, w['attention_query'], dtype)[:, None, :])
  return _softmax_context(hidden_BSA @ w['attention_v'], memory_BSM, valid_BS)


def dot_attention(query_BH, keys_BSH, memory_BSM, valid_BS):
  """Luong et al.'s multiplicative score q · (W m_s), with W m_s precomputed as keys."""
  return _softmax_context(jnp.einsum('bh,bsh->bs', query_BH, keys_BSH), memory_BSM, valid_BS)


def _sample(rng, logits_BV):
  return jax.random.categorical(rng, logits_BV).astype(jnp.int32)


class RNNSeq2Seq(nn.Module):
  """Recurrent encoder-decoder; its fields select the published variants.

  - Sutskever et al. 2014: LSTM stacks, the decoder starts from the encoder's final
    states (layer by layer), optionally reading the source reversed.
  - Cho et al. 2014: GRU; the encoder summary (its final state) also enters every
    decoder step and the output layer (`feed_context`, `deep_output`).
  - Bahdanau et al. 2015: bidirectional encoder, additive attention queried with
    the previous decoder state; its context enters the cell and the output layer.
  - Luong et al. 2015: multiplicative attention queried with the new top state,
    h~ = tanh(W [context; h]) predicts the token and is fed to the next step.
  A bidirectional encoder, or encoder and decoder stacks of different depth,
  start the decoder through a tanh bridge from the summary instead of a copy.
  """
  src_vocab: int
  tgt_vocab: int
  cell: str = 'lstm'
  embed_dim: int = 256
  hidden_size: int = 512  # Per direction in the encoder.
  encoder_layers: int = 2
  decoder_layers: int = 2
  bidirectional: bool = False
  attention: str = 'none'
  attention_dim: int = 512
  feed_context: bool = False
  deep_output: bool = False
  output_dim: int = 0  # > 0: a tanh layer of this width between the features and the softmax.
  reverse_source: bool = False
  residual: bool = False
  dropout: float = 0.0
  share_embeddings: bool = False
  dtype: jnp.dtype = jnp.float32  # Of the matmuls' operands; states, attention and logits stay float32.

  @property
  def memory_dim(self) -> int:
    return self.hidden_size * (2 if self.bidirectional else 1)

  @property
  def copies_states(self) -> bool:
    return not self.bidirectional and self.encoder_layers == self.decoder_layers

  def setup(self):
    embed = lambda vocab: nn.Embed(vocab, self.embed_dim, embedding_init=nn.initializers.normal(0.1))
    self.src_embed = embed(self.src_vocab)
    self.tgt_embed = self.src_embed if self.share_embeddings else embed(self.tgt_vocab)
    layer = lambda: rnn.RecurrentLayer(self.hidden_size, self.cell, time_major=True, dtype=self.dtype)
    self.encoder_fwd = [layer() for _ in range(self.encoder_layers)]
    self.encoder_bwd = [layer() for _ in range(self.encoder_layers)] if self.bidirectional else []
    if not self.copies_states:
      self.bridges = [precision.dense(self.hidden_size, self.dtype) for _ in range(self.decoder_layers)]
    first_in = self.embed_dim + self.hidden_size * (self.attention == 'dot')
    first_in += self.memory_dim * ((self.attention == 'additive') + self.feed_context)
    self.decoder_cells = [rnn.CellWeights(first_in if i == 0 else self.hidden_size, self.hidden_size, self.cell)
                          for i in range(self.decoder_layers)]
    if self.attention == 'additive':
      self.attention_keys = precision.dense(self.attention_dim, self.dtype, use_bias=False)
      self.attention_query = self.param('attention_query', nn.initializers.lecun_normal(),
                                        (self.hidden_size, self.attention_dim))
      self.attention_v = self.param('attention_v', nn.initializers.normal(self.attention_dim ** -0.5),
                                    (self.attention_dim,))
    elif self.attention == 'dot':
      self.attention_keys = precision.dense(self.hidden_size, self.dtype, use_bias=False)
      self.attention_combine = self.param('attention_combine', nn.initializers.lecun_normal(),
                                          (self.memory_dim + self.hidden_size, self.hidden_size))
    features = self.hidden_size
    if self.deep_output:
      features += self.embed_dim + (self.memory_dim if (self.attention == 'additive' or self.feed_context) else 0)
    if self.output_dim:
      self.pre_output = precision.dense(self.output_dim, self.dtype)
    self.output = precision.dense(self.tgt_vocab, self.dtype)
    self.drop = nn.Dropout(self.dropout)

  # Encoder.
  def _encode(self, src_BS, src_len_B, train: bool):
    valid_BS = attention.length_mask(src_len_B, src_BS.shape[1])
    if self.reverse_source:
      src_BS = reverse_within_length(src_BS, src_len_B)
    drop = lambda x: self.drop(x, deterministic=not train)
    x_SBD = drop(self.src_embed(src_BS.T))
    valid_SB = valid_BS.T
    finals = []
    for i in range(self.encoder_layers):
      h_SBH, last_fwd = self.encoder_fwd[i](x_SBD, valid=valid_SB)
      lasts = [last_fwd]
      if self.bidirectional:
        h_bwd_SBH, last_bwd = self.encoder_bwd[i](x_SBD, valid=valid_SB, reverse=True)
        h_SBH = jnp.concatenate([h_SBH, h_bwd_SBH], axis=-1)
        lasts.append(last_bwd)
      finals.append(lasts)
      x_SBD = h_SBH + x_SBD if (self.residual and i > 0) else h_SBH
      if i < self.encoder_layers - 1:
        x_SBD = drop(x_SBD)
    top_h = lambda carry: carry[0] if isinstance(carry, tuple) else carry
    summary_BM = jnp.concatenate([top_h(c) for c in finals[-1]], axis=-1)
    memory_BSM = jnp.swapaxes(x_SBD, 0, 1)
    if self.copies_states:
      layers = tuple(lasts[0] for lasts in finals)
    else:
      zeros = jnp.zeros_like(summary_BM[:, :self.hidden_size])
      hs = [jnp.tanh(bridge(summary_BM)) for bridge in self.bridges]
      layers = tuple((h, zeros) if self.cell == 'lstm' else h for h in hs)
    state = {'layers': layers, 'memory': memory_BSM, 'valid': valid_BS}
    if self.attention != 'none':
      state['keys'] = self.attention_keys(memory_BSM)
    if self.feed_context:
      state['summary'] = summary_BM
    if self.attention == 'dot':
      state['feed'] = jnp.zeros_like(summary_BM[:, :self.hidden_size])
    return state

  # Decoder.
  def _weights(self) -> dict:
    w = {'cells': [cell() for cell in self.decoder_cells]}
    if self.attention == 'additive':
      w.update(attention_query=self.attention_query, attention_v=self.attention_v)
    elif self.attention == 'dot':
      w['attention_combine'] = self.attention_combine
    return w

  def _cell_step(self, w, state, emb_BE, layer_keep):
    """One decoder step from the embedded input token: (new state, output features, attention weights)."""
    layers = state['layers']
    top = lambda carry: carry[0] if isinstance(carry, tuple) else carry
    inputs, context_BM, weights_BS = [emb_BE], None, None
    if self.attention == 'additive':  # Queried with the previous top state s_{t-1}.
      context_BM, weights_BS = additive_attention(top(layers[-1]), w, state['keys'], state['memory'], state['valid'],
                                                  self.dtype)
      inputs.append(context_BM)
    if self.feed_context:
      context_BM = state['summary']
      inputs.append(context_BM)
    if self.attention == 'dot':
      inputs.append(state['feed'])  # Luong's input feeding.
    x_BD = jnp.concatenate(inputs, axis=-1)
    new_layers = []
    for i, (cell_w, carry) in enumerate(zip(w['cells'], layers)):
      xw_BG = precision.matmul(x_BD, cell_w['kernel'], self.dtype) + cell_w['bias']
      carry = rnn.step_function(self.cell, cell_w, dtype=self.dtype)(carry, xw_BG)
      new_layers.append(carry)
      h_BH = top(carry) + x_BD if (self.residual and i > 0) else top(carry)
      x_BD = h_BH * layer_keep[i] if (layer_keep is not None and i < len(layers) - 1) else h_BH
    state = dict(state, layers=tuple(new_layers))
    if self.attention == 'dot':
      context_BM, weights_BS = dot_attention(x_BD, state['keys'], state['memory'], state['valid'])
      combined_BD = jnp.concatenate([context_BM, x_BD], axis=-1)
      x_BD = jnp.tanh(precision.matmul(combined_BD, w['attention_combine'], self.dtype))
      state['feed'] = x_BD
    elif self.deep_output:
      x_BD = jnp.concatenate([x_BD, emb_BE] + ([context_BM] if context_BM is not None else []), axis=-1)
    return state, x_BD, weights_BS

  def _logits(self, features, train: bool):
    features = self.drop(features, deterministic=not train)
    if self.output_dim:
      features = jnp.tanh(self.pre_output(features))
    return self.output(features).astype(jnp.float32)

  def _layer_keep(self, rng, shape_prefix, train: bool):
    """Dropout masks (scaled keep flags) between decoder layers, drawn outside the scan."""
    if not train or self.dropout == 0.0 or self.decoder_layers < 2:
      return None
    shape = (self.decoder_layers - 1,) + shape_prefix + (self.hidden_size,)
    keep = jax.random.bernoulli(rng, 1.0 - self.dropout, shape)
    return keep.astype(jnp.float32) / (1.0 - self.dropout)

  def _decode(self, state, tgt_in_BT, train: bool, own_BT=None, rng=None, with_weights: bool = False):
    w = self._weights()
    B, T = tgt_in_BT.shape
    drop_rng = self.make_rng('dropout') if train and self.dropout > 0 else None
    keep_T = self._layer_keep(drop_rng, (T, B), train)
    keep_T = None if keep_T is None else jnp.swapaxes(keep_T, 0, 1)  # (T, decoder_layers - 1, B, H): scanned over T.
    emb_TBE = self.tgt_embed(tgt_in_BT.T)
    if own_BT is None:  # Teacher forcing: every input is the reference, the softmax is hoisted out of the scan.
      emb_TBE = self.drop(emb_TBE, deterministic=not train)

      def body(state, inputs):
        emb_BE, keep = inputs
        state, features_BC, weights_BS = self._cell_step(w, state, emb_BE, keep)
        return state, (features_BC, weights_BS if with_weights else None)
      _, (features_TBC, weights_TBS) = jax.lax.scan(body, state, (emb_TBE, keep_T))
      logits_BTV = jnp.swapaxes(self._logits(features_TBC, train), 0, 1)
      return (logits_BTV, weights_TBS) if with_weights else logits_BTV

    # Scheduled sampling: the softmax runs inside the scan, whose carry holds the last sample.
    emb_keep_TBE = None
    if train and self.dropout > 0:
      emb_keep_TBE = jax.random.bernoulli(jax.random.fold_in(drop_rng, 1), 1.0 - self.dropout, emb_TBE.shape)
      emb_keep_TBE = emb_keep_TBE.astype(jnp.float32) / (1.0 - self.dropout)
    own_TB = own_BT.T.at[0].set(False)  # Position 0 reads BOS: there is no previous prediction.

    def sampled_body(carry, inputs):
      state, sample_B = carry
      t, token_B, own_B, keep, emb_keep_BE = inputs
      token_B = jnp.where(own_B, sample_B, token_B)
      emb_BE = self.tgt_embed(token_B)
      if emb_keep_BE is not None:
        emb_BE = emb_BE * emb_keep_BE
      state, features_BC, _ = self._cell_step(w, state, emb_BE, keep)
      logits_BV = self._logits(features_BC, train)
      sample_B = _sample(jax.random.fold_in(rng, t), jax.lax.stop_gradient(logits_BV))
      return (state, sample_B), logits_BV
    _, logits_TBV = jax.lax.scan(
        sampled_body, (state, jnp.zeros((B,), jnp.int32)),
        (jnp.arange(T), tgt_in_BT.T, own_TB, keep_T, emb_keep_TBE))
    return jnp.swapaxes(logits_TBV, 0, 1)

  def __call__(self, src_BS, src_len_B, tgt_in_BT, train: bool = False, own_BT=None, rng=None):
    state = self._encode(src_BS, src_len_B, train)
    return self._decode(state, tgt_in_BT, train, own_BT, rng)

  def start(self, src_BS, src_len_B, max_len: int):
    del max_len  # The recurrent state does not grow with the output.
    return self._encode(src_BS, src_len_B, False)

  def step(self, tokens_R, state):
    state, features_RC, _ = self._cell_step(self._weights(), state, self.tgt_embed(tokens_R), None)
    return self._logits(features_RC, False), state

  def cross_attention(self, src_BS, src_len_B, tgt_in_BT):
    if self.attention == 'none':
      raise ValueError('This model has no attention (model.attention is "none") to plot.')
    state = self._encode(src_BS, src_len_B, False)
    _, weights_TBS = self._decode(state, tgt_in_BT, False, with_weights=True)
    weights_BTS = jnp.swapaxes(weights_TBS, 0, 1)
    if self.reverse_source:  # Back to the source's reading order.
      s_1S = jnp.arange(src_BS.shape[1])[None, :]
      index_BS = jnp.where(s_1S < src_len_B[:, None], src_len_B[:, None] - 1 - s_1S, s_1S)
      weights_BTS = jnp.take_along_axis(weights_BTS, index_BS[:, None, :], axis=2)
    return weights_BTS


class TransformerSeq2Seq(nn.Module):
  """The Transformer encoder-decoder (Vaswani et al. 2017) on the attention code of the GPT.

  Embeddings are scaled by sqrt(width) (initialized with std width^-1/2), positions
  are sinusoidal or learned, and the softmax reuses the target embedding when tied.
  """
  src_vocab: int
  tgt_vocab: int
  max_len: int = 256
  width: int = 256
  encoder_layers: int = 3
  decoder_layers: int = 3
  num_heads: int = 8
  mlp_ratio: int = 2
  norm: str = 'pre'
  activation: str = 'relu'
  positional: str = 'sinusoidal'
  dropout: float = 0.1
  attention_dropout: float = 0.0
  use_bias: bool = True
  share_embeddings: bool = False
  tie_output: bool = True
  dtype: jnp.dtype = jnp.float32

  def setup(self):
    embed = lambda vocab: nn.Embed(vocab, self.width, embedding_init=nn.initializers.normal(self.width ** -0.5))
    self.src_embed = embed(self.src_vocab)
    self.tgt_embed = self.src_embed if self.share_embeddings else embed(self.tgt_vocab)
    if self.positional == 'learned':
      self.src_positions = nn.Embed(self.max_len, self.width, embedding_init=nn.initializers.normal(0.02))
      self.tgt_positions = nn.Embed(self.max_len, self.width, embedding_init=nn.initializers.normal(0.02))
    depth = self.encoder_layers + self.decoder_layers
    common = dict(mlp_ratio=self.mlp_ratio, norm=self.norm, activation=self.activation, dropout=self.dropout,
                  attention_dropout=self.attention_dropout, use_bias=self.use_bias, dtype=self.dtype)
    self.encoder = [transformer.Block(self.width, self.num_heads, depth, **common)
                    for _ in range(self.encoder_layers)]
    self.decoder = [transformer.DecoderBlock(self.width, self.num_heads, depth, **common)
                    for _ in range(self.decoder_layers)]
    if self.norm == 'pre':
      self.encoder_norm = nn.LayerNorm(epsilon=1e-5, use_bias=self.use_bias)
      self.decoder_norm = nn.LayerNorm(epsilon=1e-5, use_bias=self.use_bias)
    if not self.tie_output:
      self.output = precision.dense(self.tgt_vocab, self.dtype)
    self.drop = nn.Dropout(self.dropout)

  def _embed(self, embed, positions, tokens_BT, start, train: bool):
    T = tokens_BT.shape[1]
    x_BTC = embed(tokens_BT) * math.sqrt(self.width)
    if self.positional == 'learned':
      x_BTC = x_BTC + positions(start + jnp.arange(T))
    elif self.positional == 'sinusoidal':
      x_BTC = x_BTC + jax.lax.dynamic_slice_in_dim(transformer.sinusoidal_encoding(self.max_len, self.width), start, T)
    return self.drop(x_BTC, deterministic=not train)

  def _check_length(self, length: int, side: str):
    if length > self.max_len:
      raise ValueError(f'{side} of {length} tokens exceed model.max_len ({self.max_len}).')

  def encode(self, src_BS, src_len_B, train: bool = False):
    self._check_length(src_BS.shape[1], 'A source')
    valid_BS = attention.length_mask(src_len_B, src_BS.shape[1])
    x_BSC = self._embed(self.src_embed, getattr(self, 'src_positions', None), src_BS, 0, train)
    mask = attention.padding_mask(valid_BS)
    for block in self.encoder:
      x_BSC, _ = block(x_BSC, mask, train=train)
    if self.norm == 'pre':
      x_BSC = self.encoder_norm(x_BSC)
    return x_BSC, valid_BS

  def _decoder_states(self, x_BTC, memory_BSC, self_mask, cross_mask, caches, cross_kvs, train: bool):
    new_caches = []
    for i, block in enumerate(self.decoder):
      x_BTC, cache = block(x_BTC, memory_BSC, self_mask, cross_mask, None if caches is None else caches[i],
                           None if cross_kvs is None else cross_kvs[i], train=train)
      new_caches.append(cache)
    if self.norm == 'pre':
      x_BTC = self.decoder_norm(x_BTC)
    return x_BTC, tuple(new_caches)

  def _decode_layers(self, x_BTC, memory_BSC, self_mask, cross_mask, caches, cross_kvs, train: bool):
    x_BTC, new_caches = self._decoder_states(x_BTC, memory_BSC, self_mask, cross_mask, caches, cross_kvs, train)
    logits = precision.attend(self.tgt_embed, x_BTC, self.dtype) if self.tie_output else self.output(x_BTC)
    return logits.astype(jnp.float32), new_caches

  def teacher_forced_states(self, memory_BSC, valid_BS, tgt_in_BT, train: bool = False):
    """The decoder's top states (B, T, C) reading tgt_in_BT (causally) and attending to the memory."""
    T = tgt_in_BT.shape[1]
    self._check_length(T, 'A target')
    x_BTC = self._embed(self.tgt_embed, getattr(self, 'tgt_positions', None), tgt_in_BT, 0, train)
    return self._decoder_states(x_BTC, memory_BSC, attention.causal_mask(T, T), attention.padding_mask(valid_BS),
                                None, None, train)[0]

  def _teacher_forced(self, memory_BSC, valid_BS, tgt_in_BT, train: bool):
    x_BTC = self.teacher_forced_states(memory_BSC, valid_BS, tgt_in_BT, train)
    logits = precision.attend(self.tgt_embed, x_BTC, self.dtype) if self.tie_output else self.output(x_BTC)
    return logits.astype(jnp.float32)

  def __call__(self, src_BS, src_len_B, tgt_in_BT, train: bool = False, own_BT=None, rng=None):
    memory_BSC, valid_BS = self.encode(src_BS, src_len_B, train)
    if own_BT is not None:
      # Scheduled sampling for a parallel decoder (Mihaylova & Liu 2019): a first teacher-forced pass,
      # without gradient, samples each position's prediction; the second pass reads them where own_BT says.
      first_BTV = jax.lax.stop_gradient(self._teacher_forced(memory_BSC, valid_BS, tgt_in_BT, False))
      sample_BT = _sample(rng, first_BTV)
      previous_BT = jnp.concatenate([tgt_in_BT[:, :1], sample_BT[:, :-1]], axis=1)
      tgt_in_BT = jnp.where(own_BT.at[:, 0].set(False), previous_BT, tgt_in_BT)
    return self._teacher_forced(memory_BSC, valid_BS, tgt_in_BT, train)

  def start(self, src_BS, src_len_B, max_len: int):
    """The decoding state for up to max_len (<= model.max_len) target tokens."""
    self._check_length(max_len, 'A translation')
    memory_BSC, valid_BS = self.encode(src_BS, src_len_B)
    B, head_dim = src_BS.shape[0], self.width // self.num_heads
    return {'index': jnp.zeros((), jnp.int32), 'valid': valid_BS,
            'cross_kv': tuple(block.cross_keys_values(memory_BSC) for block in self.decoder),
            'caches': tuple(attention.init_cache(B, max_len, self.num_heads, head_dim)
                            for _ in self.decoder)}

  def step(self, tokens_R, state):
    index = state['index']
    x_R1C = self._embed(self.tgt_embed, getattr(self, 'tgt_positions', None), tokens_R[:, None], index, False)
    logits_R1V, caches = self._decode_layers(
        x_R1C, None, attention.causal_mask(1, state['caches'][0]['k'].shape[1], offset=index),
        attention.padding_mask(state['valid']),
        state['caches'], state['cross_kv'], False)
    return logits_R1V[:, 0], dict(state, index=index + 1, caches=caches)

  def sow_attention(self, src_BS, src_len_B, tgt_in_BT):
    """A teacher-forced pass that sows every attention's weights (see cross_attention_map)."""
    memory_BSC, valid_BS = self.encode(src_BS, src_len_B)
    self._teacher_forced(memory_BSC, valid_BS, tgt_in_BT, False)


def cross_attention_map(model, params, src_BS, src_len_B, tgt_in_BT):
  """(B, T, S) cross-attention of any seq2seq model: the recurrent ones return it, the Transformer sows it."""
  if isinstance(model, TransformerSeq2Seq):
    _, variables = model.apply({'params': params}, src_BS, src_len_B, tgt_in_BT, method='sow_attention',
                               mutable=['intermediates'])
    last = variables['intermediates'][f'decoder_{model.decoder_layers - 1}']['cross_attention']
    return last['attention_weights'][0].mean(axis=1)
  return model.apply({'params': params}, src_BS, src_len_B, tgt_in_BT, method='cross_attention')


def _check_shared(model, src_vocab_size, tgt_vocab_size):
  if model.share_embeddings and src_vocab_size != tgt_vocab_size:
    raise ValueError('model.share_embeddings needs one vocabulary for both languages (data.joint_vocab = True).')


@registry.register('rnn_seq2seq')
def _rnn_seq2seq(config, src_vocab_size, tgt_vocab_size):
  model = registry.from_config(RNNSeq2Seq, config, src_vocab=src_vocab_size, tgt_vocab=tgt_vocab_size)
  checks.check_choice(model.cell, ('lstm', 'gru'), 'model.cell')
  checks.check_choice(model.attention, ATTENTIONS, 'model.attention')
  registry.check_dropout(model)
  _check_shared(model, src_vocab_size, tgt_vocab_size)
  registry.check_positive(model, ('embed_dim', 'hidden_size', 'encoder_layers', 'decoder_layers'))
  # Cho et al.'s context is the encoder summary, for a decoder without attention; Bahdanau's deep output
  # reads the additive context, while Luong's dot attention has its own attentional output layer.
  if model.feed_context and model.attention != 'none':
    raise ValueError(f'model.feed_context feeds the encoder summary (Cho et al.) and needs model.attention="none"; '
                     f'with attention {model.attention!r} the attention context is what each step reads.')
  if model.deep_output and model.attention == 'dot':
    raise ValueError('model.deep_output does not apply to dot attention, whose output layer reads '
                     'tanh(W[context; state]) (Luong et al.); set it False.')
  return model


def transformer_seq2seq_builder(module_cls):
  """The builder of a TransformerSeq2Seq (or a subclass): its fields from the config (and `given` ones), checked."""
  def build(config, src_vocab_size, tgt_vocab_size, **given):
    model = registry.from_config(module_cls, config, src_vocab=src_vocab_size, tgt_vocab=tgt_vocab_size, **given)
    checks.check_choice(model.norm, transformer.NORMS, 'model.norm')
    checks.check_choice(model.activation, transformer.ACTIVATIONS, 'model.activation')
    checks.check_choice(model.positional, transformer.POSITIONALS, 'model.positional')
    registry.check_dropout(model, ('dropout', 'attention_dropout'))
    _check_shared(model, src_vocab_size, tgt_vocab_size)
    if model.width % model.num_heads:
      raise ValueError(f'model.width ({model.width}) must be divisible by model.num_heads ({model.num_heads}).')
    return model
  return build


registry.register('transformer_seq2seq')(transformer_seq2seq_builder(TransformerSeq2Seq))
