"""BERT's two pretraining objectives for configs/classify/transformer.py's encoder: masked LM and next-sentence
prediction (Devlin et al. 2018), on pairs of IMDB review sentences (half of them consecutive).

  python train.py --config=configs/pretrain/mlm_nsp.py --workdir=runs/pretrain/mlm_nsp
  python train.py --config=configs/classify/transformer.py --workdir=runs/classify/transformer_nsp \
      --config.init_from=runs/pretrain/mlm_nsp --config.model.segments=true
"""
from configs.pretrain import mlm


def get_config(variant=''):
  c = mlm.get_config(variant)
  c.task.nsp = True
  c.model.segments = True
  c.data.pretrain_corpus = 'imdb'  # Reviews are the documents whose consecutive sentences make true pairs.
  c.data.clean = 'lowercase_split'
  return c
