"""A plain text CNN (model 'cnn', models/classifiers.py TextCNN) with Kim's (2014) hyper-parameters: random 300-d
word vectors, filter widths 3, 4, 5 with 100 maps each, narrow windows, ReLU, max over time, inverted dropout 0.5,
max-norm 3 on the output weights, Adadelta (ρ 0.95), batch 50; length-grouped batches, the text as written.
configs/classify/kim_cnn.py is the same recipe as Kim's code runs it.

  python train.py --config=configs/classify/cnn.py --workdir=runs/classify/cnn [--config.data.name=mr]

This setting, run as the `kim_cnn` config of November 2026 (docs/results/kim_cnn.md, "SST-2 before any of
Kim's code's details"): SST-2 seed 0, 25 epochs, 4.81M parameters, best dev 78.10, test 78.80; not rerun since.
"""
from configs.classify import common


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'cnn'
  c.model.embed_dim = 300
  c.model.filter_widths = (3, 4, 5)
  c.model.num_filters = 100
  c.model.dropout = 0.5
  c.model.dtype = 'float32'  # float32 or bfloat16 matmul operands; params, states, logits: float32 (precision.py).
  c.task.max_norm = 3.0
  c.data.min_len = 5  # The widest filter.
  c.optimizer.name = 'adadelta'
  c.optimizer.learning_rate = 1.0
  c.optimizer.rho = 0.95
  c.optimizer.eps = 1e-6
  c.train.num_epochs = 25
  if variant == 'tiny':
    c.model.embed_dim, c.model.num_filters = 16, 4
  return c
