"""Part-of-speech taggers: one output per word (the "many-to-many, synchronized" shape), UPOS and XPOS at once.

Every tagger takes a tagging batch (data/conllu.py: 'tokens', 'length', and for a character model 'chars')
and returns `(logits, crf)`: logits {'upos': (B, T, K_upos), 'xpos': (B, T, K_xpos)} float32, and
with model.crf each tag set's linear-chain CRF parameters {'upos': (transitions_KK, start_K, end_K), ...}
(models/crf.py scores and decodes them), else {}. The two tag sets share the encoder and have a softmax
layer each ('heads'), as in UDPipe.

- 'bilstm_tagger': word embeddings, optionally concatenated with a character BiLSTM's encoding of the word
  (Plank et al. 2016; Ling et al. 2015: the final forward and backward states over its characters), so a
  word outside the vocabulary still has a representation; then stacked BiLSTMs. Its modules are named as
  rnn_classifier's (embed, forward_rnn_i, backward_rnn_i), so a pretrained LSTM's weights load by path.
- 'transformer_tagger': the BERT-style encoder of transformer_classifier (its CLS slot prepended, so the
  positions are those it was pretrained with), every word's output tagged; init_from a masked-LM
  pretraining run fine-tunes it per token.
"""
import flax.linen as nn
import jax.numpy as jnp

from models import attention
from models import classifiers
from models import elmo
from models import precision
from models import registry
from models import rnn

TAG_SETS = ('upos', 'xpos')
# What an LM pretraining run has beyond a tagger (ELMo's: its biLM's softmax).
PRETRAINING_ONLY = ('mlm_head', 'lm_output', 'decoder_rnn_', 'bilm/softmax/')


class TagHeads(nn.Module):
  """A softmax layer per tag set over the encoder's outputs, and (crf) each one's CRF transition scores."""
  num_upos: int
  num_xpos: int
  crf: bool = False
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, h_BTC):
    logits, crf = {}, {}
    for name, size in zip(TAG_SETS, (self.num_upos, self.num_xpos)):
      logits[name] = precision.dense(size, self.dtype, name=name)(h_BTC).astype(jnp.float32)
      if self.crf:
        zeros = nn.initializers.zeros_init()
        crf[name] = (self.param(f'{name}_transitions', zeros, (size, size)),
                     self.param(f'{name}_start', zeros, (size,)), self.param(f'{name}_end', zeros, (size,)))
    return logits, crf


class CharEncoder(nn.Module):
  """A word from its characters: a BiLSTM's last forward and first backward states over them (U, 2H)."""
  num_chars: int
  char_dim: int
  hidden_size: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, chars_BTX):
    """(B, T, X) characters of each word, PAD (0) after its end -> (B, T, 2H)."""
    B, T, X = chars_BTX.shape
    chars_XR = chars_BTX.reshape(B * T, X).T  # Every word a row, its characters the time axis.
    x_XRE = nn.Embed(self.num_chars, self.char_dim, embedding_init=nn.initializers.normal(0.1), name='embed')(chars_XR)
    valid_XR = chars_XR != 0
    layer = lambda name: rnn.RecurrentLayer(self.hidden_size, 'lstm', time_major=True, dtype=self.dtype, name=name)
    h_fwd_XRH, _ = layer('forward')(x_XRE, valid=valid_XR, need_carry=False)
    h_bwd_XRH, _ = layer('backward')(x_XRE, valid=valid_XR, reverse=True, need_carry=False)
    # The forward state after the last character, the backward state after the first (a padding word: zeros).
    last_1R1 = jnp.maximum(valid_XR.sum(0) - 1, 0)[None, :, None]
    h_fwd_RH = jnp.take_along_axis(h_fwd_XRH, last_1R1, axis=0)[0]
    return jnp.concatenate([h_fwd_RH, h_bwd_XRH[0]], axis=-1).reshape(B, T, 2 * self.hidden_size)


class BiLSTMTagger(nn.Module):
  vocab_size: int
  num_upos: int
  num_xpos: int
  num_chars: int = 0
  embed_dim: int = 128
  char_dim: int = 64  # Character embeddings (with char_hidden > 0).
  char_hidden: int = 0  # Per direction of the character BiLSTM; 0 = words only.
  hidden_size: int = 256  # Per direction.
  num_layers: int = 2
  dropout: float = 0.33  # On the word representations, between layers and before the heads.
  crf: bool = False
  # ELMo (models/elmo.py): with elmo_layers > 0 each word also reads the scalar mix of a frozen biLM's layers
  # (loaded by init_from from a task.objective=bilm run of the same elmo_dim and elmo_layers).
  elmo_dim: int = 256
  elmo_layers: int = 0
  dtype: jnp.dtype = jnp.float32  # Of the matmuls' operands; states and logits stay float32.

  def setup(self):
    self.embed = nn.Embed(self.vocab_size, self.embed_dim, embedding_init=nn.initializers.normal(0.1))
    if self.char_hidden:
      self.char_encoder = CharEncoder(self.num_chars, self.char_dim, self.char_hidden, self.dtype)
    if self.elmo_layers:
      self.bilm = elmo.BiLM(self.vocab_size, self.elmo_dim, self.elmo_layers, dtype=self.dtype)
      self.scalar_mix = elmo.ScalarMix()
    layer = lambda: rnn.RecurrentLayer(self.hidden_size, 'lstm', time_major=True, dtype=self.dtype)
    self.forward_rnn = [layer() for _ in range(self.num_layers)]
    self.backward_rnn = [layer() for _ in range(self.num_layers)]
    self.drop = nn.Dropout(self.dropout)
    self.heads = TagHeads(self.num_upos, self.num_xpos, self.crf, self.dtype)

  def __call__(self, batch, train: bool = False):
    drop = lambda x: self.drop(x, deterministic=not train)
    tokens_BT = batch['tokens']
    x_BTE = self.embed(tokens_BT)
    if self.char_hidden:
      x_BTE = jnp.concatenate([x_BTE, self.char_encoder(batch['chars'])], axis=-1)
    if self.elmo_layers:
      elmo_TBD = elmo.frozen_features(self.bilm, self.scalar_mix, tokens_BT, batch['length'])
      x_BTE = jnp.concatenate([x_BTE, jnp.swapaxes(elmo_TBD, 0, 1)], axis=-1)
    valid_TB = attention.length_mask(batch['length'], tokens_BT.shape[1]).T
    h_TBC = rnn.bidirectional_stack(self.forward_rnn, self.backward_rnn, drop(jnp.swapaxes(x_BTE, 0, 1)),
                                    valid_TB, drop)
    return self.heads(drop(jnp.swapaxes(h_TBC, 0, 1)))


class TransformerTagger(classifiers.TransformerClassifier):
  """transformer_classifier's encoder with a tag head per position (its 'output' and 'pool' stay unused)."""
  num_upos: int = 0
  num_xpos: int = 0
  crf: bool = False

  def setup(self):
    super().setup()
    self.heads = TagHeads(self.num_upos, self.num_xpos, self.crf, self.dtype)

  def __call__(self, batch, train: bool = False):
    h_BTC = self.encode(batch['tokens'], batch['length'], train)[:, 1:]  # The CLS slot is not a word.
    return self.heads(self.drop(h_BTC, deterministic=not train))


@registry.register('bilstm_tagger')
def _bilstm_tagger(config, vocab_size, num_upos, num_xpos, num_chars):
  model = registry.from_config(BiLSTMTagger, config, vocab_size=vocab_size, num_upos=num_upos, num_xpos=num_xpos,
                               num_chars=num_chars)
  registry.check_dropout(model)
  registry.check_positive(model, ('embed_dim', 'hidden_size', 'num_layers', 'num_upos', 'num_xpos'))
  if model.char_hidden < 0:
    raise ValueError(f'model.char_hidden must be >= 0 (0 = no character model); got {model.char_hidden}.')
  if model.char_hidden:
    registry.check_positive(model, ('char_dim',))
  if model.elmo_layers < 0:
    raise ValueError(f'model.elmo_layers must be >= 0 (0 = no ELMo); got {model.elmo_layers}.')
  if model.elmo_layers:
    registry.check_positive(model, ('elmo_dim',))
  return model


@registry.register('transformer_tagger')
def _transformer_tagger(config, vocab_size, num_upos, num_xpos, num_chars):
  del num_chars  # Words only.
  build = classifiers.transformer_builder(TransformerTagger)
  model = build(config, vocab_size=vocab_size, num_classes=num_upos, num_upos=num_upos, num_xpos=num_xpos)
  registry.check_positive(model, ('num_upos', 'num_xpos'))
  return model
