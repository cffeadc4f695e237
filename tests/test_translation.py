"""The translation task end to end: schedules, the loss, tiny runs of every config, resumption, translate.py."""
import json
import math
import os
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import models
import tasks
from data import parallel
from tasks import translation
from training import config_loading
from training import loop
from tests import tolerances

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _data_dir():
  data_dir = os.environ.get('SEQLAB_DATA_DIR', '')
  if not os.path.exists(os.path.join(data_dir, 'multi30k', 'train.de.gz')):
    pytest.skip('SEQLAB_DATA_DIR does not hold multi30k/')
  return data_dir


def _config(name, needs_data=True, **overrides):
  """The tiny variant of configs/mt/NAME.py; pointing at the data (skipping without it) unless needs_data is False."""
  config = config_loading.load_config(f'configs/mt/{name}.py:tiny')
  overrides = dict({'log.progress_bar': False}, **overrides)
  if needs_data:
    overrides['data.dir'] = _data_dir()
  return config_loading.apply_overrides(config, overrides)


@pytest.mark.parametrize('kind,step,expected', [
    ('none', 500, 1.0),
    ('linear', 1000, 0.9),  # 1 - 1e-4 * 1000
    ('linear', 9000, 0.75),  # Floored at sampling_min_teacher.
    ('exponential', 100, 0.99 ** 100),
    ('inverse_sigmoid', 2000, 1000 / (1000 + math.exp(2.0))),
])
def test_teacher_probability_schedules(kind, step, expected):
  config = config_loading.load_config('configs/mt/attention.py').task
  config.sampling_schedule = kind
  config.sampling_min_teacher = 0.75 if kind == 'linear' else 0.0
  if kind == 'exponential':
    config.sampling_k = 0.99
  # A few float32 operations; k ** step also raises the float32 rounding of k (eps/2, relative) to the power step.
  rel = tolerances.rel(4) + (step * tolerances.eps() / 2 if kind == 'exponential' else 0.0)
  assert float(translation.teacher_probability(config, step)) == pytest.approx(expected, rel=rel)


def test_smoothed_loss_matches_optax():
  rng = np.random.RandomState(0)
  logits = jnp.asarray(rng.randn(2, 3, 7), jnp.float32)
  targets = jnp.asarray(rng.randint(0, 7, (2, 3)))
  weight = jnp.asarray([[1, 1, 0], [1, 0, 0]], jnp.float32)
  expected = (optax.softmax_cross_entropy(logits, optax.smooth_labels(jax.nn.one_hot(targets, 7), 0.1))
              * weight).sum()
  # Two float32 computations of 3 weighted cross-entropies over V = 7: log-sum-exp and a 7-term sum each.
  assert float(translation.smoothed_loss(logits, targets, weight, 0.1)) == pytest.approx(
      float(expected), rel=tolerances.rel(3 * 2 * 7))


def test_sampling_with_teacher_probability_one_is_teacher_forcing(tmp_path):
  """A schedule that always feeds the reference gives the teacher-forced loss and gradient exactly."""
  forced_config = _config('attention', **{'model.dropout': 0.0})
  sampled_config = _config('attention', **{'model.dropout': 0.0, 'task.sampling_schedule': 'linear',
                                           'task.sampling_slope': 0.0, 'task.sampling_min_teacher': 1.0})
  task = tasks.build(forced_config, str(tmp_path))
  model = models.build(forced_config.model, **task.model_dims)
  batch = next(task.train_batcher(8, 0))
  params = task.init_variables(model, jax.random.PRNGKey(0), batch, ())['params']
  sampled_task = tasks.build(sampled_config, str(tmp_path))
  rng = jax.random.PRNGKey(3)
  grad = lambda t: jax.value_and_grad(lambda p: t.loss(model, p, batch, (), rng, 100)[0])(params)
  (loss_a, grads_a), (loss_b, grads_b) = grad(task), grad(sampled_task)
  # The same tokens through two code paths: the sampled one runs the softmax inside the scan (per step) and
  # the forced one after it, so the two may round differently. Every loss and gradient value sums over the
  # batch's target tokens, each backpropagated through the decoder's steps and the (tiny) model's widths.
  model_terms = batch['tgt_in'].shape[1] * (forced_config.model.hidden_size + forced_config.model.embed_dim
                                            + model.tgt_vocab)
  assert float(loss_a) == pytest.approx(float(loss_b), rel=tolerances.rel(batch['tgt_in'].size * model_terms))
  tolerances.assert_trees_close(grads_a, grads_b, batch['tgt_in'].size * model_terms)
  # And a schedule that always samples does change the loss.
  always = _config('attention', **{'model.dropout': 0.0, 'task.sampling_schedule': 'linear',
                                   'task.sampling_slope': 1.0, 'task.sampling_min_teacher': 0.0})
  loss_c = tasks.build(always, str(tmp_path)).loss(model, params, batch, (), rng, 100)[0]
  assert abs(float(loss_c) - float(loss_a)) > 1e-4


def _check_results(results, workdir):
  for split in ('valid', 'test'):
    assert {f'{split}/{k}' for k in ('loss', 'ppl', 'bleu', 'bleu_greedy')} <= set(results)
    assert results[f'{split}/ppl'] == pytest.approx(math.exp(results[f'{split}/loss']))
    assert 0.0 <= results[f'{split}/bleu'] <= 100.0
  # Random-ish models still pay a loss near log(V) at most: well below 2 log V.
  assert results['test/loss'] < 2 * math.log(200)
  valid = [json.loads(line) for line in open(os.path.join(workdir, 'metrics.jsonl')) if '"valid"' in line]
  assert 'bleu_greedy' in valid[0]  # Periodic evaluations decode too.


@pytest.mark.parametrize('name', ('lstm', 'gru'))
def test_recurrent_configs_train_and_decode(name, tmp_path):
  """One training step lowers the loss on its batch; greedy and beam decoding run. (Full runs: attention, transformer.)"""
  config = _config(name, **{'model.dropout': 0.0})
  config_loading.validate(config)
  task = tasks.build(config, str(tmp_path))
  model = models.build(config.model, **task.model_dims)
  batch = next(task.train_batcher(8, 0))
  params = task.init_variables(model, jax.random.PRNGKey(0), batch, ())['params']
  loss_fn = lambda p: task.loss(model, p, batch, (), jax.random.PRNGKey(1), 0)[0]
  loss, grads = jax.value_and_grad(loss_fn)(params)
  stepped = jax.tree.map(lambda p, g: p - 0.1 * g, params, grads)
  assert float(loss_fn(stepped)) < float(loss)
  hyps = task.translate_ids(model, params, task.ids['valid'][0][:3], beam_size=2)
  assert [h.ndim for h in hyps] == [1, 1, 1]


def test_resume_equals_the_uninterrupted_run_and_translate_cli_reads_it(tmp_path):
  config = _config('transformer', **{'checkpoint.max_to_keep': 5, 'train.num_steps': 4, 'eval.every_steps': 2})
  full = loop.train_and_evaluate(config, str(tmp_path / 'full'))
  _check_results(full, tmp_path / 'full')
  interrupted = tmp_path / 'interrupted'  # As if killed after the checkpoint of step 2.
  shutil.copytree(tmp_path / 'full', interrupted)
  shutil.rmtree(interrupted / 'checkpoints' / '4')
  os.remove(interrupted / 'results.json')
  assert loop.train_and_evaluate(config, str(interrupted)) == full
  _check_translate_cli(tmp_path / 'full', tmp_path)


def test_config_errors_name_the_choices():
  """validate() checks a config before any data is read: no data set needed."""
  config_loading.validate(_config('attention', needs_data=False))  # The unchanged config passes.
  with pytest.raises(config_loading.ConfigError, match='inverse_sigmoid'):
    config_loading.validate(_config('attention', needs_data=False, **{'task.sampling_schedule': 'cosine'}))
  with pytest.raises(config_loading.ConfigError, match='steps_per_call'):
    config_loading.validate(_config('attention', needs_data=False, **{'train.steps_per_call': 2}))
  with pytest.raises(config_loading.ConfigError, match='additive'):
    config_loading.validate(_config('attention', needs_data=False, **{'model.attention': 'luong'}))


def _check_translate_cli(workdir, tmp_path):
  """translate.py reads stdin, prints what the task's decoder makes of each line, and plots attention."""
  lines = ['Ein Mann fährt Fahrrad.', 'Zwei Hunde spielen im Schnee.', 'Hallo']
  out = subprocess.run(
      [sys.executable, os.path.join(REPO, 'translate.py'), f'--workdir={workdir}', '--beam_size=2',
       f'--plot_attention={tmp_path / "attention.png"}'],
      input='\n'.join(lines) + '\n', capture_output=True, text=True, timeout=300, cwd=REPO)
  assert out.returncode == 0, out.stderr
  printed = out.stdout.split('\n')[:-1]
  assert len(printed) == len(lines)
  assert os.path.getsize(tmp_path / 'attention.png') > 1000
  # The CLI prints what the task's own decoder makes of the same sentences.
  config, model, params, src_vocab, tgt_vocab, _ = __import__('training.restore').restore.load_translator(
      str(workdir))
  task = tasks.build(config, str(workdir))
  expected = [tgt_vocab.decode(ids) for ids in task.translate_ids(
      model, params, [src_vocab.encode(line) for line in lines], beam_size=2)]
  assert printed == expected
  bad = subprocess.run([sys.executable, os.path.join(REPO, 'translate.py'), f'--workdir={tmp_path}'],
                       input='x\n', capture_output=True, text=True, timeout=120, cwd=REPO)
  assert bad.returncode != 0 and 'not a training workdir' in bad.stderr


def test_eval_batches_drive_translate_ids_in_corpus_order(tmp_path):
  """Sorting by length for decoding must not shuffle which hypothesis belongs to which sentence."""
  config = _config('lstm')
  task = tasks.build(config, str(tmp_path))
  model = models.build(config.model, **task.model_dims)
  batch = next(task.train_batcher(4, 0))
  params = task.init_variables(model, jax.random.PRNGKey(0), batch, ())['params']
  src_ids = task.ids['valid'][0][:20]
  together = task.translate_ids(model, params, src_ids, beam_size=1)
  alone = [task.translate_ids(model, params, [ids], beam_size=1)[0] for ids in src_ids[:5]]
  for a, b in zip(together[:5], alone):
    np.testing.assert_array_equal(a, b)
  assert all(len(h) >= 1 for h in together)
