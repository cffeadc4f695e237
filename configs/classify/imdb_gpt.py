"""GPT-1-style classifier (configs/classify/gpt.py) on IMDB reviews, read as configs/classify/imdb_lstm.py
reads them: each review's first 400 tokens, so the model has 400 positions.

  python train.py --config=configs/classify/imdb_gpt.py --workdir=runs/classify/imdb_gpt
"""
from configs.classify import common
from configs.classify import gpt


def get_config(variant=''):
  c = common.imdb(gpt.get_config(variant), variant, max_len=400 if not variant else 64)
  c.model.max_len = c.data.max_len
  return c
