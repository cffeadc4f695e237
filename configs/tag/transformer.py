"""Transformer encoder tagger: configs/classify/transformer.py's encoder (BERT-style, small: 4 layers, width
256, 4 heads), every word's output tagged. The same model fields as that config and configs/pretrain/mlm.py,
so a masked-LM pretraining run loads into it (its positions then bound the sentence length).

  python train.py --config=configs/tag/transformer.py --workdir=runs/tag/transformer
  # fine-tuned from masked-LM pretraining, whose positions must cover EWT's 159-word sentence:
  python train.py --config=configs/pretrain/mlm.py --workdir=runs/pretrain/mlm256 --config.model.max_len=256
  python train.py --config=configs/tag/transformer.py --workdir=runs/tag/transformer_ft \
      --config.init_from=runs/pretrain/mlm256
"""
from configs.classify import transformer
from configs.tag import common

VARIANTS = common.VARIANTS


def get_config(variant=''):
  c = common.get_config(variant)
  c.model = transformer.get_config(variant).model
  c.model.name = 'transformer_tagger'
  c.model.crf = False
  if not variant:
    c.model.max_len = 256  # Positions, the [CLS] slot included: EWT's longest sentence has 159 words.
  c.optimizer.name = 'adamw'
  c.optimizer.learning_rate = 5e-4
  c.optimizer.b2 = 0.98
  c.optimizer.weight_decay = 0.01
  c.schedule.warmup_steps = 2 if variant == 'tiny' else 1000
  return c
