"""Classification and pretraining tasks: masking, LM sums, model selection, fine-tuning, folds in sweeps."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
import tasks
from data import labeled
from tasks import classification
from training import checkpoint
from training import config_loading
from training import loop
from training import sweep as sweeps


def _data_dir():
  data_dir = os.environ.get('SEQLAB_DATA_DIR', '')
  if not os.path.exists(os.path.join(data_dir, 'sentiment', 'sst2.train')):
    pytest.skip('SEQLAB_DATA_DIR does not hold sentiment/')
  return data_dir


def _config(path, **overrides):
  config = config_loading.load_config(f'{path}:tiny')
  return config_loading.apply_overrides(config, dict({'log.progress_bar': False, 'data.dir': _data_dir()},
                                                     **overrides))


def test_masking_proportions_on_a_large_sample():
  """15% of the real tokens are chosen; of those 80% become [MASK], 10% a random word, 10% stay."""
  B, T, V = 256, 128, 1000
  rng = np.random.RandomState(0)
  tokens = rng.randint(labeled.NUM_SPECIAL, V, (B, T))
  length = rng.randint(0, T + 1, B)
  inputs, chosen = jax.device_get(classification.mask_tokens(
      jax.random.PRNGKey(0), jnp.asarray(tokens), jnp.asarray(length), V))
  real = np.arange(T)[None, :] < length[:, None]
  assert not chosen[~real].any() and (inputs[~real] == tokens[~real]).all()
  n_real, n_chosen = real.sum(), chosen.sum()
  assert n_chosen / n_real == pytest.approx(0.15, abs=0.005)
  masked = chosen & (inputs == labeled.MASK_ID)
  kept = chosen & (inputs == tokens)
  replaced = chosen & ~masked & ~kept
  # A random word equals the original with chance 1 / (V - 4): a few "random" picks count as kept.
  assert masked.sum() / n_chosen == pytest.approx(0.8, abs=0.01)
  assert replaced.sum() / n_chosen == pytest.approx(0.1 * (1 - 1 / (V - 4)), abs=0.01)
  assert kept.sum() / n_chosen == pytest.approx(0.1, abs=0.01)
  assert (inputs[replaced] >= labeled.NUM_SPECIAL).all()
  assert not (chosen & ~real).any()


def test_word_dropout_hides_that_share_of_the_real_tokens_and_nothing_else():
  B, T, V = 256, 128, 1000
  rng = np.random.RandomState(2)
  tokens = rng.randint(labeled.NUM_SPECIAL, V, (B, T))
  length = rng.randint(0, T + 1, B)
  real = np.arange(T)[None, :] < length[:, None]
  tokens[~real] = labeled.PAD_ID
  dropped = np.asarray(classification.drop_words(jax.random.PRNGKey(0), jnp.asarray(tokens), jnp.asarray(length),
                                                 0.25))
  hidden = dropped != tokens
  assert (dropped[hidden] == labeled.UNK_ID).all() and not hidden[~real].any()
  assert hidden.sum() / real.sum() == pytest.approx(0.25, abs=0.005)


def test_causal_lm_sums_match_a_loop():
  rng = np.random.RandomState(1)
  B, T, V = 3, 6, 7
  logits = rng.randn(B, T, V).astype(np.float32)
  tokens = rng.randint(0, V, (B, T))
  length = np.array([6, 2, 0])
  (nll, count), (correct, _) = classification.causal_lm_sums(jnp.asarray(logits), jnp.asarray(tokens),
                                                             jnp.asarray(length))
  want_nll, want_count, want_correct = 0.0, 0, 0
  for b in range(B):
    for t in range(length[b] - 1):
      log_p = logits[b, t] - np.log(np.exp(logits[b, t]).sum())
      want_nll -= log_p[tokens[b, t + 1]]
      want_count += 1
      want_correct += int(np.argmax(logits[b, t]) == tokens[b, t + 1])
  assert float(nll) == pytest.approx(want_nll, rel=1e-5)
  assert float(count) == want_count and float(correct) == want_correct


def _records(path):
  return [{k: v for k, v in r.items() if k != 'wall_time'} for r in map(json.loads, open(path))]


def test_best_valid_parameters_are_the_ones_evaluated(tmp_path):
  config = _config('configs/classify/boe.py', **{'train.num_steps': 8, 'eval.every_steps': 2})
  results = loop.train_and_evaluate(config, str(tmp_path))
  records = _records(tmp_path / 'metrics.jsonl')
  valid = {r['step']: r['accuracy'] for r in records if r['split'] == 'valid'}
  assert sorted(valid) == [2, 4, 6, 8]  # Each step's own parameters, the last step's too.
  # The first of the best (select_ties=earlier) is reported, evaluated again to the same figure.
  assert results['select/step'] == min(s for s, a in valid.items() if a == max(valid.values()))
  assert results['valid/accuracy'] == pytest.approx(valid[results['select/step']])
  assert 0.0 <= results['test/accuracy'] <= 100.0
  # Killed during the final evaluations (every checkpoint saved, no results.json): the rerun repeats them
  # and the log ends as it did, nothing in it twice.
  os.remove(tmp_path / 'results.json')
  assert loop.train_and_evaluate(config, str(tmp_path)) == results
  assert _records(tmp_path / 'metrics.jsonl') == records


def test_vocab_from_all_gives_words_seen_only_outside_training_their_own_ids(tmp_path):
  overrides = {'data.max_vocab': 0, 'data.name': 'sst2'}
  by_train = tasks.build(_config('configs/classify/kim_cnn.py', **overrides), str(tmp_path / 'train'))
  by_all = tasks.build(_config('configs/classify/kim_cnn.py', **overrides, **{'data.vocab_from': 'all'}),
                       str(tmp_path / 'all'))
  train_words = {w for ids in by_train.data['train'][0] for w in by_train.vocab.decode(ids).split()}
  test_words = {w for ids in by_all.data['test'][0] for w in by_all.vocab.decode(ids).split()}
  assert test_words - train_words  # SST-2's test has words its training file lacks ...
  for ids in by_all.data['test'][0] + by_all.data['valid'][0]:
    assert labeled.UNK_ID not in ids  # ... and each has a row of its own, none is <unk>.
  assert any(labeled.UNK_ID in ids for ids in by_train.data['test'][0])
  assert set(by_train.vocab.words) < set(by_all.vocab.words)


@pytest.mark.parametrize('ties, want_step', [('earlier', 2), ('later', 6)])
def test_best_parameters_on_a_tie_follow_select_ties(tmp_path, ties, want_step):
  """Valid accuracies 70, 80, 75, 80: the tie at 80 keeps step 2 or step 6 (Kim's code: `>=`)."""
  best = loop.BestParams(str(tmp_path / ties), 'accuracy', 'max', ties)
  for step, accuracy in ((1, 70.0), (2, 80.0), (4, 75.0), (6, 80.0)):
    best.offer(step, {'accuracy': accuracy}, {'w': jnp.full((2,), float(step))})
  step, params = best.load({'w': jnp.zeros((2,))})
  best.close()
  assert step == want_step
  np.testing.assert_array_equal(params['w'], [want_step, want_step])


def test_sweep_pretrains_then_fine_tunes_every_fold_from_all_pretrained_weights(tmp_path):
  """A sweep row with folds and init_from; fine-tuning loads every pretrained array, only the head is fresh."""
  sweep_file = tmp_path / 'sweep.py'
  data_dir = _data_dir()
  sweep_file.write_text(f'''
def get_sweep():
  common = {{'data.dir': {data_dir!r}, 'train.num_steps': 2, 'eval.every_steps': 2, 'log.progress_bar': False}}
  return dict(
      seeds=1, metrics=('test/accuracy', 'train/seconds'),
      pretraining={{'lm': dict(config='configs/pretrain/lstm.py:tiny', overrides=dict(common))}},
      rows=[dict(name='mr', config='configs/classify/lstm.py:tiny', folds=2, init_from='lm',
                 overrides=dict(common, **{{'data.name': 'mr', 'data.num_folds': 2}}))])
''')
  sweep = sweeps.load_sweep(str(sweep_file))
  sweeps.run_sweep(sweep, str(tmp_path / 'out'), pretrain_only=True)
  assert (tmp_path / 'out' / 'pretrain' / 'lm' / 'results.json').exists() and not (tmp_path / 'out' / 'mr').exists()
  sweeps.run_sweep(sweep, str(tmp_path / 'out'))
  folds = [json.load(open(tmp_path / 'out' / 'mr' / 'seed_0' / f'fold_{f}' / 'results.json')) for f in (0, 1)]
  table = sweeps.collect(sweep, str(tmp_path / 'out'))
  assert table[0]['test/accuracy_mean'] == pytest.approx(np.mean([r['test/accuracy'] for r in folds]))
  pretrained_dir = tmp_path / 'out' / 'pretrain' / 'lm'
  for fold in (0, 1):
    config = json.load(open(tmp_path / 'out' / 'mr' / 'seed_0' / f'fold_{fold}' / 'config.json'))
    assert config['data']['fold'] == fold and config['init_from'] == str(pretrained_dir)
    # The pretrained vocabulary is the fine-tuning one.
    assert (open(tmp_path / 'out' / 'mr' / 'seed_0' / f'fold_{fold}' / 'vocab' / 'vocab.txt').read()
            == open(pretrained_dir / 'vocab' / 'vocab.txt').read())
  # From a records copy, a fresh workdir has every fold finished, so the pretraining is not trained again.
  sweeps.sync_records(str(tmp_path / 'out'), str(tmp_path / 'records'))
  assert not (tmp_path / 'records' / 'pretrain').exists()
  sweeps.run_sweep(sweep, str(tmp_path / 'fresh'), records=str(tmp_path / 'records'))
  assert not (tmp_path / 'fresh' / 'pretrain').exists()
  assert sweeps.collect(sweep, str(tmp_path / 'fresh'))[0]['test/accuracy_mean'] == table[0]['test/accuracy_mean']
  config = _config('configs/classify/lstm.py', **{'data.name': 'mr', 'data.num_folds': 2,
                                                  'init_from': str(pretrained_dir)})
  task = tasks.build(config, str(tmp_path / 'out' / 'mr' / 'seed_0' / 'fold_0'))
  model = models.build(config.model, **task.model_dims)
  batch = next(task.train_batcher(4, 0))
  fresh_params = task.init_variables(model, jax.random.PRNGKey(5), batch, ())['params']
  params, loaded, fresh = loop.load_pretrained(fresh_params, str(pretrained_dir))
  assert fresh and all(path.startswith('output/') for path in fresh)
  saved = checkpoint.Checkpointer(loop.ckpt_dir(str(pretrained_dir)))
  want = saved.restore_params(saved.latest_step())
  saved.close()
  flat = lambda tree: jax.tree_util.tree_flatten_with_path(tree)[0]
  got = {jax.tree_util.keystr(k): v for k, v in flat(params)}
  for path, value in flat(want):
    np.testing.assert_array_equal(got[jax.tree_util.keystr(path)], value)
  assert len(loaded) == len(flat(want))
  # A model the checkpoint does not fit is refused with the parameter named.
  other = _config('configs/classify/lstm.py', **{'model.hidden': 8})
  other_params = models.build(other.model, **task.model_dims).init(jax.random.PRNGKey(0), batch['tokens'],
                                                                    batch['length'])['params']
  with pytest.raises(ValueError, match='does not fit'):
    loop.load_pretrained(other_params, str(pretrained_dir))


def test_config_errors_name_the_choices():
  with pytest.raises(config_loading.ConfigError, match='mlm'):
    config_loading.validate(_config('configs/pretrain/mlm.py', **{'task.objective': 'bert'}))
  with pytest.raises(config_loading.ConfigError, match='max, min'):
    config_loading.validate(_config('configs/classify/boe.py', **{'eval.select_mode': 'best'}))
  with pytest.raises(config_loading.ConfigError, match='earlier, later'):
    config_loading.validate(_config('configs/classify/boe.py', **{'eval.select_ties': 'last'}))
  with pytest.raises(config_loading.ConfigError, match='train, all'):
    config_loading.validate(_config('configs/classify/boe.py', **{'data.vocab_from': 'test'}))
  with pytest.raises(config_loading.ConfigError, match='not a trained workdir'):
    config_loading.validate(_config('configs/classify/boe.py', init_from='/nonexistent'))
  with pytest.raises(config_loading.ConfigError, match='sst2'):
    config_loading.validate(_config('configs/classify/boe.py', **{'data.name': 'imdb'}))
  with pytest.raises(config_loading.ConfigError, match=r'task.word_dropout must be in \[0, 1\)'):
    config_loading.validate(_config('configs/classify/kim_cnn.py', **{'task.word_dropout': 1.0}))
  with pytest.raises(config_loading.ConfigError, match=r'data.pool_batches must be >= 1'):
    config_loading.validate(_config('configs/classify/kim_cnn.py', **{'data.pool_batches': 0}))
  with pytest.raises(config_loading.ConfigError, match=r'needs data.pool_batches=1; got 100'):
    config_loading.validate(_config('configs/classify/boe.py', **{'data.fixed_batches': True}))
