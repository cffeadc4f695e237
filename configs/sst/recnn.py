"""The recursive network of Socher et al. (2011) on the treebank, as Socher et al. (2013) trained it for
their Table 1: the RNTN's recipe (configs/sst/rntn.py) without the tensor. Paper: 43.2 fine-grained, 82.4
binary root accuracy.

  python train.py --config=configs/sst/recnn.py --workdir=runs/sst/recnn [--config.data.name=sst2_trees]
"""
from configs.sst import rntn

VARIANTS = rntn.VARIANTS


def get_config(variant=''):
  c = rntn.get_config(variant)
  c.model.cell = 'recnn'
  return c
