"""Part-of-speech tagging (task 'tag'): a UPOS and an XPOS tag for every word of a CoNLL-U treebank.

The loss is the sum of the two tag sets' mean per-word cross-entropies (with model.crf, each set's CRF
negative log-likelihood of whole sentences, summed and divided by the words). Metrics, in %: `upos` and
`xpos`, the share of words tagged right (gold tokenization: every word of the file is scored, as the UD
scorer's UPOS/XPOS columns with gold words), and `upos_oov`, `xpos_oov`: the same over the words that the
training split does not hold. A tag the training split never had counts as wrong. With model.crf the tags
are the Viterbi path, else each word's argmax.

`task.word_dropout` = p > 0 replaces each training word by <unk> with probability p, so that the <unk>
embedding (and, in a character model, the characters beside it) learns to stand for unseen words.

The run's tag sets are kept in WORKDIR/tags.json (tag ids are positions there), its words in WORKDIR/vocab
(tasks/classification.run_vocabulary: a pretrained run's when fine-tuning) and its characters in
WORKDIR/chars.
"""
import json
import os

import jax
import jax.numpy as jnp
import optax

from configs import checks
from data import conllu
from data import tokenizers
from models import attention
from models import crf
from models import taggers
from tasks import base
from tasks import classification
from tasks import registry
from training import errors
from training import writers

MODELS = ('bilstm_tagger', 'transformer_tagger')
TAGS_FILE = 'tags.json'
CHAR_RESERVED = ('pad', 'unk')  # Character ids: PAD (0) after a word's end, then <unk> and the characters.


def chars_dir(workdir: str) -> str:
  return os.path.join(workdir, 'chars')


def char_vocabulary(workdir: str, words: list, rebuild_stale: bool, write: bool = True) -> tokenizers.Vocabulary:
  """The characters of the training words, kept in WORKDIR/chars (tokenizers.load_or_build)."""
  return tokenizers.load_or_build_vocabulary(chars_dir(workdir), CHAR_RESERVED, 'char', words, rebuild_stale, write)


def tag_sets(workdir: str, sentences: list, resuming: bool, write: bool = True) -> dict:
  """{'upos': [...], 'xpos': [...]}: the training split's tags, sorted, kept in WORKDIR/tags.json. Another
  run's file is replaced by a new run and refused by a resumed one (its checkpoints index those tags)."""
  tags = {name: conllu.tag_set(sentences, name) for name in taggers.TAG_SETS}
  path = os.path.join(workdir, TAGS_FILE)
  if os.path.exists(path):
    saved = load_tag_sets(workdir)
    if saved == tags:
      return tags
    if resuming:
      raise errors.WorkdirError(f'{path!r} holds the tags of other training data, and the checkpoints beside it '
                                'use them; resume with the data it was trained on, or train into a new workdir.')
  if write:
    os.makedirs(workdir, exist_ok=True)
    writers.write_json(path, tags)
  return tags


def load_tag_sets(workdir: str) -> dict:
  with open(os.path.join(workdir, TAGS_FILE)) as f:
    return json.load(f)


def decode(logits, crf_params, length_B):
  """{'upos': (B, T), 'xpos': (B, T)} int32 tag ids: Viterbi paths with a CRF, else per-word argmax."""
  return {name: (crf.viterbi(logits[name], *crf_params[name], length_B) if crf_params
                 else jnp.argmax(logits[name], -1).astype(jnp.int32)) for name in taggers.TAG_SETS}


def predict(model, params, batch):
  logits, crf_params = model.apply({'params': params}, batch)
  return decode(logits, crf_params, batch['length'])


@registry.register('tag')
class TaggingTask(base.Task):
  supports_norm_stabilizer = True
  datasets = conllu.DATASETS
  placeholder_dims = {'vocab_size': 16, 'num_upos': 4, 'num_xpos': 4, 'num_chars': 8}
  pretraining_only = taggers.PRETRAINING_ONLY

  @staticmethod
  def check_config(config):
    checks.check_choice(config.model.name, MODELS, 'model.name (task.name=tag)')
    if not 0 <= config.task.word_dropout < 1:
      raise ValueError(f'task.word_dropout must be in [0, 1); got {config.task.word_dropout}.')
    if config.data.max_word_len < 2:
      raise ValueError(f'data.max_word_len must be >= 2 (characters kept per word); got {config.data.max_word_len}.')
    if config.data.pool_batches < 1:
      raise ValueError(f'data.pool_batches must be >= 1; got {config.data.pool_batches}.')

  def __init__(self, config, workdir: str, resuming: bool = False):
    self.config = config
    self.sentences = conllu.load_splits(config.data)
    train = self.sentences['train']
    write = jax.process_index() == 0
    lowercase = config.data.get('lowercase', False)
    self.vocab = classification.run_vocabulary(config, workdir, [conllu.word_text(s.words, lowercase) for s in train],
                                               resuming)
    train_words = sorted({word for s in train for word in s.words})
    self.chars = char_vocabulary(workdir, train_words, rebuild_stale=not resuming, write=write)
    self.tags = tag_sets(workdir, train, resuming, write)
    index = {name: {tag: i for i, tag in enumerate(tags)} for name, tags in self.tags.items()}
    self.data = {split: conllu.encode(sentences, self.vocab, self.chars, index['upos'], index['xpos'],
                                      set(train_words), config.data.max_word_len, lowercase)
                 for split, sentences in self.sentences.items()}
    longest = max(len(s.words) for sentences in self.sentences.values() for s in sentences)
    if config.model.name == 'transformer_tagger' and longest + 1 > config.model.max_len:
      raise ValueError(f'A sentence of {longest} words needs model.max_len >= {longest + 1} (the CLS slot and a '
                       f'position per word); got {config.model.max_len}.')
    self.model_dims = {'vocab_size': self.vocab.vocab_size, 'num_upos': len(self.tags['upos']),
                       'num_xpos': len(self.tags['xpos']), 'num_chars': self.chars.vocab_size}

  def train_batcher(self, batch_size: int, seed: int):
    return conllu.train_batcher(self.data['train'], batch_size, seed, self.config.data.pad_multiple,
                                self.config.data.pool_batches)

  def eval_batches(self, split: str, batch_size: int):
    return conllu.eval_batches(self.data[split], batch_size, self.config.data.pad_multiple)

  def init_variables(self, model, rng, batch, carry):
    return model.init(rng, batch)

  @staticmethod
  def _word_weights(batch):
    """(B, T) 1 at each real word of a real sentence."""
    mask_BT = attention.length_mask(batch['length'], batch['tokens'].shape[1])
    return mask_BT.astype(jnp.float32) * batch['weight'][:, None]

  def _accuracy_sums(self, predicted, batch, oov: bool = True):
    """Accuracy sums of each tag set, and with `oov` over the words outside the training split."""
    word_BT = self._word_weights(batch)
    oov_BT = word_BT * batch['oov']
    sums = {}
    for name in taggers.TAG_SETS:
      correct_BT = (predicted[name] == batch[name]).astype(jnp.float32)
      sums[name] = (jnp.sum(correct_BT * word_BT), jnp.sum(word_BT))
      if oov:
        sums[f'{name}_oov'] = (jnp.sum(correct_BT * oov_BT), jnp.sum(oov_BT))
    return sums

  def _loss_sum(self, logits, crf_params, batch):
    """The summed loss of both tag sets over the batch's words."""
    word_BT = self._word_weights(batch)
    total = 0.0
    for name in taggers.TAG_SETS:
      tags_BT = jnp.maximum(batch[name], 0)  # Padding holds NO_TAG; its weight is 0.
      if crf_params:
        nll_B = crf.nll(logits[name], *crf_params[name], tags_BT, batch['length'])
        total += jnp.sum(nll_B * batch['weight'])
      else:
        nll_BT = optax.softmax_cross_entropy_with_integer_labels(logits[name], tags_BT)
        total += jnp.sum(nll_BT * word_BT)
    return total, jnp.sum(word_BT)

  def loss(self, model, params, batch, carry, rng, step):
    if self.config.task.word_dropout:
      word_rng, rng = jax.random.split(rng)
      tokens = classification.drop_words(word_rng, batch['tokens'], batch['length'], self.config.task.word_dropout)
      batch = dict(batch, tokens=tokens)
    (logits, crf_params), penalty = base.apply_with_norm_stabilizer(
        model, {'params': params}, self.config.task.get('norm_stabilizer', 0.0), batch, train=True,
        rngs={'dropout': rng})
    loss_sum, words = self._loss_sum(logits, crf_params, batch)
    # Training accuracy from the argmax: cheap, and a Viterbi pass per step would cost a scan.
    # (Every training word is in the training split: no OOV accuracy.)
    sums = dict(self._accuracy_sums({n: jnp.argmax(logits[n], -1) for n in taggers.TAG_SETS}, batch, oov=False),
                loss=(loss_sum, words))
    return loss_sum / jnp.maximum(words, 1.0) + penalty, (sums, carry)

  def eval_metrics(self, model, params, batch, carry):
    logits, crf_params = model.apply({'params': params}, batch)
    sums = self._accuracy_sums(decode(logits, crf_params, batch['length']), batch)
    sums['loss'] = self._loss_sum(logits, crf_params, batch)
    return sums, carry

  def summarize(self, split: str, metrics: dict) -> dict:
    names = [f'{name}{suffix}' for name in taggers.TAG_SETS for suffix in ('', '_oov')]
    return dict(metrics, **{name: 100.0 * metrics[name] for name in names if name in metrics})

