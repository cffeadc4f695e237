"""Transformer encoder with a [CLS] token (BERT-style, small): 4 layers, width 256, 4 heads.

  python train.py --config=configs/classify/transformer.py --workdir=runs/classify/transformer
  # fine-tuned from masked-LM pretraining:
  python train.py --config=configs/classify/transformer.py --workdir=runs/classify/transformer_ft \
      --config.init_from=runs/pretrain/mlm
"""
from configs.classify import common


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'transformer_classifier'
  c.model.max_len = 128  # Positions, the [CLS] slot included.
  c.model.width = 256
  c.model.depth = 4
  c.model.num_heads = 4
  c.model.mlp_ratio = 4
  c.model.norm = 'pre'
  c.model.activation = 'gelu'
  c.model.dropout = 0.1
  c.model.attention_dropout = 0.1
  c.model.pooler = False
  c.model.segments = False  # BERT's segment embeddings (A, then B after a SEP): true to fine-tune an NSP run.
  c.model.dtype = 'float32'  # float32 or bfloat16 matmul operands; params, states, logits: float32 (precision.py).
  recipe(c, variant)
  if variant == 'tiny':
    c.model.width, c.model.depth, c.model.num_heads, c.model.max_len = 16, 1, 2, 64
  return c


def recipe(c, variant: str):
  """The Transformers' data and optimizer fields (this encoder's, the BART classifier's): 127 tokens (128
  positions with the [CLS] slot), AdamW 1e-4 with warm-up and cosine decay."""
  c.data.max_len = 127 if variant != 'tiny' else 63
  c.data.min_count = 2
  c.optimizer.name = 'adamw'
  c.optimizer.learning_rate = 1e-4
  c.optimizer.weight_decay = 0.01
  c.schedule.name = 'warmup_cosine'
  c.schedule.warmup_steps = 100 if variant != 'tiny' else 2
  return c
