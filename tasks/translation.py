"""Translation: teacher-forced (optionally label-smoothed) cross-entropy, scheduled sampling, BLEU of decoded output.

Metrics: `loss` (nats per target token, EOS included, without smoothing) and
`ppl` from teacher forcing; `bleu` (beam search) and `bleu_greedy` from
sacrebleu on detokenized output against the raw reference lines.

Scheduled sampling (Bengio et al. 2015): at training step i each target input is
the reference with probability eps_i and the model's own sample otherwise;
eps_i decays from 1 by a linear, exponential or inverse-sigmoid schedule, never
below `task.sampling_min_teacher`.
"""
import functools
import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax

from configs import checks
from data import labeled
from data import parallel
from models import seq2seq
from tasks import decoding
from tasks import base
from tasks import registry

SAMPLING_SCHEDULES = ('none', 'linear', 'exponential', 'inverse_sigmoid')


def vocab_dir(workdir: str) -> str:
  return os.path.join(workdir, 'tokenizer')


def teacher_probability(config, step):
  """eps_i: the probability of feeding the reference token at training step `step` (jnp scalar)."""
  kind, i = config.sampling_schedule, jnp.asarray(step, jnp.float32)
  if kind == 'linear':
    eps = 1.0 - config.sampling_slope * i
  elif kind == 'exponential':
    eps = config.sampling_k ** i
  elif kind == 'inverse_sigmoid':
    k = config.sampling_k
    eps = k / (k + jnp.exp(jnp.minimum(i / k, 80.0)))
  else:
    return jnp.ones((), jnp.float32)
  return jnp.maximum(eps, config.sampling_min_teacher)


def check_config(config) -> None:
  """Task fields, checked before anything loads or compiles."""
  task = config.task
  checks.check_choice(task.sampling_schedule, SAMPLING_SCHEDULES, 'task.sampling_schedule')
  if not 0 <= task.label_smoothing < 1:
    raise ValueError(f'task.label_smoothing must be in [0, 1); got {task.label_smoothing}.')
  if task.sampling_schedule == 'exponential' and not 0 < task.sampling_k < 1:
    raise ValueError(f'The exponential schedule needs 0 < task.sampling_k < 1; got {task.sampling_k}.')
  if task.sampling_schedule == 'inverse_sigmoid' and not task.sampling_k >= 1:
    raise ValueError(f'The inverse-sigmoid schedule needs task.sampling_k >= 1; got {task.sampling_k}.')
  if config.decode.beam_size < 1:
    raise ValueError(f'decode.beam_size must be >= 1; got {config.decode.beam_size}.')
  if config.train.steps_per_call != 1:
    raise ValueError('Translation batches differ in shape from step to step; keep train.steps_per_call = 1.')


def _check_bart_start(config) -> None:
  """init_from must be a BART pretraining run (the only kind a translation model starts from) whose words the
  target side can look up: separate source and target embeddings, word tokens."""
  path = os.path.join(config.init_from, 'config.json')
  with open(path) as f:
    pretrained = json.load(f)
  objective = pretrained.get('task', {}).get('objective')
  if pretrained.get('task', {}).get('name') != 'pretrain' or objective != 'bart':
    raise ValueError(f'init_from {config.init_from!r}: a translation run starts only from a BART pretraining run '
                     f'(task.objective bart); that run is task {pretrained.get("task", {}).get("name")!r}, objective '
                     f'{objective!r}.')
  if config.model.share_embeddings or config.data.joint_vocab:
    raise ValueError('Translation from a BART run needs model.share_embeddings=False and data.joint_vocab=False: '
                     'the source language gets an embedding of its own.')
  if config.data.tokenizer != 'word':
    raise ValueError(f'Translation from a BART run looks its target words up in the BART vocabulary: '
                     f'data.tokenizer must be word; got {config.data.tokenizer!r}.')


def _sums(logits_BTV, batch):
  weight_BT = batch['weight']
  nll_BT = optax.softmax_cross_entropy_with_integer_labels(logits_BTV, batch['tgt_out']) * weight_BT
  return {'loss': (nll_BT.sum(), weight_BT.sum())}


def smoothed_loss(logits_BTV, targets_BT, weight_BT, smoothing: float):
  """Cross-entropy against (1 - smoothing) on the target plus smoothing spread over the vocabulary."""
  log_probs_BTV = jax.nn.log_softmax(logits_BTV, axis=-1)
  nll_BT = -jnp.take_along_axis(log_probs_BTV, targets_BT[..., None], axis=-1)[..., 0]
  loss_BT = (1.0 - smoothing) * nll_BT - smoothing * log_probs_BTV.mean(axis=-1)
  return (loss_BT * weight_BT).sum()


def decode_length(src_len: int, limit: int) -> int:
  """Most target tokens generated for padded sources of length src_len (static per batch shape)."""
  return min(src_len + src_len // 2 + 10, limit) if limit else src_len + src_len // 2 + 10


@registry.register('translation')
class TranslationTask(base.Task):
  datasets = parallel.DATASETS
  placeholder_dims = {'src_vocab_size': 8, 'tgt_vocab_size': 8}

  check_config = staticmethod(check_config)

  def __init__(self, config, workdir: str, resuming: bool = False):
    check_config(config)
    if config.get('init_from'):
      _check_bart_start(config)  # Before any data is read.
    self.config = config
    self.lines = parallel.load_parallel(config.data)
    # A resumed run keeps the vocabularies it trained with; stale ones (other text or settings) are refused.
    self.src_vocab, self.tgt_vocab = parallel.build_vocabularies(
        config.data, *self.lines['train'], vocab_dir(workdir), resuming=resuming, write=jax.process_index() == 0)
    self.ids = {split: ([self.src_vocab.encode(line) for line in src], [self.tgt_vocab.encode(line) for line in tgt])
                for split, (src, tgt) in self.lines.items()}
    self.model_dims = {'src_vocab_size': self.src_vocab.vocab_size, 'tgt_vocab_size': self.tgt_vocab.vocab_size}
    self._decoders = {}

  def adapt_pretrained(self, pretrained: dict, own: dict, init_from: str) -> dict:
    """Translation from a BART run (Lewis et al. 2019, section 3.4, in its simplest form): BART's encoder and
    decoder layers and positions as they are; its one embedding, of the pretraining language, becomes the
    target embedding row by row for the target words its vocabulary holds (BOS takes its [CLS] row, the
    decoder's first input in pretraining; padding its padding row; EOS and unknown words stay fresh); the source
    embedding starts fresh, for the other language."""
    pretrained = dict(pretrained)
    shared_VC = np.asarray(pretrained.pop('src_embed/embedding'))
    bart_vocab = labeled.saved_vocabulary(os.path.join(init_from, 'vocab'))
    rows_VC = np.array(own['tgt_embed/embedding'], np.float32)
    rows_VC[parallel.PAD_ID], rows_VC[parallel.BOS_ID] = shared_VC[labeled.PAD_ID], shared_VC[labeled.CLS_ID]
    known = 0
    for target_id in range(self.tgt_vocab.num_reserved, self.tgt_vocab.vocab_size):
      word = self.tgt_vocab.decode([target_id])
      ids = bart_vocab.encode(word)
      if word and len(ids) == 1 and ids[0] != labeled.UNK_ID:
        rows_VC[target_id], known = shared_VC[ids[0]], known + 1
    print(f'Target embedding from {init_from}: {known:,} of {self.tgt_vocab.vocab_size - self.tgt_vocab.num_reserved:,} '
          'target words found in its vocabulary.')
    pretrained['tgt_embed/embedding'] = rows_VC
    return pretrained

  def train_batcher(self, batch_size: int, seed: int):
    return parallel.train_batcher(*self.ids['train'], batch_size, seed, pad_multiple=self.config.data.pad_multiple)

  def eval_batches(self, split: str, batch_size: int):
    return parallel.eval_batches(*self.ids[split], batch_size, pad_multiple=self.config.data.pad_multiple)

  def init_variables(self, model, rng, batch, carry):
    return model.init(rng, batch['src'], batch['src_len'], batch['tgt_in'])

  def loss(self, model, params, batch, carry, rng, step):
    dropout_rng, sampling_rng = jax.random.split(rng)
    own_BT, sample_rng = None, None
    if self.config.task.sampling_schedule != 'none':
      coin_rng, sample_rng = jax.random.split(sampling_rng)
      eps = teacher_probability(self.config.task, step)
      own_BT = jax.random.uniform(coin_rng, batch['tgt_in'].shape) >= eps
    logits_BTV = model.apply({'params': params}, batch['src'], batch['src_len'], batch['tgt_in'], train=True,
                             own_BT=own_BT, rng=sample_rng, rngs={'dropout': dropout_rng})
    sums = _sums(logits_BTV, batch)
    total = smoothed_loss(logits_BTV, batch['tgt_out'], batch['weight'], self.config.task.label_smoothing)
    return total / jnp.maximum(sums['loss'][1], 1.0), (sums, carry)

  def eval_metrics(self, model, params, batch, carry):
    logits_BTV = model.apply({'params': params}, batch['src'], batch['src_len'], batch['tgt_in'])
    return _sums(logits_BTV, batch), carry

  def summarize(self, split: str, metrics: dict) -> dict:
    return dict(metrics, ppl=math.exp(min(metrics['loss'], 700.0)))

  # Decoding.
  def translate_ids(self, model, params, src_ids: list, beam_size: int) -> list:
    """Decoded target ids of each source, in the given order (decoders compiled once per beam size and shape)."""
    if beam_size not in self._decoders:
      self._decoders[beam_size] = make_decoder(model, beam_size, self.config.decode)
    return translate_ids(self._decoders[beam_size], params, src_ids,
                         self.config.eval.batch_size or self.config.train.batch_size, self.config.data.pad_multiple,
                         self.config.decode.max_len)

  def decode_metrics(self, model, params, split: str, final: bool) -> dict:
    """BLEU of greedy output at periodic evaluations (if decode.bleu_during_training); greedy and beam at the end."""
    if not final and not self.config.decode.bleu_during_training:
      return {}
    refs = self.lines[split][1]
    metrics = {}
    beams = {'bleu_greedy': 1}
    if final:
      beams['bleu'] = self.config.decode.beam_size
    import sacrebleu  # pylint: disable=import-outside-toplevel  # Here: every other run would carry its ~12 MiB.
    for name, beam_size in beams.items():
      hyps = [self.tgt_vocab.decode(ids) for ids in self.translate_ids(model, params, self.ids[split][0], beam_size)]
      metrics[name] = sacrebleu.corpus_bleu(hyps, [refs]).score
    return metrics


def make_decoder(model, beam_size: int, decode_config):
  """A jitted (params, src, src_len) -> (tokens, lengths), compiled once per source shape."""
  return jax.jit(functools.partial(translate_batch, model, beam_size=beam_size,
                                   length_penalty=decode_config.length_penalty, max_len_limit=decode_config.max_len))


def translate_ids(decoder, params, src_ids: list, batch_size: int, pad_multiple: int, max_len_limit: int) -> list:
  """Target ids (EOS included when produced) of each source, in the given order.

  The length cap is the padded batch's; each output is cut to its own source's
  cap, so greedy output does not depend on which batch a sentence lands in.
  """
  hyps = [None] * len(src_ids)
  no_targets = [np.zeros(0, np.int32)] * len(src_ids)
  for batch in parallel.eval_batches(src_ids, no_targets, batch_size, pad_multiple=pad_multiple):
    tokens_BL, lengths_B = jax.device_get(decoder(params, batch['src'], batch['src_len']))
    for row, index in enumerate(batch['index']):
      if index >= 0:
        own_cap = decode_length(len(src_ids[index]), max_len_limit)
        hyps[index] = tokens_BL[row, :min(lengths_B[row], own_cap)]
  return hyps


def translate_batch(model, params, src_BS, src_len_B, *, beam_size: int, length_penalty: float, max_len_limit: int):
  """(tokens (B, L), lengths (B,)) of greedy (beam 1) or beam-search translations of one padded batch."""
  max_len = decode_length(src_BS.shape[1], max_len_limit)
  if isinstance(model, seq2seq.TransformerSeq2Seq):  # Its positions end at model.max_len.
    max_len = min(max_len, model.max_len)
  state = model.apply({'params': params}, src_BS, src_len_B, max_len, method='start')
  step_fn = lambda tokens_R, state: _step(model, params, tokens_R, state)
  if beam_size == 1:
    return decoding.greedy_decode(step_fn, state, bos_id=parallel.BOS_ID, eos_id=parallel.EOS_ID, max_len=max_len)
  tokens_BL, lengths_B, _ = decoding.beam_search(
      step_fn, state, beam_size=beam_size, bos_id=parallel.BOS_ID, eos_id=parallel.EOS_ID, max_len=max_len,
      length_penalty=length_penalty)
  return tokens_BL, lengths_B


def _step(model, params, tokens_R, state):
  logits_RV, state = model.apply({'params': params}, tokens_R, state, method='step')
  # Padding and BOS are never outputs.
  return logits_RV.at[:, parallel.PAD_ID].set(-1e9).at[:, parallel.BOS_ID].set(-1e9), state
