"""Translation started from BART (Lewis et al. 2019, section 3.4, in its simplest form): the encoder-decoder of
configs/pretrain/bart.py (2 + 2 layers, width 256, learned positions) with its denoising-pretrained layers;
the target embedding is BART's for the target words its (English) vocabulary holds, the source embedding is
fresh for German (tasks/translation.py, TranslationTask.adapt_pretrained). Word tokens on both sides, as BART's;
otherwise configs/mt/transformer.py's recipe at half its learning rate.

  python train.py --config=configs/pretrain/bart.py --workdir=runs/pretrain/bart
  python train.py --config=configs/mt/bart.py --workdir=runs/mt/bart --config.init_from=runs/pretrain/bart

Without init_from it trains the same model from scratch, the comparison's other half.
"""
from configs.classify import bart
from configs.mt import transformer


def get_config(variant=''):
  c = transformer.get_config(variant)
  bart.architecture(c, variant)
  c.model.share_embeddings = False  # German source, English target: an embedding each.
  c.data.tokenizer = 'word'
  c.data.joint_vocab = False
  c.optimizer.learning_rate = 5e-4
  return c
