"""Transformer encoder tagger (BERT-style, small): 4 layers, width 256, 4 heads, every word's output tagged.

  python train.py --config=configs/tag/transformer.py --workdir=runs/tag/transformer
  # fine-tuned from masked-LM pretraining (its model fields must match; sentences up to model.max_len - 1 words):
  python train.py --config=configs/tag/transformer.py --workdir=runs/tag/transformer_ft \
      --config.init_from=runs/pretrain/mlm
"""
from configs.tag import common

VARIANTS = common.VARIANTS


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'transformer_tagger'
  c.model.max_len = 256  # Positions, the [CLS] slot included: EWT's longest sentence has 159 words.
  c.model.width = 256
  c.model.depth = 4
  c.model.num_heads = 4
  c.model.mlp_ratio = 4
  c.model.norm = 'pre'
  c.model.activation = 'gelu'
  c.model.dropout = 0.1
  c.model.attention_dropout = 0.1
  c.model.pooler = False
  c.optimizer.name = 'adamw'
  c.optimizer.learning_rate = 5e-4
  c.optimizer.b2 = 0.98
  c.optimizer.weight_decay = 0.01
  c.schedule.name = 'warmup_cosine'
  c.schedule.warmup_steps = 1000
  if variant == 'tiny':
    c.model.width, c.model.depth, c.model.num_heads, c.model.max_len = 16, 1, 2, 64
    c.schedule.warmup_steps = 2
  return c
