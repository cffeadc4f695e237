"""Transformer encoder-decoder (Vaswani et al. 2017) at the size of the PyTorch tutorial's: 3+3 layers,
width 256, 8 heads, feed-forward 512.

  python train.py --config=configs/mt/transformer.py --workdir=runs/mt/transformer

Target: test BLEU >= 36.5 (beam 5) at <= 9.0M parameters.
"""
from configs.mt import common


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'transformer_seq2seq'
  c.model.width = 256
  c.model.encoder_layers = 3
  c.model.decoder_layers = 3
  c.model.num_heads = 8
  c.model.mlp_ratio = 2  # Feed-forward width / width.
  c.model.norm = 'pre'  # pre or post (Vaswani et al.).
  c.model.activation = 'relu'  # relu or gelu.
  c.model.positional = 'sinusoidal'  # sinusoidal, learned or none.
  c.model.dropout = 0.1  # On embeddings and residual branches.
  c.model.attention_dropout = 0.1
  c.model.use_bias = True
  c.model.share_embeddings = True  # Needs data.joint_vocab.
  c.model.tie_output = True  # The softmax reuses the target embedding.
  c.model.dtype = 'float32'
  c.model.max_len = 128  # Positions, source and target.
  c.train.num_epochs = 20
  c.task.label_smoothing = 0.1
  c.optimizer.name = 'adamw'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.b2 = 0.98
  c.optimizer.weight_decay = 0.01
  c.schedule.name = 'warmup_cosine'
  c.schedule.warmup_steps = 500
  c.schedule.end_learning_rate = 1e-5
  if variant == 'tiny':
    c.model.width, c.model.num_heads, c.model.encoder_layers, c.model.decoder_layers = 16, 2, 1, 1
    c.schedule.warmup_steps = 2
  return c
