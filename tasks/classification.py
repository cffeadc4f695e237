"""Sentence classification, and the language-model pretraining of the classifiers.

'classification': cross-entropy over labeled sentences; metrics `loss` and
`accuracy` (in %). With `task.lm_weight` = λ > 0 the loss adds λ times the causal LM
loss of the same sentences (GPT-1's auxiliary objective during fine-tuning).
`task.max_norm` > 0 rescales each class's output weight vector to at most that
L2 norm after every update (Kim 2014). `task.word_dropout` = p > 0 replaces each
real token of a training sentence by <unk> with probability p (word dropout, as in
Iyyer et al. 2015 and Dai & Le 2015; evaluation reads every word).
With `task.distill_from` (a trained classification workdir, the teacher) the loss is
tasks/distillation.py's: α × the hard labels' cross-entropy + (1 - α) × the teacher's soft targets, on the
training sentences plus data.distill_corpus's unlabeled text (soft targets only); metric `distill` is
the soft term.

'pretrain': a language-model objective over unlabeled sentences
(`data.pretrain_corpus`): `causal` (next token; the GPT and the LSTM), `mlm`
(BERT's masked LM for the encoder: 15% of the tokens are chosen; of those 80%
become [MASK], 10% a random word, 10% stay) or `autoencoder` (Dai & Le's
sequence autoencoder for the unidirectional LSTM: every token reconstructed by
a decoder started from the encoder's final state) or `bilm` (ELMo's biLM, models/elmo.py: the
forward LM's next tokens and the backward LM's previous ones, one mean over both) or `bart` (BART's
denoising, models/bart.py: a document's sentences permuted, then spans of ~Poisson(3) tokens covering
task.infill_rate of them each replaced by one [MASK], data/corruption.py; the decoder reconstructs the document;
the noise is drawn once per document, with data.split_seed). Metrics: `loss` (nats per
predicted token), `ppl`, `accuracy` (of the predicted tokens). A classifier
then starts from the pretrained workdir through `init_from`, its head fresh,
and reads the pretrained run's vocabulary.
"""
import math
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import tqdm

from configs import checks
from data import kim_text  # noqa: F401  (registers the text normalizer data.clean='kim')
from data import corruption
from data import labeled
from data import tokenizers
from models import attention
from models import classifiers
from tasks import base
from tasks import distillation
from tasks import registry

OBJECTIVES = ('causal', 'mlm', 'autoencoder', 'bilm', 'bart')
# The model method each pretraining objective trains (and initializes the parameters through).
_OBJECTIVE_METHODS = {'causal': 'lm_logits', 'mlm': 'lm_logits', 'autoencoder': 'autoencoder_logits',
                      'bilm': 'bilm_logits', 'bart': 'denoise_logits'}
# The objectives that read a corpus of documents (data.pretrain_corpus imdb or a file of blank-line-separated ones).
_DOCUMENT_OBJECTIVES = ('bart',)


def vocab_dir(workdir: str) -> str:
  return os.path.join(workdir, 'vocab')


def run_vocabulary(config, workdir: str, texts: list, resuming: bool):
  """The run's vocabulary, kept in its workdir: the pretrained run's when fine-tuning (ids must mean the same),
  else built on `texts`. A stale one (other texts or settings) is rebuilt, or refused when resuming."""
  directory, write = vocab_dir(workdir), jax.process_index() == 0
  if not config.get('init_from'):
    reserved = labeled.RESERVED_WITH_SEP if config.task.get('nsp', False) else labeled.RESERVED
    return labeled.vocabulary(directory, texts, config.data.min_count, config.data.max_vocab,
                              rebuild_stale=not resuming, write=write, reserved=reserved)
  pretrained = vocab_dir(config.init_from)
  source = tokenizers.saved_source(pretrained)  # What the pretrained vocabulary was built from.
  if source is None:
    raise FileNotFoundError(f'init_from {config.init_from!r} holds no vocabulary '
                            f'({os.path.join(pretrained, tokenizers.CONFIG_FILE)}).')
  # Copied with its source, so that a resumed run reads it again, and one whose pretraining changed is refused.
  tokenizer = tokenizers.load_or_build(directory, source, lambda: tokenizers.load(pretrained),
                                       rebuild_stale=not resuming, write=write)
  return tokenizers.Vocabulary(tokenizer, tuple(source.get('reserved', labeled.RESERVED)))


def batch_args(data_config) -> dict:
  """How a sentence task pads its batches: widths rounded up to data.pad_multiple, at least data.min_len, never
  past data.max_len (a Transformer's positions are sized for it)."""
  return dict(pad_multiple=data_config.pad_multiple, min_len=data_config.min_len, max_len=data_config.max_len)


def predict_rows(model, params, ids: list, batch_size: int, data_config, softmax: bool,
                 progress: str = '') -> np.ndarray:
  """float32 (R, K): each sentence's class probabilities (softmax) or logits, in the order of `ids`, computed on
  the task's own evaluation batches (sorted by length, so few shapes compile); `progress` names a bar."""
  def predict(p, tokens_BT, length_B):
    logits_BK = model.apply({'params': p}, tokens_BT, length_B).astype(jnp.float32)
    return jax.nn.softmax(logits_BK) if softmax else logits_BK
  predict = jax.jit(predict)
  rows_RK = np.zeros((len(ids), model.num_classes), np.float32)
  batches = labeled.eval_batches(ids, np.zeros(len(ids), np.int32), batch_size, **batch_args(data_config))
  for batch in tqdm.tqdm(batches, desc=progress, unit='batch', disable=not (progress and sys.stderr.isatty())):
    values_BK = np.asarray(predict(params, batch['tokens'], batch['length']), np.float32)
    real_B = batch['index'] >= 0  # -1 marks filler rows.
    rows_RK[batch['index'][real_B]] = values_BK[real_B]
  return rows_RK


def _encode(vocab, texts: list, max_len: int) -> list:
  ids = [vocab.encode(text) for text in texts]
  return [x[:max_len] for x in ids] if max_len else ids


def encode_as_read(data_config, vocab, texts: list) -> list:
  """The ids of texts written as in a data file (after the label), as the task reads a file: stripped
  (labeled.read_labeled), normalized (labeled.example_normalizer), encoded and cut to data.max_len."""
  normalize = labeled.example_normalizer(data_config)
  return _encode(vocab, [normalize(text.strip()) for text in texts], data_config.max_len)


def mask_tokens(rng, tokens_BT, length_B, vocab_size: int, rate: float = 0.15, first_word: int = labeled.NUM_RESERVED):
  """BERT's corruption: (inputs (B, T), chosen (B, T) bool), chosen among real tokens with probability `rate`
  (never a reserved id, such as a separator); a random replacement is a word id, first_word .. vocab_size - 1."""
  choose_rng, kind_rng, word_rng = jax.random.split(rng, 3)
  word_BT = (tokens_BT >= first_word) | (tokens_BT == labeled.UNK_ID)
  real_BT = attention.length_mask(length_B, tokens_BT.shape[1]) & word_BT
  chosen_BT = (jax.random.uniform(choose_rng, tokens_BT.shape) < rate) & real_BT
  kind_BT = jax.random.uniform(kind_rng, tokens_BT.shape)
  random_BT = jax.random.randint(word_rng, tokens_BT.shape, first_word, vocab_size)
  inputs_BT = jnp.where(chosen_BT & (kind_BT < 0.8), labeled.MASK_ID,
                        jnp.where(chosen_BT & (kind_BT < 0.9), random_BT, tokens_BT))
  return inputs_BT, chosen_BT


def chosen_positions(chosen_BT, rate: float):
  """(positions_M, weight_M): the flat indices of the chosen tokens of (B, T) in a fixed-size array (jit needs one
  shape), M = 1.25 × rate × B·T + 16, padded with index 0 at weight 0. More chosen tokens than M (about 6 standard
  deviations above the mean number for a batch of 128 tokens or more) leaves the last ones out of the loss."""
  size = chosen_BT.size
  m = min(size, int(math.ceil(1.25 * rate * size)) + 16)
  positions_M = jnp.nonzero(chosen_BT.reshape(-1), size=m, fill_value=0)[0]
  return positions_M, (jnp.arange(m) < chosen_BT.sum()).astype(jnp.float32)


def drop_words(rng, tokens_BT, length_B, rate: float):
  """tokens_BT with each real token replaced by <unk> with probability `rate` (padding is kept)."""
  real_BT = attention.length_mask(length_B, tokens_BT.shape[1])
  dropped_BT = (jax.random.uniform(rng, tokens_BT.shape) < rate) & real_BT
  return jnp.where(dropped_BT, labeled.UNK_ID, tokens_BT)


def causal_lm_sums(logits_BTV, tokens_BT, length_B):
  """(summed nll, count) and (correct, count) of predicting token t+1 from logits at t, real tokens only."""
  targets_BT = tokens_BT[:, 1:]
  weight_BT = attention.length_mask(length_B - 1, tokens_BT.shape[1] - 1).astype(jnp.float32)  # Targets 1 .. len-1.
  return _token_sums(logits_BTV[:, :-1], targets_BT, weight_BT)


def backward_lm_sums(logits_BTV, tokens_BT, length_B):
  """As causal_lm_sums for a backward LM: logits at t predict token t-1, for t = 1 .. len-1."""
  weight_BT = attention.length_mask(length_B - 1, tokens_BT.shape[1] - 1).astype(jnp.float32)  # Inputs 1 .. len-1.
  return _token_sums(logits_BTV[:, 1:], tokens_BT[:, :-1], weight_BT)


def _token_sums(logits_BTV, targets_BT, weight_BT):
  nll_BT = optax.softmax_cross_entropy_with_integer_labels(logits_BTV, targets_BT)
  correct_BT = (jnp.argmax(logits_BTV, -1) == targets_BT).astype(jnp.float32)
  return (jnp.sum(nll_BT * weight_BT), jnp.sum(weight_BT)), (jnp.sum(correct_BT * weight_BT), jnp.sum(weight_BT))


def label_sums(logits_BK, batch):
  """{'loss', 'accuracy'} of a batch's labels as (sum over its real rows, their number)."""
  weight_B = batch['weight']
  nll_B = optax.softmax_cross_entropy_with_integer_labels(logits_BK, batch['label'])
  correct_B = (jnp.argmax(logits_BK, -1) == batch['label']).astype(jnp.float32)
  return {'loss': (jnp.sum(nll_B * weight_B), jnp.sum(weight_B)),
          'accuracy': (jnp.sum(correct_B * weight_B), jnp.sum(weight_B))}


def _check_distillation(config):
  task = config.task
  if not task.get('distill_from', ''):
    if config.data.get('distill_corpus', ''):
      raise ValueError('data.distill_corpus is text for a teacher to label: set task.distill_from too.')
    return
  checks.check_choice(task.distill_loss, distillation.LOSSES, 'task.distill_loss')
  if not 0 <= task.distill_alpha <= 1:
    raise ValueError(f'task.distill_alpha must be in [0, 1]; got {task.distill_alpha}.')
  if not task.distill_temperature > 0:
    raise ValueError(f'task.distill_temperature must be > 0; got {task.distill_temperature}.')
  if config.task.lm_weight:
    raise ValueError('task.distill_from and task.lm_weight cannot be combined (unlabeled rows have no LM targets '
                     'here); set one.')


def _check_data(config):
  labeled.normalizer(config.data.clean)  # A ValueError naming the registered ones.
  labeled.train_on_phrases(config.data)  # A ValueError if data.phrases is set for a dataset without phrases.
  if config.data.pool_batches < 1:
    raise ValueError(f'data.pool_batches must be >= 1 (1 = uniformly random batches); got {config.data.pool_batches}.')


class _SentenceTask(base.Task):
  datasets = labeled.DATASETS
  placeholder_dims = {'vocab_size': 16, 'num_classes': 2}

  def _batch_args(self):
    return batch_args(self.config.data)

  # {split: more per-example arrays its batches carry} (a teacher's logits, BART's corrupted sources).
  split_extras: dict = {}

  def train_batcher(self, batch_size: int, seed: int):
    return labeled.train_batcher(*self.data['train'], batch_size, seed, pool_batches=self.config.data.pool_batches,
                                 extras=self.split_extras.get('train'), **self._batch_args())

  def eval_batches(self, split: str, batch_size: int):
    return labeled.eval_batches(*self.data[split], batch_size, extras=self.split_extras.get(split),
                                **self._batch_args())

  def init_carry(self, model, batch_size: int):
    return ()  # Sentences are independent.


@registry.register('classification')
class ClassificationTask(_SentenceTask):
  supports_norm_stabilizer = True
  pretraining_only = classifiers.PRETRAINING_ONLY

  @staticmethod
  def check_config(config):
    if config.task.lm_weight < 0:
      raise ValueError(f'task.lm_weight must be >= 0; got {config.task.lm_weight}.')
    if config.task.max_norm < 0:
      raise ValueError(f'task.max_norm must be >= 0 (0 = off); got {config.task.max_norm}.')
    if not 0 <= config.task.word_dropout < 1:
      raise ValueError(f'task.word_dropout must be in [0, 1); got {config.task.word_dropout}.')
    _check_distillation(config)
    _check_data(config)

  def __init__(self, config, workdir: str, resuming: bool = False):
    self.config = config
    # The classes are the dataset's (a label outside them stops here, naming its file and line).
    splits, num_classes = labeled.load_labeled(config.data)
    self.distill = bool(config.task.get('distill_from', ''))
    # A student's vocabulary covers the unlabeled text it trains on too.
    unlabeled = distillation.unlabeled_texts(config.data) if self.distill else []
    self.vocab = run_vocabulary(config, workdir, list(splits['train'][0]) + unlabeled, resuming)
    self.data = {split: (_encode(self.vocab, texts, config.data.max_len), labels)
                 for split, (texts, labels) in splits.items()}
    self.model_dims = {'vocab_size': self.vocab.vocab_size, 'num_classes': num_classes}
    if self.distill:
      self._add_teacher_targets(config, workdir, splits['train'], unlabeled, num_classes)

  def _add_teacher_targets(self, config, workdir: str, train: tuple, unlabeled: list, num_classes: int) -> None:
    """Training rows: the labeled sentences, then data.distill_corpus's texts (has_label 0), each with the
    teacher's logits."""
    texts, labels = train
    # By default beside the teacher: every student of it (seeds, models) reads one labeling.
    cache = config.task.get('distill_cache', '') or os.path.join(config.task.distill_from, 'distilled_logits')
    logits_RK = distillation.teacher_logits(config.task.distill_from, list(texts) + unlabeled, cache)
    if logits_RK.shape[1] != num_classes:
      raise ValueError(f'task.distill_from {config.task.distill_from!r} has {logits_RK.shape[1]} classes; this '
                       f'data has {num_classes}.')
    ids = self.data['train'][0] + _encode(self.vocab, unlabeled, config.data.max_len)
    self.data['train'] = (ids, np.concatenate([labels, np.zeros(len(unlabeled), labels.dtype)]))
    self.split_extras = {'train': {
        'teacher_logits': logits_RK,
        'has_label': np.concatenate([np.ones(len(texts)), np.zeros(len(unlabeled))]).astype(np.float32)}}

  def init_variables(self, model, rng, batch, carry):
    return model.init(rng, batch['tokens'], batch['length'])

  def _sums(self, logits_BK, batch):
    return label_sums(logits_BK, batch)

  def loss(self, model, params, batch, carry, rng, step):
    variables, args = {'params': params}, (batch['tokens'], batch['length'])
    if self.config.task.word_dropout:
      word_rng, rng = jax.random.split(rng)
      args = (drop_words(word_rng, *args, self.config.task.word_dropout), batch['length'])
    lm_weight = self.config.task.lm_weight
    beta = self.config.task.get('norm_stabilizer', 0.0)
    if lm_weight:
      (logits_BK, lm_logits_BTV), penalty = base.apply_with_norm_stabilizer(
          model, variables, beta, *args, train=True, rngs={'dropout': rng}, method='classify_and_lm')
    else:
      logits_BK, penalty = base.apply_with_norm_stabilizer(model, variables, beta, *args, train=True,
                                                           rngs={'dropout': rng})
    sums = self._sums(logits_BK, batch)
    total = sums['loss'][0] / jnp.maximum(sums['loss'][1], 1.0) + penalty
    if self.distill:
      task = self.config.task
      total, _, sums['distill'] = distillation.distillation_loss(
          logits_BK, batch['label'], batch['teacher_logits'], batch['has_label'], batch['weight'],
          task.distill_loss, task.distill_alpha, task.distill_temperature)
      total = total + penalty
      # The hard-label metrics over the labeled rows alone: unlabeled text has no label to score.
      sums.update(label_sums(logits_BK, dict(batch, weight=batch['has_label'] * batch['weight'])))
    if lm_weight:
      # Filler rows of a partial batch have length 0, so they add no LM terms. The targets are the words
      # as written, also where word dropout hid them from the input.
      lm_loss, _ = causal_lm_sums(lm_logits_BTV, batch['tokens'], batch['length'])
      sums['lm_loss'] = lm_loss
      total = total + lm_weight * lm_loss[0] / jnp.maximum(lm_loss[1], 1.0)
    return total, (sums, carry)

  def eval_metrics(self, model, params, batch, carry):
    return self._sums(model.apply({'params': params}, batch['tokens'], batch['length']), batch), carry

  def summarize(self, split: str, metrics: dict) -> dict:
    return dict(metrics, accuracy=100.0 * metrics['accuracy'])  # In %, as papers report it.

  def project_params(self, params):
    return classifiers.max_norm(params, self.config.task.max_norm) if self.config.task.max_norm else params


@registry.register('pretrain')
class PretrainTask(_SentenceTask):
  """LM pretraining over unlabeled sentences; the last `data.pretrain_valid` sentences are held out."""

  @staticmethod
  def check_config(config):
    checks.check_choice(config.task.objective, OBJECTIVES, 'task.objective')
    if not 0 < config.task.mask_rate < 1:
      raise ValueError(f'task.mask_rate must be in (0, 1); got {config.task.mask_rate}.')
    if config.task.objective == 'autoencoder' and (config.model.name != 'rnn_classifier'
                                                    or config.model.get('bidirectional', False)):
      raise ValueError('task.objective=autoencoder trains a unidirectional rnn_classifier (model.bidirectional '
                       f'False); got model.name={config.model.name!r}.')
    if config.task.get('nsp', False) and (config.task.objective != 'mlm' or not config.model.get('segments', False)):
      raise ValueError('task.nsp (next-sentence prediction) goes with task.objective=mlm and a transformer_classifier '
                       f'with model.segments=true; got objective {config.task.objective!r}, model.name '
                       f'{config.model.name!r}, model.segments={config.model.get("segments", None)!r}.')
    if (config.task.objective == 'bart') != (config.model.name == 'bart_classifier'):
      raise ValueError('task.objective=bart pretrains model.name=bart_classifier, and that model pretrains with it '
                       f'alone; got objective {config.task.objective!r} and model.name {config.model.name!r}.')
    if (config.task.objective == 'bilm') != (config.model.name == 'elmo_classifier'):
      raise ValueError('task.objective=bilm trains the biLM of model.name=elmo_classifier, and that model '
                       f'pretrains with it alone; got objective {config.task.objective!r} and model.name '
                       f'{config.model.name!r}.')
    _check_data(config)

  def __init__(self, config, workdir: str, resuming: bool = False):
    self.config = config
    self.nsp = config.task.get('nsp', False)
    if self.nsp:
      self._sentence_pairs(config, workdir, resuming)
      return
    if config.task.objective in _DOCUMENT_OBJECTIVES:
      self._denoising_examples(config, workdir, resuming)
      return
    texts, dropped = labeled.pretraining_texts(config.data)
    if config.data.pretrain_exclude:
      print(f'data.pretrain_exclude={config.data.pretrain_exclude!r} dropped {dropped:,} pretraining sentences; '
            f'{len(texts):,} are kept.')
    # A fixed shuffle before the split, so valid is not one corpus's tail.
    order = np.random.RandomState(config.data.split_seed).permutation(len(texts))
    held_out = config.data.pretrain_valid
    if not 0 < held_out < len(texts):
      raise ValueError(f'data.pretrain_valid must be in (0, {len(texts)}); got {held_out}.')
    splits = {'train': [texts[i] for i in order[held_out:]], 'valid': [texts[i] for i in order[:held_out]]}
    self.vocab = run_vocabulary(config, workdir, splits['train'], resuming)
    self.data = {split: (_encode(self.vocab, split_texts, config.data.max_len), np.zeros(len(split_texts), np.int32))
                 for split, split_texts in splits.items()}
    self.data['test'] = self.data['valid']  # No test split of its own: eval.splits should name valid only.
    self.model_dims = {'vocab_size': self.vocab.vocab_size, 'num_classes': 2}

  def _document_splits(self, config, workdir: str, resuming: bool) -> dict:
    """{'train', 'valid'}: the corpus's documents in a fixed shuffle, valid taking whole documents until it holds
    data.pretrain_valid sentences; the vocabulary is built on train's."""
    documents = labeled.pretraining_documents(config.data)
    documents = [documents[i] for i in np.random.RandomState(config.data.split_seed).permutation(len(documents))]
    sizes = np.cumsum([len(d) for d in documents])
    cut = int(np.searchsorted(sizes, config.data.pretrain_valid)) + 1
    if not 1 < cut < len(documents) - 1:
      raise ValueError(f'data.pretrain_valid={config.data.pretrain_valid} leaves no two documents on one side of '
                       f'the split ({len(documents)} documents, {sizes[-1] if len(sizes) else 0} sentences).')
    splits = {'train': documents[cut:], 'valid': documents[:cut]}
    self.vocab = run_vocabulary(config, workdir, [s for d in splits['train'] for s in d], resuming)
    self.model_dims = {'vocab_size': self.vocab.vocab_size, 'num_classes': 2}
    return splits

  def _denoising_examples(self, config, workdir: str, resuming: bool) -> None:
    """BART's examples: 'tokens' a document's first sentences that fit data.max_len (the first one cut if it
    alone is longer), extras 'source' (its corrupted copy, padded) and 'source_length'."""
    splits = self._document_splits(config, workdir, resuming)
    limit = config.data.max_len or config.model.max_len
    self.data, self.split_extras = {}, {}
    for index, (split, docs) in enumerate(splits.items()):
      rng = np.random.default_rng([config.data.split_seed, index])
      targets, sources = [], []
      for doc in docs:
        sentences, total = [], 0
        for ids in (list(self.vocab.encode(s)) for s in doc):
          if sentences and total + len(ids) > limit:
            break
          sentences.append(ids[:limit - total])
          total += len(sentences[-1])
        targets.append([t for ids in sentences for t in ids])
        noisy = corruption.infill([t for ids in corruption.permute_sentences(sentences, rng) for t in ids], rng,
                                  labeled.MASK_ID, config.task.infill_rate, config.task.span_poisson)
        sources.append(noisy[:config.model.max_len])
      width = max(len(s) for s in sources)
      extras = {'source': np.array([s + [labeled.PAD_ID] * (width - len(s)) for s in sources], np.int32),
                'source_length': np.array([len(s) for s in sources], np.int32)}
      self.data[split] = (targets, np.zeros(len(targets), np.int32))
      self.split_extras[split] = extras
    self.data['test'], self.split_extras['test'] = self.data['valid'], self.split_extras['valid']

  def _sentence_pairs(self, config, workdir: str, resuming: bool) -> None:
    """Next-sentence pretraining's examples: A [SEP] B, label 1 when B follows A in its document (half of them,
    data/corruption.py). Each split makes one pair per sentence that has a successor, drawn once (split_seed)."""
    splits = self._document_splits(config, workdir, resuming)
    half = max((config.data.max_len - 1) // 2, 1) if config.data.max_len else None
    self.data = {}
    for index, (split, docs) in enumerate(splits.items()):
      ids = [[list(self.vocab.encode(s))[:half] for s in d] for d in docs]
      rng = np.random.default_rng([config.data.split_seed, index])
      pairs = corruption.next_sentence_pairs(ids, sum(len(d) - 1 for d in docs), rng)
      self.data[split] = ([a + [labeled.SEP_ID] + b for a, b, _ in pairs], np.array([p[2] for p in pairs], np.int32))
    self.data['test'] = self.data['valid']

  def init_variables(self, model, rng, batch, carry):
    if self.config.task.objective == 'bart':
      return model.init(rng, batch['source'], batch['source_length'], batch['tokens'], batch['length'],
                        method='denoise_logits')
    method = 'mlm_and_nsp_logits' if self.nsp else _OBJECTIVE_METHODS[self.config.task.objective]
    return model.init(rng, batch['tokens'], batch['length'], method=method)

  def _sums(self, model, params, batch, rng, train: bool):
    tokens_BT, length_B = batch['tokens'], batch['length']
    rngs = {'dropout': rng} if train else {}
    if self.nsp:
      (loss, accuracy), nsp_BK = self._masked_lm_sums(model, params, batch, rng, train, 'mlm_and_nsp_logits')
      nsp = label_sums(nsp_BK, batch)  # The batch's labels are the pairs' is_next.
      return {'loss': loss, 'accuracy': accuracy, 'nsp_loss': nsp['loss'], 'nsp_accuracy': nsp['accuracy']}
    if self.config.task.objective == 'bart':
      logits_BTV = model.apply({'params': params}, batch['source'], batch['source_length'], tokens_BT, length_B,
                               train=train, rngs=rngs, method='denoise_logits')
      weight_BT = attention.length_mask(length_B, tokens_BT.shape[1]).astype(jnp.float32)
      loss, accuracy = _token_sums(logits_BTV, tokens_BT, weight_BT)
    elif self.config.task.objective == 'autoencoder':
      logits_BTV = model.apply({'params': params}, tokens_BT, length_B, train=train, rngs=rngs,
                               method='autoencoder_logits')
      weight_BT = attention.length_mask(length_B, tokens_BT.shape[1]).astype(jnp.float32)
      loss, accuracy = _token_sums(logits_BTV, tokens_BT, weight_BT)
    elif self.config.task.objective == 'bilm':
      forward_BTV, backward_BTV = model.apply({'params': params}, tokens_BT, length_B, train=train, rngs=rngs,
                                              method='bilm_logits')
      sums = [causal_lm_sums(forward_BTV, tokens_BT, length_B), backward_lm_sums(backward_BTV, tokens_BT, length_B)]
      loss, accuracy = ((f[0] + b[0], f[1] + b[1]) for f, b in zip(*sums))
    elif self.config.task.objective == 'causal':
      logits_BTV = model.apply({'params': params}, tokens_BT, length_B, train=train, rngs=rngs, method='lm_logits')
      loss, accuracy = causal_lm_sums(logits_BTV, tokens_BT, length_B)
    else:
      (loss, accuracy), _ = self._masked_lm_sums(model, params, batch, rng, train, 'lm_logits')
    return {'loss': loss, 'accuracy': accuracy}

  def _masked_lm_sums(self, model, params, batch, rng, train: bool, method: str):
    """((loss sums, accuracy sums) of the masked tokens, the method's other outputs) for a model `method` that
    returns masked-LM logits at given positions (and, for NSP, more)."""
    tokens_BT, length_B = batch['tokens'], batch['length']
    # Evaluation masks with a fixed key, so valid metrics compare across steps.
    mask_rng = jax.random.fold_in(rng, 1) if train else jax.random.PRNGKey(0)
    inputs_BT, chosen_BT = mask_tokens(mask_rng, tokens_BT, length_B, self.vocab.vocab_size,
                                       self.config.task.mask_rate, first_word=self.vocab.num_reserved)
    positions_M, weight_M = chosen_positions(chosen_BT, self.config.task.mask_rate)
    outputs = model.apply({'params': params}, inputs_BT, length_B, train=train, rngs={'dropout': rng} if train else {},
                          positions_M=positions_M, method=method)
    logits_MV, rest = (outputs[0], outputs[1]) if isinstance(outputs, tuple) else (outputs, None)
    return _token_sums(logits_MV[None], tokens_BT.reshape(-1)[positions_M][None], weight_M[None]), rest

  def loss(self, model, params, batch, carry, rng, step):
    """The mean over the predicted tokens, plus with task.nsp the mean next-sentence loss (BERT sums the two)."""
    sums = self._sums(model, params, batch, rng, train=True)
    total = sums['loss'][0] / jnp.maximum(sums['loss'][1], 1.0)
    if self.nsp:
      total = total + sums['nsp_loss'][0] / jnp.maximum(sums['nsp_loss'][1], 1.0)
    return total, (sums, carry)

  def eval_metrics(self, model, params, batch, carry):
    return self._sums(model, params, batch, None, train=False), carry

  def summarize(self, split: str, metrics: dict) -> dict:
    return dict(metrics, ppl=math.exp(min(metrics['loss'], 700.0)))
