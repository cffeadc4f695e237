"""Language-model task and models: end to end, carried state, resumption, metrics."""
import json
import math
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import models
import tasks
from data import lm_batching
from training import config_loading
from training import loop
from tests import tolerances

DATA_DIR = os.environ.get('SEQLAB_DATA_DIR', '')
needs_data = pytest.mark.skipif(
    not os.path.exists(os.path.join(DATA_DIR, 'tinyshakespeare', 'input.txt')),
    reason='SEQLAB_DATA_DIR does not hold tinyshakespeare/input.txt')


def _config(name='lstm', **overrides):
  config = config_loading.load_config(f'configs/charlm/{name}.py:tiny')
  return config_loading.apply_overrides(config, dict({'log.progress_bar': False, 'data.dir': DATA_DIR}, **overrides))


@pytest.mark.parametrize('name', ['rnn', 'irnn', 'gru', 'lstm', 'mlp'])
def test_every_charlm_config_validates(name):
  for variant in ('', ':tiny'):
    config_loading.validate(config_loading.load_config(f'configs/charlm/{name}.py{variant}'))


@needs_data
def test_lstm_lm_trains_end_to_end_and_saves_its_tokenizer(tmp_path):
  results = loop.train_and_evaluate(_config('lstm'), str(tmp_path))
  assert set(results) == {f'{s}/{m}' for s in ('valid', 'test') for m in ('loss', 'ppl', 'bpc')} | {'model/params'}
  assert results['valid/ppl'] == pytest.approx(math.exp(results['valid/loss']), rel=1e-6)
  assert os.path.exists(tmp_path / 'tokenizer' / 'tokenizer.json')
  records = [json.loads(line) for line in open(tmp_path / 'metrics.jsonl')]
  first, last = records[0]['loss'], [r for r in records if r['split'] == 'train'][-1]['loss']
  assert last < first  # 20 steps of Adam lower the loss.


@needs_data
def test_resume_restores_stream_position_and_carried_state(tmp_path):
  config = _config('lstm', **{'checkpoint.max_to_keep': 5})
  full = loop.train_and_evaluate(config, str(tmp_path / 'full'))
  cut = tmp_path / 'cut'
  loop.train_and_evaluate(config, str(cut))
  for step in ('15', '20'):
    shutil.rmtree(cut / 'checkpoints' / step)
  os.remove(cut / 'results.json')
  assert loop.train_and_evaluate(config, str(cut)) == full


@needs_data
def test_steps_per_call_carries_the_state_through_the_scan_unchanged(tmp_path):
  """Calls of 3 steps (and the shorter ones before each log) against one step per call."""
  def run(steps_per_call):
    workdir = tmp_path / str(steps_per_call)
    results = loop.train_and_evaluate(_config('lstm', **{'train.steps_per_call': steps_per_call}), str(workdir))
    records = [json.loads(line) for line in open(workdir / 'metrics.jsonl')]
    return results, [(r['step'], r['loss'], r['grad_norm']) for r in records if r['split'] == 'train']

  results, train = run(3)
  single_results, single_train = run(1)
  # The same 20 steps from programs of other shapes, which may round differently: a logged number carries the
  # rounding of every step so far, forward and backward through a token's path (16 steps of the two tiny LSTM
  # layers, E = 8 and H = 16, then the softmax over about 65 characters). Averaging over tokens adds none.
  terms = 20 * 2 * (16 * ((8 + 4 * 16) + (16 + 4 * 16)) + 65)
  assert single_results == pytest.approx(results, rel=tolerances.rel(terms))
  assert [r[0] for r in train] == [5, 10, 15, 20]
  single_train, train = np.array(single_train), np.array(train)
  np.testing.assert_array_equal(single_train[:, 0], train[:, 0])
  np.testing.assert_allclose(single_train[:, 1:], train[:, 1:], rtol=tolerances.rel(terms))


def _tiny_model_and_task(name, tmp_path):
  config = _config(name)
  task = tasks.build(config, str(tmp_path))
  model = models.build(config.model, **task.model_dims)
  batch = next(task.train_batcher(4, 0))
  params = task.init_variables(model, jax.random.PRNGKey(0), batch, task.init_carry(model, 4))['params']
  return task, model, params


@needs_data
@pytest.mark.parametrize('name', ['gru', 'mlp'])
def test_stream_evaluation_equals_one_pass_over_each_row(tmp_path, name):
  """Carrying state across eval windows must equal running each row in one go."""
  task, model, params = _tiny_model_and_task(name, tmp_path)
  eval_step = jax.jit(lambda p, b, c: task.eval_metrics(model, p, b, c))
  metrics = loop.evaluate(task, model, eval_step, params, 'valid', 4)
  batches = list(task.eval_batches('valid', 4))
  inputs = np.concatenate([b['inputs'] for b in batches], 1)
  targets = np.concatenate([b['targets'] for b in batches], 1)
  weight = np.concatenate([b['weight'] for b in batches], 1)
  logits, _ = model.apply({'params': params}, inputs, model.initial_carry(4))
  nll = optax.softmax_cross_entropy_with_integer_labels(logits, targets) * weight
  # The same logits from programs of other lengths: each from up to a row's length of steps through the tiny
  # models' widths (at most 16 + 3 · 16 per layer, two layers), then a V-term softmax; the loss sums the rows'.
  terms = inputs.shape[1] * 2 * (16 + 3 * 16) + logits.shape[-1] + weight.sum()
  assert metrics['loss'] == pytest.approx(float(nll.sum() / weight.sum()), rel=tolerances.rel(terms))
  assert weight.sum() == len(task.ids['valid']) - 1
  # eval.num_batches: the first two windows only, as nanoGPT's eval_iters.
  first_two = loop.evaluate(task, model, eval_step, params, 'valid', 4, num_batches=2)
  columns = batches[0]['inputs'].shape[1] * 2
  assert first_two['loss'] == pytest.approx(float(nll[:, :columns].sum() / weight[:, :columns].sum()),
                                            rel=tolerances.rel(terms))


def test_bpc_is_nats_per_token_over_characters():
  """Hand-computed: 3 tokens of 2 characters each (plus the unpredicted first), loss ln 4 nats/token."""
  task = tasks.lm.LMTask.__new__(tasks.lm.LMTask)
  task.tokens_per_char = {'valid': 3 / 7}  # 4 tokens over 7 characters: 3 predictions.
  metrics = task.summarize('valid', {'loss': math.log(4.0)})
  assert metrics['bpc'] == pytest.approx(2.0 * 3 / 7)
  assert metrics['ppl'] == pytest.approx(4.0)


def test_fixed_window_lm_sees_exactly_the_previous_n_minus_1_tokens():
  model = models.lm.FixedWindowLM(vocab_size=11, embed_dim=3, hidden_size=5, context=3)
  tokens = jax.random.randint(jax.random.PRNGKey(0), (2, 9), 0, 11)
  carry = jax.random.randint(jax.random.PRNGKey(2), (2, 3), 0, 11)
  params = model.init(jax.random.PRNGKey(1), tokens, carry)['params']
  history = np.asarray(jnp.concatenate([carry, tokens], 1))  # 3 carried + 9 new tokens.
  p64 = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
  embed = p64['embed']['embedding']
  logits, new_carry = model.apply({'params': params}, tokens, carry)
  for t in range(9):  # Position t predicts from history[t+1 .. t+3] (t+3 is the current token).
    window = np.concatenate([embed[history[:, t + 1 + k]] for k in range(3)], -1)
    hidden = np.tanh(window @ p64['hidden']['kernel'] + p64['hidden']['bias'])
    expected = hidden @ p64['softmax']['kernel'] + p64['softmax']['bias']
    tolerances.assert_close(logits[:, t], expected, 3 * 3 + 5)  # The 3·E-term hidden, the H-term logits.
  for s in range(12):  # Change one history token: exactly the positions that see it change.
    changed = history.copy()
    changed[:, s] = (changed[:, s] + 1) % 11
    new_logits, _ = model.apply({'params': params}, changed[:, 3:], changed[:, :3])
    moved = np.abs(np.asarray(new_logits - logits)).max(axis=(0, 2)) > 0
    assert moved.tolist() == [t + 1 <= s <= t + 3 for t in range(9)]
  np.testing.assert_array_equal(new_carry, history[:, -3:])


def test_dropout_only_in_training():
  model = models.lm.RNNLM(vocab_size=7, embed_dim=4, hidden_sizes=(6,), cell='lstm', dropout=0.5)
  tokens = jnp.arange(10).reshape(2, 5) % 7
  carry = model.initial_carry(2)
  params = model.init(jax.random.PRNGKey(0), tokens, carry)['params']
  eval_a = model.apply({'params': params}, tokens, carry)[0]
  eval_b = model.apply({'params': params}, tokens, carry)[0]
  train = model.apply({'params': params}, tokens, carry, train=True, rngs={'dropout': jax.random.PRNGKey(1)})[0]
  np.testing.assert_array_equal(eval_a, eval_b)
  assert np.abs(np.asarray(train - eval_a)).max() > 1e-3


def test_tied_embeddings_share_the_matrix():
  model = models.lm.RNNLM(vocab_size=7, embed_dim=6, hidden_sizes=(6,), cell='gru', tie_embeddings=True)
  tokens = jnp.zeros((1, 3), jnp.int32)
  params = model.init(jax.random.PRNGKey(0), tokens, model.initial_carry(1))['params']
  assert 'softmax' not in params
  hidden, _ = models.rnn.RecurrentLayer(6, 'gru').apply(
      {'params': params['rnn_0']}, params['embed']['embedding'][tokens], (jnp.zeros((1, 6)),)[0])
  logits, _ = model.apply({'params': params}, tokens, model.initial_carry(1))
  embedding64 = np.asarray(params['embed']['embedding'], np.float64)
  # 3 GRU steps over E + 3H, then the E-term product with the embedding (in float64 here).
  tolerances.assert_close(logits, np.asarray(hidden, np.float64) @ embedding64.T, 3 * (6 + 3 * 6) + 6)


def test_eval_stream_batches_count_every_prediction_once():
  ids = np.arange(103) % 17
  batches = list(lm_batching.eval_stream_batches(ids, 4, 8))
  assert sum(b['weight'].sum() for b in batches) == 102
