"""Kim (2014) CNN-rand: random 300-d word vectors, filter widths 3, 4, 5 with 100 maps each, ReLU,
max-over-time pooling, dropout 0.5, max-norm 3 on the output weights, Adadelta (ρ 0.95), batch 50.
As Kim's code (conv_net_sentence.py, process_data.py) runs it: its text preprocessing; each sentence padded
with zero vectors on both sides (wide convolutions), windows of padding alone in the max; dropout in the
paper's form (features scaled at test), so max-norm bounds the same weights; a zero output layer; batches
of uniformly random sentences; of equally accurate valid epochs, the later one. One departure, chosen on
SST-2 dev (README): the convolutions start from Theano LeNet's Glorot-uniform kernels, which Kim's code
draws for tanh, not its U(-0.01, 0.01) for ReLU (`model.init_scheme=kim`).

  python train.py --config=configs/classify/kim_cnn.py --workdir=runs/classify/kim_cnn
"""
from configs.classify import common


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'kim_cnn'
  c.model.embed_dim = 300
  c.model.filter_widths = (3, 4, 5)
  c.model.num_filters = 100
  c.model.dropout = 0.5
  c.model.wide = True  # Kim's code's w - 1 zero vectors on both sides of each sentence; False: narrow.
  c.model.pad_window = True  # A window of zero vectors alone joins each max (Kim's code pads every row far).
  c.model.dropout_at_test = True  # Kept units unscaled in training, features x (1 - p) at test: max-norm as Kim.
  c.model.init_scheme = 'lenet'  # Glorot-uniform conv kernels, a zero output layer; 'kim': U(+-0.01) kernels.
  c.model.init_len = 64  # The padded row length that LeNet's conv fan_out assumes (MR in Kim's code).
  c.data.clean = 'kim'  # Kim's code's preprocessing (clean_str) of MR and SST-2.
  c.task.max_norm = 3.0
  c.data.min_len = 5  # The widest filter.
  c.data.pool_batches = 1  # Kim's random batches, not length-grouped ones.
  c.eval.select_ties = 'later'  # Kim's code keeps the later of equally accurate valid epochs (>=).
  c.optimizer.name = 'adadelta'
  c.optimizer.learning_rate = 1.0
  c.optimizer.rho = 0.95
  c.optimizer.eps = 1e-6
  c.train.num_epochs = 25
  if variant == 'tiny':
    c.model.embed_dim, c.model.num_filters = 16, 4
  return c
