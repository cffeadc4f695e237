"""Pure architectures, reached through `models.build(config.model)`.

Shape letters. Arrays in the hot code carry their shape in their name, one letter per axis (`logits_BTV`,
`q_BTNQ`), and einsums write the same letters in lower case. One letter, one meaning, everywhere in seqlab:

  B  batch                      T  time: the positions a model reads and outputs (a target's length)
  S  source: positions read or attended to besides T (a translation's source, keys, a longer history)
  L  a fixed length: a buffer, a cache or a decoded sequence (max_len), a stream's row before windowing
  V  vocabulary                 K  classes
  C  model width: the features a model passes on (a transformer's residual stream, a classifier's
     features, a convolution's channels)
  D  a layer's input width      E  embedding width
  H  hidden (recurrent) width   G  a recurrent kernel's gate columns, G = 4H (LSTM), 3H (GRU) or H
  M  encoder memory width       A  additive-attention width (Bahdanau et al.)
  N  attention heads            Q  head dim: the query, key and value width of one head
  F  feed-forward width         O  regression outputs
  P  a convolution's window positions
  W  beam width (2W: the candidates of a beam step)
  R  rows that are not one batch: B·W beams, T·B steps flattened, a dataset's examples
  J  the nodes of one tree (post-order)    U  the node slots of one tree level (a recursive scan step)
  Z  a recursive node's state (D, or a Tree-LSTM's h; c, 2H)
  X  the characters of one word (a tagger's character model)
  1  a broadcast axis; other digits count blocks of the next letter (`gates_B4H`: 4 gates of H)
Layers and steps per call have no letter; their counts are spelled out.

Compute dtype: every trained model has a `dtype` field (model.dtype, 'float32' or 'bfloat16'); what each one
computes in bfloat16 and what stays float32, and why, is the table in models/precision.py.
"""
from models import classifiers  # noqa: F401  (registers its models)
from models import bart  # noqa: F401
from models import elmo  # noqa: F401
from models import forecasters  # noqa: F401
from models import kim_cnn  # noqa: F401
from models import lm  # noqa: F401
from models import ngram  # noqa: F401
from models import recursive  # noqa: F401
from models import seq2seq  # noqa: F401
from models import taggers  # noqa: F401
from models import transformer  # noqa: F401
from models.registry import build, is_count_based, names  # noqa: F401
