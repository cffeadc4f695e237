"""Kim (2014) CNN-rand: random 300-d word vectors, filter widths 3, 4, 5 with 100 maps each, ReLU,
max-over-time pooling, dropout 0.5, max-norm 3 on the output weights, Adadelta (ρ 0.95), batch 50.
As Kim's code (conv_net_sentence.py, process_data.py) runs it: the model 'kim_cnn' (models/kim_cnn.py: wide
windows, a window of padding in every max, the paper's dropout, Theano LeNet's init and a zero output layer),
its text preprocessing (data.clean='kim', data/kim_text.py) and batches of uniformly random sentences.
Results, and the details of Kim's code measured and left out: docs/results/kim_cnn.md.

  python train.py --config=configs/classify/kim_cnn.py --workdir=runs/classify/kim_cnn
"""
from configs.classify import cnn


def get_config(variant=''):
  c = cnn.get_config(variant)  # Kim's hyper-parameters; what his code adds:
  c.model.name = 'kim_cnn'
  c.model.init_len = 64  # The padded row length that LeNet's conv fan_out assumes (MR in Kim's code).
  c.data.clean = 'kim'  # Kim's code's preprocessing (clean_str) of MR and SST-2.
  c.data.pool_batches = 1  # Kim's random batches, not length-grouped ones.
  return c
