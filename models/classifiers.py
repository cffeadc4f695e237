"""Sentence classifiers (bag of embeddings, a CNN, RNNs, BERT- and GPT-style transformers) and their LM heads.

Every classifier has one interface:
- `__call__(tokens_BT, length_B, train=False) -> logits_BK` (float32). Rows are right-padded with PAD;
  `length_B` counts the real tokens (0 is allowed) and nothing beyond it changes the result.
- `features(tokens_BT, length_B, train=False) -> (B, C)`: what the output layer reads, before its dropout.
- `lm_logits(tokens_BT, length_B, train=False) -> (B, T, V)` (float32) for pretraining: the causal LM
  (logits[:, t] predicts token t+1) of 'gpt_classifier' and a unidirectional 'rnn_classifier', the masked LM
  (logits[:, t] belongs to input position t) of 'transformer_classifier'; a ValueError elsewhere.
- `autoencoder_logits(tokens_BT, length_B, train=False) -> (B, T, V)` of a unidirectional 'rnn_classifier':
  Dai & Le's sequence autoencoder (logits[:, t] reconstructs token t from the encoder's final state).
- `classify_and_lm(...) -> (logits_BK, logits_BTV)` from one forward pass (an auxiliary LM loss while
  fine-tuning, Radford et al. 2018), where the LM is causal.

Parameters: the classification layer is always the submodule 'output' (and BERT's pooler 'pool'), so one rule
finds the fresh head and the max-norm target. `init(..., method='lm_logits')` creates every other parameter,
and an init through `__call__` creates the LM head as well, so a pretrained tree overwrites a fine-tuning tree
path by path.

Mixed precision (`dtype`, model.dtype; the table in models/precision.py): with bfloat16 the matmuls and
convolutions read bfloat16 operands and accumulate in float32; the transformers' blocks compute as the
GPT's (transformer.py). Embeddings, the masked mean and the pooling over time, recurrent states,
layer norms, attention softmax, and the class and LM logits stay float32.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from configs import checks
from models import attention
from models import precision
from models import registry
from models import rnn
from models import transformer

PAD, UNK, CLS, MASK = 0, 1, 2, 3  # The data module reserves the same ids.
SEP = 4  # Reserved after them in next-sentence pretraining's vocabularies only (data/labeled.py).
# Parameters a pretraining objective adds and a fine-tuned classifier leaves behind: the autoencoder's decoder,
# ELMo's biLM softmax (models/elmo.py), BERT's next-sentence classifier.
PRETRAINING_ONLY = ('decoder_rnn_', 'bilm/softmax/', 'nsp_output/')
NEG = attention.NEG
BOE_ACTIVATIONS = {'tanh': jnp.tanh, 'relu': jax.nn.relu}
RNN_CELLS = ('lstm', 'gru')
POOLINGS = ('final', 'mean', 'max')


def max_norm(params, max_norm_value: float):
  """params with each class's column of params['output']['kernel'] rescaled to L2 norm <= max_norm_value.

  Kim (2014) applies this after every update; columns already within the ball are left exactly as they are.
  """
  kernel_CK = params['output']['kernel']
  norm_1K = jnp.linalg.norm(kernel_CK, axis=0, keepdims=True)
  scale_1K = jnp.where(norm_1K > max_norm_value, max_norm_value / jnp.maximum(norm_1K, 1e-12), 1.0)
  return {**params, 'output': {**params['output'], 'kernel': kernel_CK * scale_1K}}


class _NoLM:
  """lm_logits and classify_and_lm of a model without an LM head: a ValueError naming the reason."""
  NO_LM_REASON = ''

  def lm_logits(self, *args, **kwargs):
    raise ValueError(f'{type(self).__name__} has no language-model head: {self.NO_LM_REASON}.')

  classify_and_lm = lm_logits


class BagOfEmbeddings(_NoLM, nn.Module):
  """The mean of the real tokens' embeddings, an optional MLP, a linear classifier (order invariant)."""
  NO_LM_REASON = 'a bag of embeddings ignores word order'
  vocab_size: int
  num_classes: int
  embed_dim: int = 300
  hidden_sizes: tuple[int, ...] = ()
  activation: str = 'tanh'
  dropout: float = 0.0
  dtype: jnp.dtype = jnp.float32  # Of the dense layers' operands; the mean of the embeddings stays float32.

  def setup(self):
    self.embed = nn.Embed(self.vocab_size, self.embed_dim, embedding_init=nn.initializers.normal(0.1))
    self.hidden = [precision.dense(size, self.dtype) for size in self.hidden_sizes]
    self.drop = nn.Dropout(self.dropout)
    self.output = precision.dense(self.num_classes, self.dtype)

  def features(self, tokens_BT, length_B, train: bool = False):
    valid_BT = attention.length_mask(length_B, tokens_BT.shape[1])
    sum_BE = jnp.einsum('bte,bt->be', self.embed(tokens_BT), valid_BT.astype(jnp.float32))
    x_BC = self.drop(sum_BE / jnp.maximum(length_B, 1)[:, None], deterministic=not train)  # Empty rows: zeros.
    for dense in self.hidden:
      x_BC = BOE_ACTIVATIONS[self.activation](dense(x_BC))
    return x_BC

  def __call__(self, tokens_BT, length_B, train: bool = False):
    return self.output(self.features(tokens_BT, length_B, train)).astype(jnp.float32)


def symmetric_uniform(bound: float):
  """U(-bound, bound)."""
  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)
  return init


class TextCNN(_NoLM, nn.Module):
  """Convolutions of several widths over the word vectors, ReLU, max over time, dropout, a linear classifier.

  Narrow windows: each lies within the sentence, except that a sentence shorter than a filter has one
  window of that width, its positions past the end reading zero vectors, so every sentence (an empty one
  too) has a feature from every filter. Windows of padding alone are left out, so the features do not
  depend on how far a row is padded. Inverted dropout on the pooled features; Flax's LeCun-normal kernels;
  word vectors U(-0.25, 0.25) (about the variance of pretrained word2vec vectors, as in Kim 2014).
  """
  NO_LM_REASON = 'a convolution over the whole sentence has no causal or masked LM'
  vocab_size: int
  num_classes: int
  embed_dim: int = 300
  filter_widths: tuple[int, ...] = (3, 4, 5)
  num_filters: int = 100
  dropout: float = 0.5
  dtype: jnp.dtype = jnp.float32  # Of the convolutions' and output layer's operands; float32 results.

  def setup(self):
    self.embed = nn.Embed(self.vocab_size, self.embed_dim, embedding_init=symmetric_uniform(0.25))
    self.convs = [precision.conv(self.num_filters, (w,), self.dtype, padding='VALID') for w in self.filter_widths]
    self.drop = nn.Dropout(self.dropout)
    self.output = precision.dense(self.num_classes, self.dtype)

  def features(self, tokens_BT, length_B, train: bool = False):
    del train  # Dropout comes after the pooled features.
    T, widest = tokens_BT.shape[1], max(self.filter_widths)
    x_BTD = self.embed(tokens_BT) * attention.length_mask(length_B, T)[..., None]
    x_BTD = jnp.pad(x_BTD, ((0, 0), (0, max(widest - T, 0)), (0, 0)))  # Rows shorter than the widest filter.
    pooled = []
    for w, conv in zip(self.filter_widths, self.convs):
      h_BPC = jax.nn.relu(conv(x_BTD))  # Window p covers tokens p .. p + w - 1.
      ok_BP = jnp.arange(h_BPC.shape[1])[None, :] + w <= jnp.maximum(length_B, w)[:, None]
      # After the ReLU every value is >= 0, so zeros stand in for the left-out windows (window 0 is always in).
      pooled.append(jnp.max(jnp.where(ok_BP[..., None], h_BPC, 0.0), axis=1))
    return jnp.concatenate(pooled, axis=-1)

  def __call__(self, tokens_BT, length_B, train: bool = False):
    x_BC = self.drop(self.features(tokens_BT, length_B, train), deterministic=not train)
    return self.output(x_BC).astype(jnp.float32)


class RNNClassifier(nn.Module):
  """Embeddings, stacked (bi)directional LSTM/GRU layers over the real tokens, a pooling, a linear classifier.

  The backward direction starts at each row's last real token (RecurrentLayer's valid mask with reverse).
  Pooling 'final' reads the forward state at the last real token and the backward state at the first;
  'mean' and 'max' pool the top layer over the real positions. Dropout on the embeddings, between layers,
  and before the output layers.
  """
  vocab_size: int
  num_classes: int
  embed_dim: int = 300
  hidden_size: int = 256  # Per direction.
  num_layers: int = 1
  cell: str = 'lstm'
  bidirectional: bool = True
  pooling: str = 'final'
  dropout: float = 0.5
  forget_bias: float = 1.0
  dtype: jnp.dtype = jnp.float32  # Of the matmuls' operands; states, pooling and logits stay float32.

  def setup(self):
    self.embed = nn.Embed(self.vocab_size, self.embed_dim, embedding_init=nn.initializers.normal(0.1))
    layer = lambda: rnn.RecurrentLayer(self.hidden_size, self.cell, forget_bias=self.forget_bias, time_major=True,
                                       dtype=self.dtype)
    self.forward_rnn = [layer() for _ in range(self.num_layers)]
    self.backward_rnn = [layer() for _ in range(self.num_layers)] if self.bidirectional else []
    if not self.bidirectional and self.hidden_size != self.embed_dim:  # Otherwise the LM reuses the embedding.
      self.lm_output = precision.dense(self.vocab_size, self.dtype)
    # The sequence autoencoder's decoder (autoencoder_logits): its parameters exist only in a model initialized
    # through that method, so a classifier fine-tuned from it has none.
    self.decoder_rnn = [layer() for _ in range(self.num_layers)] if not self.bidirectional else []
    self.drop = nn.Dropout(self.dropout)
    self.output = precision.dense(self.num_classes, self.dtype)

  def _stack(self, layers, x_TBD, valid_TB, train: bool, carries=None):
    """(top outputs (T, B, H), each layer's last carry) of unidirectional layers, dropout between them."""
    last = []
    for i, layer in enumerate(layers):
      h_TBH, carry = layer(x_TBD, carry=None if carries is None else carries[i], valid=valid_TB)
      last.append(carry)
      x_TBD = self.drop(h_TBH, deterministic=not train) if i < len(layers) - 1 else h_TBH
    return x_TBD, last

  def token_features(self, tokens_BT, length_B, train: bool = False):
    """(T, B, D) what the first recurrent layer reads: the embeddings, after dropout (ELMo's adds its own)."""
    del length_B
    return self.drop(self.embed(tokens_BT.T), deterministic=not train)

  def encode(self, tokens_BT, length_B, train: bool = False):
    """The top layer's outputs (B, T, H·directions), forward half first; zeros at padding."""
    drop = lambda x: self.drop(x, deterministic=not train)
    valid_TB = attention.length_mask(length_B, tokens_BT.shape[1]).T
    x_TBD = self.token_features(tokens_BT, length_B, train)
    if not self.bidirectional:
      return jnp.swapaxes(self._stack(self.forward_rnn, x_TBD, valid_TB, train)[0], 0, 1)
    return jnp.swapaxes(rnn.bidirectional_stack(self.forward_rnn, self.backward_rnn, x_TBD, valid_TB, drop), 0, 1)

  def autoencoder_logits(self, tokens_BT, length_B, train: bool = False):
    """Dai & Le's (2015) sequence autoencoder: logits (B, T, V) of the tokens themselves.

    The encoder (this classifier's layers) reads the tokens; decoder layers of their own, each started
    from its encoder layer's state after the last real token, read CLS then the tokens but the last
    (teacher forcing) and predict every token through the language-model head.
    """
    self._require_lm()
    drop = lambda x: self.drop(x, deterministic=not train)
    valid_TB = attention.length_mask(length_B, tokens_BT.shape[1]).T
    _, states = self._stack(self.forward_rnn, drop(self.embed(tokens_BT.T)), valid_TB, train)
    shifted_BT = jnp.concatenate([jnp.full_like(tokens_BT[:, :1], CLS), tokens_BT[:, :-1]], axis=1)
    h_TBH, _ = self._stack(self.decoder_rnn, drop(self.embed(shifted_BT.T)), valid_TB, train, carries=states)
    return self._lm(jnp.swapaxes(h_TBH, 0, 1), train)

  def _pool(self, h_BTC, length_B):
    if self.pooling == 'final':
      # An empty row reads position 0, whose outputs are zeros (the initial state).
      last_BC = jnp.take_along_axis(h_BTC, jnp.maximum(length_B - 1, 0)[:, None, None], axis=1)[:, 0]
      if not self.bidirectional:
        return last_BC
      return jnp.concatenate([last_BC[:, :self.hidden_size], h_BTC[:, 0, self.hidden_size:]], axis=-1)
    if self.pooling == 'mean':
      return h_BTC.sum(axis=1) / jnp.maximum(length_B, 1)[:, None]
    valid_BT1 = attention.length_mask(length_B, h_BTC.shape[1])[..., None]
    return jnp.where(length_B[:, None] > 0, jnp.max(jnp.where(valid_BT1, h_BTC, NEG), axis=1), 0.0)

  def _classify(self, h_BTC, length_B, train: bool):
    x_BC = self.drop(self._pool(h_BTC, length_B), deterministic=not train)
    return self.output(x_BC).astype(jnp.float32)

  def _require_lm(self):
    if self.bidirectional:
      raise ValueError('RNNClassifier has no language-model head: a bidirectional RNN reads the tokens it '
                       'would predict (set model.bidirectional = False).')

  def _lm(self, h_BTH, train: bool):
    h_BTH = self.drop(h_BTH, deterministic=not train)
    if self.hidden_size == self.embed_dim:
      logits_BTV = precision.attend(self.embed, h_BTH, self.dtype)
    else:
      logits_BTV = self.lm_output(h_BTH)
    return logits_BTV.astype(jnp.float32)

  def features(self, tokens_BT, length_B, train: bool = False):
    return self._pool(self.encode(tokens_BT, length_B, train), length_B)

  def __call__(self, tokens_BT, length_B, train: bool = False):
    h_BTC = self.encode(tokens_BT, length_B, train)
    if self.is_initializing() and not self.bidirectional:
      self._lm(h_BTC, train)  # One init holds the LM head too (see the module docstring).
    return self._classify(h_BTC, length_B, train)

  def lm_logits(self, tokens_BT, length_B, train: bool = False):
    self._require_lm()
    return self._lm(self.encode(tokens_BT, length_B, train), train)

  def classify_and_lm(self, tokens_BT, length_B, train: bool = False):
    self._require_lm()
    h_BTC = self.encode(tokens_BT, length_B, train)
    return self._classify(h_BTC, length_B, train), self._lm(h_BTC, train)


class _TransformerBase(nn.Module):
  """Token and learned position embeddings, transformer.Block layers, a final LayerNorm (pre-LN)."""
  vocab_size: int
  num_classes: int
  max_len: int = 128  # Positions; the encoder's CLS takes one.
  width: int = 256
  depth: int = 4
  num_heads: int = 4
  mlp_ratio: int = 4
  norm: str = 'pre'
  activation: str = 'gelu'
  dropout: float = 0.1
  attention_dropout: float = 0.1
  use_bias: bool = True
  dtype: jnp.dtype = jnp.float32  # As the GPT's (transformer.py); the residual stream and logits stay float32.

  def setup(self):
    self.embed = nn.Embed(self.vocab_size, self.width, embedding_init=nn.initializers.normal(0.02))
    self.positions = nn.Embed(self.max_len, self.width, embedding_init=nn.initializers.normal(0.02))
    self.blocks = [transformer.Block(self.width, self.num_heads, self.depth, self.mlp_ratio, self.norm,
                                     self.activation, self.dropout, self.attention_dropout, self.use_bias, self.dtype)
                   for _ in range(self.depth)]
    if self.norm == 'pre':
      self.ln_final = nn.LayerNorm(epsilon=1e-5, use_bias=self.use_bias)
    self.drop = nn.Dropout(self.dropout)
    self.output = precision.dense(self.num_classes, self.dtype, kernel_init=nn.initializers.normal(0.02))

  def _transform(self, tokens_BS, mask, train: bool, added_BSC=0.0):
    """added_BSC: more embeddings to add to the tokens' and positions' (BERT's segments)."""
    S = tokens_BS.shape[1]
    if S > self.max_len:
      raise ValueError(f'{S} positions exceed model.max_len ({self.max_len}).')
    x_BSC = self.drop(self.embed(tokens_BS) + self.positions(jnp.arange(S)) + added_BSC, deterministic=not train)
    for block in self.blocks:
      x_BSC, _ = block(x_BSC, mask, train=train)
    return self.ln_final(x_BSC) if self.norm == 'pre' else x_BSC

  def _classify(self, x_BC, train: bool):
    return self.output(self.drop(x_BC, deterministic=not train)).astype(jnp.float32)


class MaskedLMHead(nn.Module):
  """BERT's: Dense, GELU, LayerNorm, then the (tied) token embedding transposed, plus a bias per token."""
  width: int
  dtype: jnp.dtype = jnp.float32  # Of the two matmuls' operands; GELU, the norm and the logits stay float32.

  @nn.compact
  def __call__(self, h_BTC, embedding_VC):
    transform = precision.dense(self.width, self.dtype, kernel_init=nn.initializers.normal(0.02), name='transform')
    h_BTC = transformer.gelu(transform(h_BTC))
    h_BTC = nn.LayerNorm(epsilon=1e-5, name='norm')(h_BTC)
    bias_V = self.param('bias', nn.initializers.zeros_init(), (embedding_VC.shape[0],))
    return (precision.einsum('btc,vc->btv', h_BTC, embedding_VC, self.dtype) + bias_V).astype(jnp.float32)


def segment_ids(tokens_BS, valid_BS):
  """(B, S) int32: 0 up to and including the first real SEP, 1 after it (BERT's segments A and B)."""
  is_sep_BS = (tokens_BS == SEP) & valid_BS
  return ((jnp.cumsum(is_sep_BS, axis=1) - is_sep_BS) > 0).astype(jnp.int32)


class TransformerClassifier(_TransformerBase):
  """BERT-style encoder (Devlin et al. 2019): CLS prepended inside, padded keys masked, the CLS output classified.

  segments: BERT's segment embeddings, A (0) up to and including the first SEP, B (1) after it; a text with
  no SEP is all A. `mlm_and_nsp_logits` adds the next-sentence classifier on the pooled CLS (pretraining only).
  """
  pooler: bool = True  # BERT's tanh Dense on the CLS output.
  segments: bool = False

  def setup(self):
    super().setup()
    if self.pooler:
      self.pool = precision.dense(self.width, self.dtype, kernel_init=nn.initializers.normal(0.02))
    self.mlm_head = MaskedLMHead(self.width, self.dtype)
    if self.segments:
      self.segment_embed = nn.Embed(2, self.width, embedding_init=nn.initializers.normal(0.02))
    self.nsp_output = precision.dense(2, self.dtype, kernel_init=nn.initializers.normal(0.02))

  def encode(self, tokens_BT, length_B, train: bool = False):
    """(B, 1 + T, C): the CLS slot, then one output per input position."""
    cls_B1 = jnp.full((tokens_BT.shape[0], 1), CLS, tokens_BT.dtype)
    tokens_BS = jnp.concatenate([cls_B1, tokens_BT], axis=1)
    valid_BS = attention.length_mask(length_B + 1, tokens_BS.shape[1])
    added_BSC = 0.0
    if self.segments:
      added_BSC = self.segment_embed(segment_ids(tokens_BS, valid_BS))
    return self._transform(tokens_BS, attention.padding_mask(valid_BS), train, added_BSC)

  def _pooled(self, h_BSC):
    return jnp.tanh(self.pool(h_BSC[:, 0])) if self.pooler else h_BSC[:, 0]

  def _mlm(self, h_BSC, positions_M=None):
    """Masked-LM logits at every input position (B, T, V), or at positions_M alone (M, V): flat indices into
    the (B, T) input, so that a softmax over the vocabulary runs only where a token is to be predicted."""
    h_BTC = h_BSC[:, 1:]
    if positions_M is None:
      return self.mlm_head(h_BTC, self.embed.embedding)
    h_1MC = h_BTC.reshape(-1, h_BTC.shape[-1])[positions_M][None]
    return self.mlm_head(h_1MC, self.embed.embedding)[0]

  def features(self, tokens_BT, length_B, train: bool = False):
    return self._pooled(self.encode(tokens_BT, length_B, train))

  def __call__(self, tokens_BT, length_B, train: bool = False):
    h_BSC = self.encode(tokens_BT, length_B, train)
    if self.is_initializing():
      self._mlm(h_BSC)  # One init holds the MLM head too (see the module docstring).
    return self._classify(self._pooled(h_BSC), train)

  def lm_logits(self, tokens_BT, length_B, train: bool = False, positions_M=None):
    """Masked-LM logits (B, T, V): position t of the input (MASK ids in it are the ones to predict); with
    positions_M (flat indices into (B, T)) only theirs, (M, V)."""
    return self._mlm(self.encode(tokens_BT, length_B, train), positions_M)

  def mlm_and_nsp_logits(self, tokens_BT, length_B, train: bool = False, positions_M=None):
    """(masked-LM logits as lm_logits's, next-sentence logits (B, 2): is B the sentence after A) of A SEP B
    inputs."""
    h_BSC = self.encode(tokens_BT, length_B, train)
    nsp_B2 = self.nsp_output(self.drop(self._pooled(h_BSC), deterministic=not train)).astype(jnp.float32)
    return self._mlm(h_BSC, positions_M), nsp_B2

  def classify_and_lm(self, *args, **kwargs):
    raise ValueError('TransformerClassifier has no causal LM: its masked-LM head needs masked inputs '
                     '(call lm_logits on them).')


class GPTClassifier(_TransformerBase):
  """GPT-1-style decoder (Radford et al. 2018): causal blocks, the last real token's output classified."""

  def encode(self, tokens_BT, length_B, train: bool = False):
    """(B, T, C). Causal, so real positions never see the padding after them; the padding is set to PAD
    for an empty row, which reads position 0 whatever the batch holds there."""
    T = tokens_BT.shape[1]
    tokens_BT = jnp.where(attention.length_mask(length_B, T), tokens_BT, PAD)
    return self._transform(tokens_BT, attention.causal_mask(T, T), train)

  def _last(self, h_BTC, length_B):
    index_B = jnp.maximum(length_B - 1, 0)  # An empty row reads position 0.
    return jnp.take_along_axis(h_BTC, index_B[:, None, None], axis=1)[:, 0]

  def _lm(self, h_BTC):
    return precision.attend(self.embed, h_BTC, self.dtype).astype(jnp.float32)

  def features(self, tokens_BT, length_B, train: bool = False):
    return self._last(self.encode(tokens_BT, length_B, train), length_B)

  def __call__(self, tokens_BT, length_B, train: bool = False):
    return self._classify(self.features(tokens_BT, length_B, train), train)

  def lm_logits(self, tokens_BT, length_B, train: bool = False):
    return self._lm(self.encode(tokens_BT, length_B, train))

  def classify_and_lm(self, tokens_BT, length_B, train: bool = False):
    h_BTC = self.encode(tokens_BT, length_B, train)
    return self._classify(self._last(h_BTC, length_B), train), self._lm(h_BTC)


# Builders: registry.from_config reads each module field from the model config; then the built (frozen)
# module's choices and sizes are checked.

@registry.register('boe')
def _boe(config, vocab_size, num_classes):
  model = registry.from_config(BagOfEmbeddings, config, vocab_size=vocab_size, num_classes=num_classes)
  checks.check_choice(model.activation, tuple(BOE_ACTIVATIONS), 'model.activation')
  registry.check_dropout(model)
  registry.check_positive(model, ('embed_dim', 'hidden_sizes'))
  return model


def cnn_builder(module_cls):
  """The builder of a TextCNN (or a subclass): its fields from the config, then its sizes checked."""
  def build(config, vocab_size, num_classes):
    model = registry.from_config(module_cls, config, vocab_size=vocab_size, num_classes=num_classes)
    registry.check_dropout(model)
    registry.check_positive(model, ('embed_dim', 'filter_widths', 'num_filters'))
    if not model.filter_widths:
      raise ValueError('model.filter_widths needs at least one width.')
    return model
  return build


registry.register('cnn')(cnn_builder(TextCNN))


def rnn_classifier_builder(module_cls):
  """The builder of an RNNClassifier (or a subclass): its fields from the config, then checked."""
  def build(config, vocab_size, num_classes):
    model = registry.from_config(module_cls, config, vocab_size=vocab_size, num_classes=num_classes)
    checks.check_choice(model.cell, RNN_CELLS, 'model.cell')
    checks.check_choice(model.pooling, POOLINGS, 'model.pooling')
    registry.check_dropout(model)
    registry.check_positive(model, ('embed_dim', 'hidden_size', 'num_layers'))
    return model
  return build


registry.register('rnn_classifier')(rnn_classifier_builder(RNNClassifier))


def transformer_builder(module_cls):
  """The builder of a _TransformerBase subclass: its fields from the config (and `given` ones), then checked."""
  def build(config, vocab_size, num_classes, **given):
    model = registry.from_config(module_cls, config, vocab_size=vocab_size, num_classes=num_classes, **given)
    checks.check_choice(model.norm, transformer.NORMS, 'model.norm')
    checks.check_choice(model.activation, transformer.ACTIVATIONS, 'model.activation')
    registry.check_dropout(model, ('dropout', 'attention_dropout'))
    registry.check_positive(model, ('max_len', 'width', 'depth', 'num_heads', 'mlp_ratio'))
    if model.width % model.num_heads:
      raise ValueError(f'model.width ({model.width}) must be divisible by model.num_heads ({model.num_heads}).')
    return model
  return build


registry.register('transformer_classifier')(transformer_builder(TransformerClassifier))
registry.register('gpt_classifier')(transformer_builder(GPTClassifier))
