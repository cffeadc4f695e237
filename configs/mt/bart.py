"""Translation started from BART (Lewis et al. 2019, section 3.4, in its simplest form): the encoder-decoder of
configs/pretrain/bart.py (2 + 2 layers, width 256, learned positions) with its denoising-pretrained layers;
the target embedding is BART's for the target words its (English) vocabulary holds, the source embedding is
fresh for German (tasks/translation.py, TranslationTask.adapt_pretrained). Word tokens on both sides, as BART's.

  python train.py --config=configs/pretrain/bart.py --workdir=runs/pretrain/bart
  python train.py --config=configs/mt/bart.py --workdir=runs/mt/bart --config.init_from=runs/pretrain/bart

Without init_from it trains the same model from scratch, the comparison's other half.
"""
from configs.mt import common


def get_config(variant=''):
  c = common.get_config(variant)
  c.model.name = 'transformer_seq2seq'
  c.model.width = 256
  c.model.encoder_layers = 2
  c.model.decoder_layers = 2
  c.model.num_heads = 4
  c.model.mlp_ratio = 4
  c.model.norm = 'pre'
  c.model.activation = 'gelu'
  c.model.positional = 'learned'
  c.model.dropout = 0.1
  c.model.attention_dropout = 0.1
  c.model.use_bias = True
  c.model.share_embeddings = False  # German source, English target: an embedding each.
  c.model.tie_output = True
  c.model.dtype = 'float32'
  c.model.max_len = 128  # BART's positions.
  c.data.tokenizer = 'word'
  c.data.joint_vocab = False
  c.train.num_epochs = 20
  c.task.label_smoothing = 0.1
  c.optimizer.name = 'adamw'
  c.optimizer.learning_rate = 5e-4
  c.optimizer.b2 = 0.98
  c.optimizer.weight_decay = 0.01
  c.schedule.name = 'warmup_cosine'
  c.schedule.warmup_steps = 500
  c.schedule.end_learning_rate = 1e-5
  if variant == 'tiny':  # BART's tiny shape (configs/classify/bart.py).
    c.model.width, c.model.num_heads, c.model.encoder_layers, c.model.decoder_layers = 16, 2, 1, 1
    c.model.max_len = 64
    c.schedule.warmup_steps = 2
  return c
