"""classify.py: one line per input line, the probabilities of the task's own evaluation, any batch size, and
one-line errors for a workdir that holds no classifier."""
import json
import os
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

import classify
import tasks
from tasks import classification
from tests import tolerances
from training import config_loading
from training import loop
from training import restore

# Capitals, clitics, hyphens and trailing spaces, which data.clean='kim' rewrites; 'terrible' and 'Superb' are
# not in the training data (<unk>); the 9-word lines are cut by data.max_len.
TEST_LINES = ['1 Good , great fun .', "0 It isn't good ; flat and DULL . ", '1 Superb', '0 terrible , slow-paced',
              '1 fun fun fun great great well-made good good fun', '0 ', '1 It\'s GREAT']
INPUT = ['Good , great fun .', "  It isn't good ; flat and DULL . ", '', 'Superb', 'bad bad bad bad bad bad bad bad']


def _sentences(n: int, seed: int = 0) -> list:
  """n LABEL TEXT lines, two classes told apart by their words."""
  rng = np.random.RandomState(seed)
  words = (['Dull', 'bad', 'slow-paced', "isn't", 'flat'], ['Good', 'great', 'well-made', "it's", 'fun'])
  return [f'{i % 2} ' + ' '.join(rng.choice(words[i % 2], rng.randint(1, 10))) + ' .' for i in range(n)]


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  """A tiny CNN classifier trained on files, with Kim's normalizer and a max_len that cuts."""
  root = tmp_path_factory.mktemp('classify')
  lines = {'train': _sentences(48), 'valid': _sentences(16, seed=1), 'test': TEST_LINES}
  for split, split_lines in lines.items():
    (root / split).write_text(''.join(line + '\n' for line in split_lines))
  config = config_loading.load_config('configs/classify/cnn.py:tiny')
  config = config_loading.apply_overrides(config, {
      'log.progress_bar': False, 'data.dir': '', 'data.name': 'files', 'data.clean': 'kim', 'data.max_len': 6,
      **{f'data.{split}_path': str(root / split) for split in lines}})
  loop.train_and_evaluate(config, str(root / 'run'))
  return str(root / 'run')


def _tolerance_terms(config) -> int:
  """Rounded operations behind a logit of the CNN: the widest window's dot product, the output layer's."""
  return max(config.model.filter_widths) * config.model.embed_dim + len(config.model.filter_widths) * \
      config.model.num_filters


def _classify(*args, stdin: str = ''):
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  return subprocess.run([sys.executable, os.path.join(config_loading.REPO_ROOT, 'classify.py'), *args], env=env,
                        capture_output=True, text=True, timeout=120, input=stdin)


def _in_process(workdir: str, lines: list, batch_size: int, which: str = 'best'):
  config, model, params, vocab, _ = restore.load_classifier(workdir, which)
  return classify.probabilities(model, params, classification.encode_as_read(config.data, vocab, lines), batch_size,
                                config.data)


def test_prints_a_line_per_input_line_the_label_the_most_probable(workdir):
  result = _classify(f'--workdir={workdir}', '--batch_size=2', stdin=''.join(line + '\n' for line in INPUT))
  assert result.returncode == 0, result.stderr[-2000:]
  out = result.stdout.split('\n')
  assert out[-1] == '' and len(out[:-1]) == len(INPUT), result.stdout
  labels, probs = zip(*(line.split('\t') for line in out[:-1]))
  probs_RK = np.array([[float(p) for p in row.split(' ')] for row in probs])
  assert probs_RK.shape == (len(INPUT), 2)
  np.testing.assert_allclose(probs_RK.sum(1), 1.0, atol=2 * 5e-7 + 1e-6)  # Two roundings to 6 decimals.
  assert [int(label) for label in labels] == list(np.argmax(probs_RK, 1))
  np.testing.assert_allclose(probs_RK, _in_process(workdir, INPUT, 2), rtol=0, atol=5e-7 + 1e-6)


def test_probabilities_are_the_models_on_the_tasks_own_evaluation_batches(workdir):
  config, model, params, _, _ = restore.load_classifier(workdir)
  # The task reads and encodes the test file as training did; classify.py gets the same texts without labels.
  task = tasks.build(config, workdir, resuming=True)
  want_RK = np.zeros((len(TEST_LINES), 2))
  for batch in task.eval_batches('test', config.eval.batch_size):
    probs_BK = jax.nn.softmax(model.apply({'params': params}, batch['tokens'], batch['length']))
    real_B = batch['index'] >= 0
    want_RK[batch['index'][real_B]] = np.asarray(probs_BK)[real_B]
  assert np.ptp(want_RK[:, 0]) > 1e-3  # The sentences get different probabilities: the order is checked.
  got_RK = _in_process(workdir, [line.partition(' ')[2] for line in TEST_LINES], batch_size=3)
  tolerances.assert_close(got_RK, want_RK, _tolerance_terms(config), scale=1.0)


def test_batch_sizes_1_and_7_agree(workdir):
  config, *_ = restore.load_classifier(workdir)
  lines = INPUT + [line.partition(' ')[2] for line in TEST_LINES]
  tolerances.assert_close(_in_process(workdir, lines, 1), _in_process(workdir, lines, 7),
                          _tolerance_terms(config), scale=1.0)


def test_best_parameters_are_those_results_json_reports(workdir):
  config, _, _, _, best_step = restore.load_classifier(workdir, 'best')
  _, _, _, _, latest_step = restore.load_classifier(workdir, 'latest')
  with open(os.path.join(workdir, 'results.json')) as f:
    assert best_step == json.load(f)['select/step']
  assert latest_step == config.train.num_steps


def test_a_workdir_without_a_classifier_is_a_one_line_error(workdir, tmp_path):
  lm = tmp_path / 'lm'
  lm.mkdir()
  (lm / 'config.json').write_text(json.dumps(config_loading.load_config('configs/charlm/gpt.py:tiny').to_dict()))
  untrained = tmp_path / 'untrained'  # Its config and vocabulary written, no evaluation or checkpoint yet.
  untrained.mkdir()
  shutil.copy(os.path.join(workdir, 'config.json'), untrained)
  shutil.copytree(os.path.join(workdir, 'vocab'), untrained / 'vocab')
  missing = tmp_path / 'missing'
  cases = [(lm, f"'{lm}' holds a 'lm' run; classifying needs task.name \"classification\"."),
           (missing, f"'{missing}' is not a training workdir: '{missing / 'config.json'}' does not exist."),
           (untrained, f"No checkpoint in '{untrained / 'best'}' yet.")]
  for path, message in cases:
    result = _classify(f'--workdir={path}', stdin='good\n')
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [f'error: {message}']
  assert sorted(os.listdir(untrained)) == ['config.json', 'vocab']  # Reading created nothing.


def test_lines_are_read_as_the_task_reads_an_imdb_review():
  import ml_collections
  from data import labeled
  from data import tokenizers
  vocab = tokenizers.Vocabulary(tokenizers.build_tokenizer('word', 'great film ! a b', newline=False),
                                labeled.RESERVED)
  data = ml_collections.ConfigDict(dict(name='imdb', clean='lowercase_split', max_len=3))
  encoded = classification.encode_as_read(data, vocab, ['  Great<br /><br />film! A b  '])
  assert [vocab.decode(ids) for ids in encoded] == ['great film !']
