"""BART (Lewis et al. 2019): the Transformer encoder-decoder (seq2seq.TransformerSeq2Seq, one vocabulary, shared
and tied embeddings) pretrained to reconstruct documents from a corrupted copy, then fine-tuned to classify.

- `denoise_logits(source_BS, source_len_B, tokens_BT, length_B)`: the encoder reads the corrupted source, the
  decoder reads [CLS] + the original tokens (teacher forcing); logits[:, t] predicts token t (B, T, V).
- `__call__(tokens_BT, length_B)`: classification the BART way (section 3.1): the same tokens go to the encoder
  and, after [CLS], to the decoder, whose state after the last real token (position length) is classified by
  'output' (the classifiers' head name, so every classification tool reads it).

`init(..., method='denoise_logits')` creates every parameter but the head; a classifier fine-tuned from a
pretraining run (init_from) loads them path by path and starts its head fresh.
"""
import flax.linen as nn
import jax.numpy as jnp

from models import classifiers
from models import precision
from models import registry
from models import seq2seq


class BARTClassifier(seq2seq.TransformerSeq2Seq):
  num_classes: int = 2

  def setup(self):
    super().setup()
    self.output = precision.dense(self.num_classes, self.dtype, kernel_init=nn.initializers.normal(0.02))

  def _decoder_input(self, tokens_BT):
    return jnp.concatenate([jnp.full_like(tokens_BT[:, :1], classifiers.CLS), tokens_BT], axis=1)

  def denoise_logits(self, source_BS, source_len_B, tokens_BT, length_B, train: bool = False):
    del length_B  # Causal: a position never reads the padding after it; the loss weighs the real ones.
    memory_BSC, valid_BS = self.encode(source_BS, source_len_B, train)
    return self._teacher_forced(memory_BSC, valid_BS, self._decoder_input(tokens_BT)[:, :-1], train)

  def features(self, tokens_BT, length_B, train: bool = False):
    memory_BSC, valid_BS = self.encode(tokens_BT, length_B, train)
    h_BTC = self.teacher_forced_states(memory_BSC, valid_BS, self._decoder_input(tokens_BT), train)
    return jnp.take_along_axis(h_BTC, length_B[:, None, None], axis=1)[:, 0]  # After the last real token.

  def __call__(self, tokens_BT, length_B, train: bool = False):
    x_BC = self.drop(self.features(tokens_BT, length_B, train), deterministic=not train)
    return self.output(x_BC).astype(jnp.float32)


@registry.register('bart_classifier')
def _bart_classifier(config, vocab_size, num_classes):
  model = seq2seq.transformer_seq2seq_builder(BARTClassifier)(config, vocab_size, vocab_size, num_classes=num_classes)
  if not (model.share_embeddings and model.tie_output):
    raise ValueError('model.name=bart_classifier reads one vocabulary: model.share_embeddings and '
                     'model.tie_output must be true.')
  return model
