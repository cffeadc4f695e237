"""GPT-1-style classifier: a causal Transformer read at the last real token (4 layers, width 256).

  python train.py --config=configs/classify/gpt.py --workdir=runs/classify/gpt \
      --config.init_from=runs/pretrain/gpt --config.task.lm_weight=0.5
"""
from configs.classify import transformer


def get_config(variant=''):
  c = transformer.get_config(variant)
  c.model.name = 'gpt_classifier'
  del c.model.pooler
  c.model.max_len = c.data.max_len = 128 if not variant else 64
  return c
