"""ELMo (Peters et al. 2018): a bidirectional LSTM language model whose layers, frozen, feed a task model.

BiLM: a token embedding, a stack of forward LSTMs and a separate stack of backward LSTMs (a forward layer reads
only forward layers, so no layer of the forward LM has seen the tokens it predicts), and one softmax shared by
both directions: forward states at t predict token t+1, backward states at t predict token t-1.

ELMoClassifier: the BiLSTM classifier (classifiers.RNNClassifier) whose input at each token is its own word
embedding concatenated with ELMo_t = γ Σ_j s_j h_{t,j}: the biLM's layer j (j = 0 the token embedding, written
twice to match the LSTM layers' forward+backward width), s = softmax(w) over the L + 1 layers, w and γ learned
(Peters et al. eq. 1; the submodule scalar_mix). The biLM runs without dropout and under stop_gradient, so fine-tuning leaves it frozen
(its gradients are zero; Adam then moves it by exactly 0).

Pretrain with task.objective=bilm (`init(..., method='bilm_logits')` creates the biLM's parameters alone, under
'bilm/'), then fine-tune the same config with init_from: the biLM comes from the pretrained run, the rest fresh.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from models import attention
from models import classifiers
from models import precision
from models import registry
from models import rnn


class BiLM(nn.Module):
  vocab_size: int
  dim: int = 256  # Token embedding width = LSTM width per direction.
  num_layers: int = 2
  dropout: float = 0.1
  dtype: jnp.dtype = jnp.float32

  def setup(self):
    self.embed = nn.Embed(self.vocab_size, self.dim, embedding_init=nn.initializers.normal(0.1))
    layer = lambda: rnn.RecurrentLayer(self.dim, 'lstm', time_major=True, dtype=self.dtype)
    self.forward_rnn = [layer() for _ in range(self.num_layers)]
    self.backward_rnn = [layer() for _ in range(self.num_layers)]
    self.softmax = precision.dense(self.vocab_size, self.dtype)
    self.drop = nn.Dropout(self.dropout)

  def layers(self, tokens_BT, length_B, train: bool = False) -> list:
    """The L + 1 representations (T, B, 2·dim), zeros at padding: the embedding twice, then each layer's forward
    and backward states (forward half first)."""
    drop = lambda x: self.drop(x, deterministic=not train)
    valid_TB = attention.length_mask(length_B, tokens_BT.shape[1]).T
    e_TBD = self.embed(tokens_BT.T) * valid_TB[..., None]
    outputs = [jnp.concatenate([e_TBD, e_TBD], axis=-1)]
    forward_TBD = backward_TBD = drop(e_TBD)
    for forward, backward in zip(self.forward_rnn, self.backward_rnn):
      h_forward_TBD, _ = forward(forward_TBD, valid=valid_TB, need_carry=False)
      h_backward_TBD, _ = backward(backward_TBD, valid=valid_TB, reverse=True, need_carry=False)
      outputs.append(jnp.concatenate([h_forward_TBD, h_backward_TBD], axis=-1))
      forward_TBD, backward_TBD = drop(h_forward_TBD), drop(h_backward_TBD)
    return outputs

  def __call__(self, tokens_BT, length_B, train: bool = False):
    """(forward logits, backward logits), each (B, T, V) float32: [:, t] predicts token t+1, resp. t-1."""
    top_TBH = self.layers(tokens_BT, length_B, train)[-1]
    top_TBH = self.drop(top_TBH, deterministic=not train)
    logits = [jnp.swapaxes(self.softmax(half), 0, 1).astype(jnp.float32) for half in jnp.split(top_TBH, 2, axis=-1)]
    return tuple(logits)


class ScalarMix(nn.Module):
  """γ Σ_j softmax(w)_j h_j over a list of same-shaped layers; w starts at 0 (an even mix), γ at 1."""

  @nn.compact
  def __call__(self, layers: list):
    weights = jax.nn.softmax(self.param('weights', nn.initializers.zeros_init(), (len(layers),)))
    gamma = self.param('gamma', nn.initializers.ones_init(), ())
    return gamma * sum(w * h for w, h in zip(weights, layers))


def frozen_features(bilm: BiLM, scalar_mix: ScalarMix, tokens_BT, length_B):
  """(T, B, 2·dim) ELMo's features: the scalar mix of the biLM's layers, run without dropout and without
  gradient (the biLM stays as pretrained)."""
  return scalar_mix([jax.lax.stop_gradient(h) for h in bilm.layers(tokens_BT, length_B, train=False)])


class ELMoClassifier(classifiers.RNNClassifier):
  elmo_dim: int = 256
  elmo_layers: int = 2
  elmo_dropout: float = 0.1  # The biLM's, in pretraining; fine-tuning runs it without.

  def setup(self):
    super().setup()
    self.bilm = BiLM(self.vocab_size, self.elmo_dim, self.elmo_layers, self.elmo_dropout, self.dtype)
    self.scalar_mix = ScalarMix()  # A submodule: its parameters exist only where it runs (not in pretraining).

  def elmo(self, tokens_BT, length_B):
    return frozen_features(self.bilm, self.scalar_mix, tokens_BT, length_B)

  def token_features(self, tokens_BT, length_B, train: bool = False):
    x_TBD = jnp.concatenate([self.embed(tokens_BT.T), self.elmo(tokens_BT, length_B)], axis=-1)
    return self.drop(x_TBD, deterministic=not train)

  def bilm_logits(self, tokens_BT, length_B, train: bool = False):
    return self.bilm(tokens_BT, length_B, train)


@registry.register('elmo_classifier')
def _elmo_classifier(config, vocab_size, num_classes):
  model = classifiers.rnn_classifier_builder(ELMoClassifier)(config, vocab_size, num_classes)
  registry.check_positive(model, ('elmo_dim', 'elmo_layers'))
  if not model.bidirectional:
    raise ValueError('model.name=elmo_classifier is a BiLSTM classifier: model.bidirectional must be true.')
  return model
