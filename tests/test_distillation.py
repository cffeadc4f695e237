"""Knowledge distillation (tasks/distillation.py): the loss against closed forms, and a student trained from a
teacher workdir end to end."""
import json
import os
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import classify
import tasks
from data import labeled
from tasks import classification
from tasks import distillation
from training import config_loading
from training import errors
from training import loop
from training import checkpoint
from training import restore
from training import stored_params


def _softmax(x):
  e = np.exp(x - x.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def _rows(seed=0, b=6, k=3):
  rng = np.random.default_rng(seed)
  return rng.normal(size=(b, k)) * 2, rng.normal(size=(b, k)) * 2, rng.integers(0, k, b)


def test_at_temperature_1_and_alpha_0_the_loss_is_the_cross_entropy_to_the_teachers_distribution():
  student, teacher, labels = _rows()
  ones = jnp.ones(len(labels))
  total, _, (soft_sum, rows) = distillation.distillation_loss(
      jnp.asarray(student), jnp.asarray(labels), jnp.asarray(teacher), ones, ones, 'ce', 0.0, 1.0)
  expected = -np.mean(np.sum(_softmax(teacher) * np.log(_softmax(student)), -1))
  assert float(total) == pytest.approx(expected, rel=1e-5)
  assert float(soft_sum / rows) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize('temperature', [1.0, 2.0, 5.0])
def test_the_soft_terms_gradient_is_tau_times_the_difference_of_the_softened_distributions(temperature):
  student, teacher, _ = _rows(1)
  grad = jax.grad(lambda s: distillation.soft_loss(s, jnp.asarray(teacher), 'ce', temperature).sum())(
      jnp.asarray(student, jnp.float32))
  expected = temperature * (_softmax(student / temperature) - _softmax(teacher / temperature))
  np.testing.assert_allclose(np.asarray(grad), expected, atol=1e-5)


def test_mse_and_the_mix_of_hard_and_soft_terms_over_labeled_and_unlabeled_rows():
  student, teacher, labels = _rows(2)
  has_label = np.array([1, 1, 0, 1, 0, 0], np.float32)
  weight = np.array([1, 1, 1, 1, 1, 0], np.float32)  # The last row is filler.
  total, (hard_sum, labeled_rows), (soft_sum, rows) = distillation.distillation_loss(
      jnp.asarray(student), jnp.asarray(labels), jnp.asarray(teacher), jnp.asarray(has_label), jnp.asarray(weight),
      'mse', 0.3, 4.0)
  hard = -np.log(_softmax(student)[np.arange(6), labels])
  soft = np.mean((student - teacher) ** 2, -1)
  mask = has_label * weight
  assert (float(labeled_rows), float(rows)) == (3.0, 5.0)
  assert float(hard_sum) == pytest.approx(np.sum(hard * mask), rel=1e-5)
  assert float(soft_sum) == pytest.approx(np.sum(soft * weight), rel=1e-5)
  expected = 0.3 * np.sum(hard * mask) / 3 + 0.7 * np.sum(soft * weight) / 5
  assert float(total) == pytest.approx(expected, rel=1e-5)


def _sentences(n, seed):
  rng = np.random.RandomState(seed)
  words = (['dull', 'bad', 'flat', 'slow'], ['good', 'great', 'fun', 'witty'])
  return [f'{i % 2} ' + ' '.join(rng.choice(words[i % 2], rng.randint(1, 6))) + ' .' for i in range(n)]


@pytest.fixture(scope='module')
def teacher(tmp_path_factory):
  root = tmp_path_factory.mktemp('distill')
  paths = {}
  for split, n, seed in (('train', 60, 0), ('valid', 16, 1), ('test', 16, 2)):
    (root / split).write_text('\n'.join(_sentences(n, seed)) + '\n')
    paths[f'data.{split}_path'] = str(root / split)
  unlabeled = [line[2:] for line in _sentences(30, 3)]
  unlabeled[0] += ' zebra'  # A word of the unlabeled text alone.
  (root / 'unlabeled.txt').write_text('\n'.join(unlabeled) + '\n')
  data = {'log.progress_bar': False, 'data.dir': '', 'data.name': 'files', **paths}
  config = config_loading.apply_overrides(config_loading.load_config('configs/classify/cnn.py:tiny'), data)
  loop.train_and_evaluate(config, str(root / 'teacher'))
  return root, data


def test_a_student_trains_on_the_teachers_logits_of_its_sentences_and_the_unlabeled_text(teacher, monkeypatch):
  root, data = teacher
  overrides = {**data, 'task.distill_from': str(root / 'teacher'), 'data.distill_corpus': str(root / 'unlabeled.txt'),
               'task.distill_cache': str(root / 'cache'), 'task.distill_alpha': 0.5}
  config = config_loading.apply_overrides(config_loading.load_config('configs/classify/boe.py:tiny'), overrides)
  config_loading.validate(config)
  task = tasks.build(config, str(root / 'student'))
  texts = [line[2:] for line in _sentences(60, 0)] + (root / 'unlabeled.txt').read_text().splitlines()
  assert task.vocab.encode('zebra')[0] != labeled.UNK_ID  # The student's vocabulary covers the unlabeled text.
  assert len(task.data['train'][0]) == 90
  np.testing.assert_array_equal(task.split_extras['train']['has_label'], [1.0] * 60 + [0.0] * 30)
  # The teacher's logits are its own predictions of those texts, as classify.py makes them.
  t_config, t_model, t_params, t_vocab, _ = restore.load_classifier(str(root / 'teacher'))
  probs = classify.probabilities(t_model, t_params, classification.encode_as_read(t_config.data, t_vocab, texts), 7,
                                 t_config.data)
  np.testing.assert_allclose(_softmax(task.split_extras['train']['teacher_logits']), probs, atol=1e-5)
  batch = next(task.train_batcher(8, 0))
  real = batch['index'] >= 0
  teacher = task.split_extras['train']['teacher_logits']
  np.testing.assert_array_equal(batch['teacher_logits'][real], teacher[batch['index'][real]])
  # A second student reads the cache instead of labeling again.
  calls = []
  monkeypatch.setattr(classification, 'predict_rows', lambda *a, **k: calls.append(1))
  tasks.build(config, str(root / 'student2'))
  assert not calls and len(os.listdir(root / 'cache')) == 1
  monkeypatch.undo()
  results = loop.train_and_evaluate(config, str(root / 'student'))
  assert {'test/accuracy', 'valid/accuracy'} <= set(results)


def test_distillation_config_errors(teacher, tmp_path):
  root, data = teacher
  base = config_loading.apply_overrides(config_loading.load_config('configs/classify/boe.py:tiny'), data)
  cases = [({'data.distill_corpus': 'imdb'}, 'set task.distill_from too'),
           ({'task.distill_from': str(root / 'teacher'), 'task.distill_loss': 'kl'}, "choose one of: ce, mse"),
           ({'task.distill_from': str(root / 'teacher'), 'task.distill_alpha': 1.5}, 'must be in \\[0, 1\\]'),
           ({'task.distill_from': str(root / 'teacher'), 'task.distill_temperature': 0.0}, 'must be > 0')]
  for overrides, message in cases:
    with pytest.raises(config_loading.ConfigError, match=message):
      config_loading.validate(config_loading.apply_overrides(base, overrides))
  with pytest.raises(errors.WorkdirError, match='is not a training workdir'):  # Read when the task is built.
    tasks.build(config_loading.apply_overrides(base, {'task.distill_from': str(tmp_path)}), str(tmp_path / 'run'))


def test_inference_speed_bench_reports_each_workdir(teacher, tmp_path):
  root, _ = teacher
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  out = tmp_path / 'speed.json'
  result = subprocess.run([sys.executable, 'bench/inference_speed.py', f'--workdirs={root / "teacher"}',
                           '--rounds=1', '--batch_size=4', f'--out={out}'], capture_output=True, text=True,
                          cwd=repo, timeout=300)
  assert result.returncode == 0, result.stderr
  [(workdir, numbers)] = json.loads(out.read_text()).items()
  assert numbers['sentences'] == 16 and numbers['sentences_per_s'] > 0 and workdir in result.stdout
  _, _, params, _, _ = restore.load_classifier(str(root / 'teacher'))
  assert numbers['params'] == sum(p.size for p in jax.tree.leaves(params))
  with pytest.raises(errors.WorkdirError):  # The script prints it as one error line.
    restore.load_classifier(str(tmp_path))


def test_an_exported_teacher_is_read_as_its_best_parameters_in_float16(teacher, tmp_path):
  """A sweep exports a finished teacher (stored_params.export); load_classifier then reads the export: the best
  validation evaluation's parameters and step, float16 values, even with no checkpoint left (a records copy)."""
  root, _ = teacher
  copy = tmp_path / 'teacher'
  shutil.copytree(root / 'teacher', copy)
  step, params = stored_params.final_params(str(copy))
  best = checkpoint.Checkpointer(stored_params.directory(str(copy)))
  assert step == best.latest_step()
  best.close()
  stored_params.export(str(copy))
  shutil.rmtree(copy / 'checkpoints')
  shutil.rmtree(copy / 'best')
  _, _, loaded, _, loaded_step = restore.load_classifier(str(copy))
  assert loaded_step == step
  for want, got in zip(jax.tree.leaves(params), jax.tree.leaves(loaded)):
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.asarray(want, np.float16).astype(np.float32))
