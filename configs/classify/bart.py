"""BART-style classifier (Lewis et al. 2019; models/bart.py): a Transformer encoder-decoder, 2 + 2 layers (the
budget of configs/classify/transformer.py's 4-layer encoder), width 256, one vocabulary with shared and tied embeddings; the decoder's state after the last token is classified.
Fine-tune it from denoising pretraining (configs/pretrain/bart.py):

  python train.py --config=configs/classify/bart.py --workdir=runs/classify/bart \
      --config.init_from=runs/pretrain/bart
"""
from configs.classify import common
from configs.classify import transformer


def architecture(c, variant=''):
  """BART's encoder-decoder shape (models.seq2seq.TransformerSeq2Seq fields); the translation config that
  starts from a BART run (configs/mt/bart.py) takes the same."""
  c.model.max_len = 128  # Positions of each side; the decoder's [CLS] takes one.
  c.model.width = 256
  c.model.encoder_layers = 2
  c.model.decoder_layers = 2
  c.model.num_heads = 4
  c.model.mlp_ratio = 4
  c.model.norm = 'pre'
  c.model.activation = 'gelu'
  c.model.positional = 'learned'
  c.model.dropout = 0.1
  c.model.attention_dropout = 0.1
  c.model.use_bias = True
  c.model.share_embeddings = True
  c.model.tie_output = True
  c.model.dtype = 'float32'  # float32 or bfloat16 matmul operands; params, states, logits: float32 (precision.py).
  if variant == 'tiny':
    c.model.width, c.model.encoder_layers, c.model.decoder_layers, c.model.num_heads, c.model.max_len = 16, 1, 1, 2, 64


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'bart_classifier'
  architecture(c, variant)
  transformer.recipe(c, variant)
  return c
