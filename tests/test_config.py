"""Config loading, overrides and the errors that stop a run before anything compiles."""
import os
import subprocess
import sys

import ml_collections
import pytest

from configs import renamed
import models
from training import config_loading

REPO = config_loading.REPO_ROOT
CONFIGS = ['naive', 'dense', 'simple_rnn', 'deep_rnn', 'deep_rnn_dense']


@pytest.mark.parametrize('name', CONFIGS)
def test_every_timeseries_config_validates(name):
  for variant in ('', ':tiny'):
    config_loading.validate(config_loading.load_config(f'configs/timeseries/{name}.py{variant}'))


def test_renamed_fields_of_an_old_config_json_read_under_their_new_names():
  old = {'seed': 0, 'model': {'name': 'rnn_seq2seq', 'hidden': 16, 'scan_unroll': 2}}
  assert renamed.upgrade(old) == {'seed': 0, 'model': {'name': 'rnn_seq2seq', 'hidden_size': 16, 'unroll': 2}}
  assert old['model']['hidden'] == 16  # Left as it was.
  model = models.build(ml_collections.ConfigDict(renamed.upgrade(old)['model']), src_vocab_size=9, tgt_vocab_size=9)
  assert model.hidden_size == 16


def test_overrides_apply_with_types(tiny_config):
  config = tiny_config('deep_rnn_dense', **{'model.hidden_sizes': [8, 4], 'optimizer.learning_rate': 3e-3})
  assert config.model.hidden_sizes == (8, 4)
  assert config.optimizer.learning_rate == 3e-3


def test_unknown_key_lists_the_valid_keys(tiny_config):
  with pytest.raises(config_loading.ConfigError, match=r"Unknown config key 'optimizer.lr'.*learning_rate"):
    tiny_config(**{'optimizer.lr': 0.1})
  with pytest.raises(config_loading.ConfigError, match=r"'optimiser.name'.*top level.*optimizer"):
    tiny_config(**{'optimiser.name': 'sgd'})


@pytest.mark.parametrize('key,value,message', [
    ('model.name', 'lstmm', r"model.name 'lstmm'; choose one of: bart_classifier, bilstm_tagger, boe, cnn, dense, elmo_classifier, gpt, gpt_classifier, kim_cnn, mlp_lm, naive, ngram, recursive, rnn,"),
    ('optimizer.name', 'adamm', r"optimizer.name 'adamm'; choose one of: sgd, momentum"),
    ('schedule.name', 'cos', r"schedule.name 'cos'; choose one of: constant, warmup_cosine"),
    ('task.name', 'mt', r"task.name 'mt'; choose one of: classification, copy, lm, pretrain, regression, tag, translation"),
    ('data.name', 'ptb', r"data.name 'ptb'; choose one of: timeseries, adding"),
    ('train.batch_size', 0, r'train.batch_size must be > 0'),
    ('eval.splits', 'valid,dev', r"eval.splits entry 'dev'; choose one of: train, valid, test"),
    ('model.head', 'mlp', r"model.head 'mlp'; choose one of: dense, none"),
])
def test_bad_values_name_the_choices(tiny_config, key, value, message):
  with pytest.raises(config_loading.ConfigError, match=message):
    config_loading.validate(tiny_config(**{key: value}))


def _train_cli(*args, tmp_path):
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  return subprocess.run([sys.executable, os.path.join(REPO, 'train.py'), *args, f'--workdir={tmp_path}/w'],
                        capture_output=True, text=True, cwd=REPO, env=env, timeout=120)


def test_cli_unknown_override_is_explained_not_a_traceback(tmp_path):
  result = _train_cli('--config=configs/timeseries/dense.py:tiny', '--config.train.batchsize=8', tmp_path=tmp_path)
  assert result.returncode != 0
  assert "Unknown config key 'train.batchsize'" in result.stderr and 'batch_size' in result.stderr
  assert 'Traceback' not in result.stderr
  assert not os.path.exists(tmp_path / 'w')


def test_cli_bad_model_name_stops_before_anything_is_written(tmp_path):
  result = _train_cli('--config=configs/timeseries/dense.py:tiny', '--config.model.name=gru', tmp_path=tmp_path)
  assert result.returncode != 0
  assert "Unknown model.name 'gru'; choose one of: bart_classifier, bilstm_tagger, boe, cnn, dense, elmo_classifier, gpt, gpt_classifier, kim_cnn, mlp_lm, naive, ngram" in result.stderr
  assert not os.path.exists(tmp_path / 'w')


def _shipped(folder):
  root = os.path.join(REPO, 'configs', folder)
  return sorted(f'configs/{folder}/{name}' for name in os.listdir(root)
                if name.endswith('.py') and name not in ('__init__.py', 'common.py'))


@pytest.mark.parametrize('path', [p for folder in ('charlm', 'classify', 'pretrain', 'mt', 'adding', 'copy', 'sst', 'tag')
                                  for p in _shipped(folder)])
def test_every_shipped_config_validates_with_its_tiny_variant(path):
  for variant in ('', ':tiny'):
    config_loading.validate(config_loading.load_config(path + variant))


@pytest.mark.parametrize('path', _shipped('ablations'))
def test_every_sweep_file_checks_all_its_rows(path):
  from training import sweep
  assert sweep.load_sweep(path)['rows']
