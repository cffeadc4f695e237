"""Shared settings of translation on Multi30k task 1, German to English.

Sentencepiece subwords over raw cased text, so output detokenizes exactly and
BLEU (sacrebleu) is taken against the raw references. Batches of sentences are
grouped by length and padded to a multiple of data.pad_multiple.
"""
import ml_collections

from configs import common

VARIANTS = ('', 'tiny')


def get_config(variant=''):
  """variant 'tiny': 200 sentence pairs and a few steps, for tests."""
  common.check_variant(variant, VARIANTS)
  c = common.get_config()
  c.task.name = 'translation'
  c.task.label_smoothing = 0.0  # Target mass spread over the vocabulary (Szegedy et al. 2016).
  # Scheduled sampling (Bengio et al. 2015): the probability eps_i of feeding the reference token at step i
  # decays by this schedule: none (teacher forcing), linear (1 - slope * i), exponential (k ** i),
  # inverse_sigmoid (k / (k + exp(i / k))); it never falls below sampling_min_teacher.
  c.task.sampling_schedule = 'none'
  c.task.sampling_k = 1000.0  # exponential: 0 < k < 1; inverse_sigmoid: k >= 1.
  c.task.sampling_slope = 1e-4  # linear.
  c.task.sampling_min_teacher = 0.75

  c.data.name = 'multi30k'  # multi30k, or files (a corpus of your own: the *_prefix fields).
  c.data.src_lang = 'de'  # File suffixes: PREFIX.de(.gz), PREFIX.en(.gz).
  c.data.tgt_lang = 'en'
  c.data.train_prefix = ''  # files only: paths under data.dir (or absolute) without the language suffix.
  c.data.valid_prefix = ''
  c.data.test_prefix = ''
  c.data.tokenizer = 'bpe'  # bpe, unigram (sentencepiece, cased) or word (lower-cased, punctuation split).
  c.data.vocab_size = 8000  # sentencepiece: ids per vocabulary, the 3 reserved (pad, bos, eos) included.
  c.data.joint_vocab = True  # One vocabulary learned on both languages (needed to share embeddings).
  c.data.min_count = 2  # word: rarer words become <unk>.
  c.data.max_pairs = 0  # Keep only the first N pairs of each split; 0 = all.
  c.data.pad_multiple = 8  # Batch lengths round up to this: fewer shapes to compile.

  c.decode = ml_collections.ConfigDict()
  c.decode.beam_size = 5  # Final evaluation: BLEU with this beam (bleu) and greedy (bleu_greedy).
  c.decode.length_penalty = 0.6  # GNMT's alpha; 0 = plain sum of log-probabilities.
  c.decode.max_len = 0  # Cap on generated tokens; 0 = 1.5 x source length + 10.
  c.decode.bleu_during_training = True  # Greedy valid BLEU at every evaluation (about 1000 sentences).

  c.train.batch_size = 128  # Sentence pairs.
  c.train.num_epochs = 10
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.clip_norm = 1.0
  c.eval.every_steps = 0  # Every epoch.
  c.eval.batch_size = 128
  c.eval.splits = 'valid,test'
  c.checkpoint.every_steps = 100
  c.log.every_steps = 50
  if variant == 'tiny':  # One padded shape per split and short decodes: few compilations.
    c.data.max_pairs = 64
    c.data.vocab_size = 200
    c.data.pad_multiple = 64
    c.train.batch_size = 16
    c.train.num_epochs = 0
    c.train.num_steps = 6
    c.eval.every_steps = 3
    c.eval.batch_size = 64
    c.decode.max_len = 16
    c.checkpoint.every_steps = 2
    c.log.every_steps = 2
    c.decode.beam_size = 2
  return c


def recurrent(c, variant: str):
  """Fields of the recurrent encoder-decoder (models.seq2seq.RNNSeq2Seq); each config sets its variant."""
  c.model.name = 'rnn_seq2seq'
  c.model.cell = 'lstm'  # lstm or gru.
  c.model.embed_dim = 256
  c.model.hidden_size = 512  # Recurrent state width, per direction in the encoder.
  c.model.encoder_layers = 2
  c.model.decoder_layers = 2
  c.model.bidirectional = False  # Encoder.
  c.model.attention = 'none'  # none, additive (Bahdanau), dot (Luong, multiplicative).
  c.model.attention_dim = 512  # additive only.
  c.model.feed_context = False  # The encoder summary enters every decoder step (Cho et al.).
  c.model.deep_output = False  # The softmax reads [state; context; embedding], not the state alone.
  c.model.output_dim = 0  # > 0: a tanh layer of this width before the softmax.
  c.model.reverse_source = False  # Read the source backwards (Sutskever et al.).
  c.model.residual = False  # Residual connections between stacked layers (GNMT).
  c.model.dropout = 0.5  # On embeddings, between layers and before the softmax.
  c.model.share_embeddings = False  # Source and target embeddings are one table (joint vocabulary).
  c.model.dtype = 'float32'  # float32 or bfloat16 matmul operands; params, states, logits: float32 (precision.py).
  if variant == 'tiny':
    c.model.embed_dim, c.model.hidden_size, c.model.attention_dim = 8, 16, 16
  return c
