"""Kim (2014) CNN-rand as Kim's code runs it (github.com/yoonkim/CNN_sentence), registered as 'kim_cnn'.

The architecture is classifiers.TextCNN's (filter widths 3, 4, 5 x 100 maps, ReLU, max over time, dropout,
softmax); the pieces below follow Kim's code, each measured on SST-2 to help (docs/results/kim_cnn.md):
- Wide windows and a window of padding in every max (conv_net_sentence.py `get_idx_from_sent`): each
  sentence gets w_max - 1 zero vectors before it and is padded with zeros to the data's longest sentence
  plus w_max - 1 after it, and index 0 is a zero vector. So every token is in w windows of width w, the
  first and last included, and nearly every row also has windows of zero vectors alone: each feature is
  at least relu(b), and the bias learns from the sentences whose real windows stay below it. Here a row is
  padded only as far as its batch needs, and relu(b) joins every max explicitly, so the features do not
  depend on how far a row is padded.
- Dropout in the paper's form (conv_net_classes.py `MLPDropout`): kept units are not rescaled in training,
  and at test the output layer reads its weights times 1 - p (here: the features times 1 - p). Under
  task.max_norm this differs from inverted dropout: the norm bounds weights that see unscaled features.
- Theano LeNet's convolution init (conv_net_classes.py `LeNetConvPoolLayer`, its branch for tanh):
  kernels U(+-sqrt(6 / (fan_in + fan_out))) with fan_in = w D and fan_out = C w D / (init_len - w + 1),
  the pooled length of rows padded to `init_len` (64 on MR in Kim's code: 56 tokens and 2 x 4 zero
  vectors); biases zero. Kim's code draws its ReLU kernels from U(-0.01, 0.01) instead, which dev
  accuracy preferred less. The output layer starts at zero (`LogisticRegression`), the random word
  vectors U(-0.25, 0.25) (process_data.py `add_unknown_words`).
Kim's text preprocessing (process_data.py `clean_str`) is data/kim_text.py, selected by data.clean='kim';
configs/classify/kim_cnn.py holds the rest of the recipe (max-norm 3, Adadelta, random batches of 50).
Mixed precision as TextCNN's (`dtype`): bfloat16 operands in the convolutions and the output layer, float32
results; the padding window's relu(bias) is the float32 bias.
"""
import flax.linen as nn
import jax
import jax.numpy as jnp

from models import attention
from models import classifiers
from models import precision
from models import registry


def _lenet_conv_uniform(pooled_len: int):
  """Theano LeNet's uniform kernel init of a (w, D, C) convolution max-pooled over pooled_len positions."""
  def init(key, shape, dtype=jnp.float32):
    w, d, c = shape
    fan_in, fan_out = w * d, c * w * d / pooled_len
    bound = (6.0 / (fan_in + fan_out)) ** 0.5
    return jax.random.uniform(key, shape, dtype, -bound, bound)
  return init


class KimCNN(classifiers.TextCNN):
  """TextCNN with Kim's code's wide windows, padding window, dropout form and init (module docstring)."""
  init_len: int = 64  # The padded row length that LeNet's fan_out assumes.

  def setup(self):
    self.embed = nn.Embed(self.vocab_size, self.embed_dim, embedding_init=classifiers.symmetric_uniform(0.25))
    self.convs = [precision.conv(self.num_filters, (w,), self.dtype, padding='VALID',
                                 kernel_init=_lenet_conv_uniform(self.init_len - w + 1)) for w in self.filter_widths]
    self.drop = nn.Dropout(self.dropout)
    self.output = precision.dense(self.num_classes, self.dtype, kernel_init=nn.initializers.zeros)

  def features(self, tokens_BT, length_B, train: bool = False):
    del train  # Dropout comes after the pooled features.
    pad = max(self.filter_widths) - 1
    x_BTD = self.embed(tokens_BT) * attention.length_mask(length_B, tokens_BT.shape[1])[..., None]
    x_BTD = jnp.pad(x_BTD, ((0, 0), (pad, pad), (0, 0)))
    pooled = []
    for conv in self.convs:
      # Every window holds a real token or zero vectors alone (relu(bias)); the padding window joins
      # explicitly, since the widest filter over a full row has none. An empty row pools to relu(bias).
      h_BPC = jax.nn.relu(conv(x_BTD))
      pooled.append(jnp.maximum(jnp.max(h_BPC, axis=1), jax.nn.relu(conv.variables['params']['bias'])))
    return jnp.concatenate(pooled, axis=-1)

  def __call__(self, tokens_BT, length_B, train: bool = False):
    x_BC = self.drop(self.features(tokens_BT, length_B, train), deterministic=not train)
    # Training: inverted dropout's kept units back to their own size; test: the features times 1 - p.
    return self.output(x_BC * (1.0 - self.dropout)).astype(jnp.float32)


@registry.register('kim_cnn')
def _kim_cnn(config, vocab_size, num_classes):
  model = classifiers.cnn_builder(KimCNN)(config, vocab_size, num_classes)
  if model.init_len < max(model.filter_widths):
    raise ValueError(f'model.init_len ({model.init_len}) must be at least the widest filter '
                     f'({max(model.filter_widths)}).')
  return model
