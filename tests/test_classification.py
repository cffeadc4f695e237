"""Classification and pretraining tasks: masking, LM sums, classes, model selection, fine-tuning, folds in sweeps.

Tests that read SST-2 or MR skip (saying so) unless $SEQLAB_DATA_DIR holds sentiment/; the others write their
own LABEL TEXT files.
"""
import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
import tasks
from data import files
from data import labeled
from data import tokenizers
from tasks import classification
from training import checkpoint
from training import config_loading
from training import loop
from training import stored_params
from training import sweep as sweeps


def _data_dir():
  data_dir = os.environ.get('SEQLAB_DATA_DIR', '')
  if not os.path.exists(os.path.join(data_dir, 'sentiment', 'sst2.train')):
    pytest.skip('SEQLAB_DATA_DIR does not hold sentiment/')
  return data_dir


def _config(path, data_dir=None, **overrides):
  """The tiny variant of a config; data_dir None: $SEQLAB_DATA_DIR (skips without it), '' for none."""
  data_dir = _data_dir() if data_dir is None else data_dir
  config = config_loading.load_config(f'{path}:tiny')
  return config_loading.apply_overrides(config, dict({'log.progress_bar': False, 'data.dir': data_dir}, **overrides))


def _write_files(directory, **splits):
  """directory/SPLIT for each split's LABEL TEXT lines; the data.* overrides that read them."""
  directory.mkdir(parents=True, exist_ok=True)
  for split, lines in splits.items():
    (directory / split).write_text(''.join(line + '\n' for line in lines))
  return {'data.name': 'files', **{f'data.{split}_path': str(directory / split) for split in splits}}


def _sentences(n, seed=0):
  """n LABEL TEXT lines, two classes told apart by their words, with capitals, hyphens and periods."""
  rng = np.random.RandomState(seed)
  words = (['Dull', 'bad', 'slow-paced', "isn't", 'flat'], ['Good', 'great', 'well-made', "it's", 'fun'])
  return [f'{i % 2} ' + ' '.join(rng.choice(words[i % 2], rng.randint(1, 9))) + ' .' for i in range(n)]


def test_masking_proportions_on_a_large_sample():
  """15% of the real tokens are chosen; of those 80% become [MASK], 10% a random word, 10% stay."""
  B, T, V = 256, 128, 1000
  rng = np.random.RandomState(0)
  tokens = rng.randint(labeled.NUM_RESERVED, V, (B, T))
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
  assert (inputs[replaced] >= labeled.NUM_RESERVED).all()
  assert not (chosen & ~real).any()


def test_word_dropout_hides_that_share_of_the_real_tokens_and_nothing_else():
  B, T, V = 256, 128, 1000
  rng = np.random.RandomState(2)
  tokens = rng.randint(labeled.NUM_RESERVED, V, (B, T))
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
  # The first of the best (ties: the earlier) is reported, evaluated again to the same figure.
  assert results['select/step'] == min(s for s, a in valid.items() if a == max(valid.values()))
  assert results['valid/accuracy'] == pytest.approx(valid[results['select/step']])
  assert 0.0 <= results['test/accuracy'] <= 100.0
  # Killed during the final evaluations (every checkpoint saved, no results.json): the rerun repeats them
  # and the log ends as it did, nothing in it twice.
  os.remove(tmp_path / 'results.json')
  assert loop.train_and_evaluate(config, str(tmp_path)) == results
  assert _records(tmp_path / 'metrics.jsonl') == records


def test_a_label_outside_the_classes_is_an_error_naming_its_file_and_line(tmp_path):
  """A stray 7 in a 0/1 file once made an 8-class model without a word."""
  lines = _sentences(20)
  build = lambda **splits: tasks.build(_config('configs/classify/boe.py', '', **_write_files(tmp_path / 'd', **splits)),
                                       str(tmp_path / 'run'))
  with pytest.raises(files.DataError, match=r"^Label 7 is not one of the 2 classes \(0 to 1\) of the training file "
                                            rf"{tmp_path / 'd' / 'train'}: {tmp_path / 'd' / 'test'}, line 3\.$"):
    build(train=lines, valid=lines[:4], test=lines[:2] + ['7 a stray label'] + lines[2:4])
  # In the training file itself: a class id past classes without examples.
  with pytest.raises(files.DataError, match=rf"^Label 7 leaves classes 2, 3, 4, 5, 6 without a training example: "
                                            rf"{tmp_path / 'd' / 'train'}, line 5\."):
    build(train=lines[:4] + ['7 a stray label'] + lines[4:], valid=lines[:4], test=lines[:4])
  # Three real classes: the model gets three outputs.
  three = lines + ['2 a third kind of sentence'] * 3
  assert build(train=three, valid=lines[:4], test=three[-4:]).model_dims['num_classes'] == 3


def test_a_stale_vocabulary_is_rebuilt_without_a_checkpoint_and_refused_with_one(tmp_path):
  """tasks.build as train.py calls it: `resuming` when the workdir holds a checkpoint."""
  workdir = str(tmp_path / 'run')
  first_files = _write_files(tmp_path / 'a', train=_sentences(30), valid=_sentences(4, 1), test=_sentences(4, 2))
  first = tasks.build(_config('configs/classify/boe.py', '', **first_files), workdir)
  other = [f'{i % 2} ' + ' '.join(['zz', 'yy', 'xx'][:1 + i % 3]) for i in range(30)]
  second_files = _write_files(tmp_path / 'b', train=other, valid=other[:4], test=other[:4])
  # No checkpoint: the vocabulary left by the earlier start is rebuilt from this text.
  task = tasks.build(_config('configs/classify/boe.py', '', **second_files), workdir)
  assert task.vocab.vocab_size == labeled.NUM_RESERVED + 3 != first.vocab.vocab_size
  assert task.vocab.decode(task.data['train'][0][2]) == 'zz yy xx'
  resumed = tasks.build(_config('configs/classify/boe.py', '', **second_files), workdir, resuming=True)
  assert resumed.vocab.vocab_size == task.vocab.vocab_size  # The same source: reused.
  with pytest.raises(files.DataError, match='train_text_sha256'):
    tasks.build(_config('configs/classify/boe.py', '', **first_files), workdir, resuming=True)
  with pytest.raises(files.DataError, match='differing in: min_count'):
    tasks.build(_config('configs/classify/boe.py', '', **second_files, **{'data.min_count': 2}), workdir,
                resuming=True)


def test_fine_tuning_reads_the_pretrained_vocabulary_and_refuses_a_changed_one_when_resuming(tmp_path):
  corpus, pretrained = tmp_path / 'corpus.txt', str(tmp_path / 'pretrained')
  pretrain = _config('configs/pretrain/lstm.py', '', **{'data.pretrain_corpus': str(corpus), 'data.min_count': 1})
  table = lambda vocab: [vocab.decode([i]) for i in range(vocab.vocab_size)]
  corpus.write_text(''.join(f'w{i % 50} common\n' for i in range(400)))
  pretrained_vocab = tasks.build(pretrain, pretrained).vocab
  labeled_files = _write_files(tmp_path / 'd', train=_sentences(30), valid=_sentences(4, 1), test=_sentences(4, 2))
  fine_tune = _config('configs/classify/lstm.py', '', **labeled_files, init_from=pretrained)
  task = tasks.build(fine_tune, str(tmp_path / 'run'))
  # The pretraining words, not the labeled ones: ids mean what they meant in pretraining.
  assert task.vocab.vocab_size == labeled.NUM_RESERVED + 51 and table(task.vocab) == table(pretrained_vocab)
  assert task.vocab.decode(task.vocab.encode('common w3 Good')) == 'common w3 <unk>'
  # The pretraining run is redone on other text: a resumed fine-tuning keeps its ids or stops ...
  corpus.write_text(''.join(f'v{i % 30} common\n' for i in range(400)))
  tasks.build(pretrain, pretrained)
  with pytest.raises(files.DataError, match='train_text_sha256'):
    tasks.build(fine_tune, str(tmp_path / 'run'), resuming=True)
  # ... and a new one reads the new vocabulary.
  assert tasks.build(fine_tune, str(tmp_path / 'run')).vocab.vocab_size == labeled.NUM_RESERVED + 31
  with pytest.raises(FileNotFoundError, match='holds no vocabulary'):
    tasks.build(_config('configs/classify/lstm.py', '', **labeled_files, init_from=str(tmp_path)),
                str(tmp_path / 'run2'))


def test_sst2_and_mr_are_binary_whatever_their_files_hold(tmp_path):
  (tmp_path / 'sentiment').mkdir()
  (tmp_path / 'sentiment' / 'mr.all').write_text(''.join(line + '\n' for line in _sentences(40) + ['2 neutral .']))
  with pytest.raises(files.DataError, match=r"^Label 2 is not one of the 2 classes \(0 to 1\) of data.name='mr': "
                                            rf"{tmp_path / 'sentiment' / 'mr.all'}, line 41\.$"):
    tasks.build(_config('configs/classify/boe.py', str(tmp_path), **{'data.name': 'mr'}), str(tmp_path / 'run'))


@pytest.mark.parametrize('config_path', ['configs/classify/cnn.py', 'configs/classify/kim_cnn.py'])
def test_cnn_configs_train_their_tiny_variant(tmp_path, config_path):
  overrides = _write_files(tmp_path / 'd', train=_sentences(40), valid=_sentences(12, 1), test=_sentences(12, 2))
  config = _config(config_path, '', **overrides, **{'train.num_steps': 4, 'eval.every_steps': 2})
  results = loop.train_and_evaluate(config, str(tmp_path / 'run'))
  assert results['select/step'] in (2, 4) and 0.0 <= results['test/accuracy'] <= 100.0
  words = set(tokenizers.load(str(tmp_path / 'run' / 'vocab')).vocab)
  if 'kim_cnn' in config_path:  # Kim's clean_str: lower case, hyphens and clitics split, periods dropped.
    assert {'dull', 'slow', 'paced', 'is', "n't", 'it', "'s"} <= words and not words & {'.', 'Dull', "isn't"}
  else:  # The text as written.
    assert {'.', 'Dull', 'slow-paced', "isn't"} <= words


def test_best_parameters_on_a_tie_are_the_earlier_ones(tmp_path):
  """Valid accuracies 70, 80, 75, 80, 60: only a strict improvement replaces the best, so step 2 stays."""
  best = stored_params.BestParams(str(tmp_path), 'accuracy', 'max')
  for step, accuracy in ((1, 70.0), (2, 80.0), (4, 75.0), (6, 80.0), (8, 60.0)):
    best.offer(step, {'accuracy': accuracy}, {'w': jnp.full((2,), float(step))})
  step, params = best.load({'w': jnp.zeros((2,))})
  best.close()
  assert step == 2
  np.testing.assert_array_equal(params['w'], [2.0, 2.0])


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
  assert (tmp_path / 'out' / 'pretrain' / 'lm' / stored_params.EXPORT_FILE).exists()  # Before any row starts.
  sweeps.run_sweep(sweep, str(tmp_path / 'out'))
  folds = [json.load(open(tmp_path / 'out' / 'mr' / 'seed_0' / f'fold_{f}' / 'results.json')) for f in (0, 1)]
  table = sweeps.collect(sweep, str(tmp_path / 'out'))
  assert table[0]['test/accuracy_mean'] == pytest.approx(np.mean([r['test/accuracy'] for r in folds]))
  pretrained_dir = tmp_path / 'out' / 'pretrain' / 'lm'
  for fold in (0, 1):
    config = json.load(open(tmp_path / 'out' / 'mr' / 'seed_0' / f'fold_{fold}' / 'config.json'))
    assert config['data']['fold'] == fold and config['init_from'] == str(pretrained_dir)
    # The pretrained vocabulary is the fine-tuning one.
    assert ((tmp_path / 'out' / 'mr' / 'seed_0' / f'fold_{fold}' / 'vocab' / tokenizers.CONFIG_FILE).read_text()
            == (pretrained_dir / 'vocab' / tokenizers.CONFIG_FILE).read_text())
  # From a records copy, a fresh workdir has every fold finished, so the pretraining is not trained again.
  sweeps.sync_records(str(tmp_path / 'out'), str(tmp_path / 'records'))
  record = tmp_path / 'records' / 'pretrain' / 'lm'  # The pretraining's record: exported parameters, no checkpoint.
  assert (record / stored_params.EXPORT_FILE).exists() and (record / 'vocab').is_dir()
  assert not (record / 'checkpoints').exists()
  sweeps.run_sweep(sweep, str(tmp_path / 'fresh'), records=str(tmp_path / 'records'))
  assert not (tmp_path / 'fresh' / 'pretrain' / 'lm' / 'checkpoints').exists()
  assert sweeps.collect(sweep, str(tmp_path / 'fresh'))[0]['test/accuracy_mean'] == table[0]['test/accuracy_mean']
  # Records holding the pretraining alone: a fresh machine fine-tunes from its export, to the same results.
  shutil.copytree(tmp_path / 'records' / 'pretrain', tmp_path / 'only_pretrain' / 'pretrain')
  sweeps.run_sweep(sweep, str(tmp_path / 'fresh_rows'), records=str(tmp_path / 'only_pretrain'))
  assert not (tmp_path / 'fresh_rows' / 'pretrain' / 'lm' / 'checkpoints').exists()
  for fold in (0, 1):
    again = json.load(open(tmp_path / 'fresh_rows' / 'mr' / 'seed_0' / f'fold_{fold}' / 'results.json'))
    assert again['test/accuracy'] == folds[fold]['test/accuracy']
  config = _config('configs/classify/lstm.py', **{'data.name': 'mr', 'data.num_folds': 2,
                                                  'init_from': str(pretrained_dir)})
  task = tasks.build(config, str(tmp_path / 'out' / 'mr' / 'seed_0' / 'fold_0'))
  model = models.build(config.model, **task.model_dims)
  batch = next(task.train_batcher(4, 0))
  fresh_params = task.init_variables(model, jax.random.PRNGKey(5), batch, ())['params']
  params, loaded, fresh = stored_params.load_pretrained(fresh_params, str(pretrained_dir))
  assert fresh and all(path.startswith('output/') for path in fresh)
  saved = checkpoint.Checkpointer(checkpoint.directory(str(pretrained_dir)))
  want = saved.restore_params(saved.latest_step())
  saved.close()
  flat = lambda tree: jax.tree_util.tree_flatten_with_path(tree)[0]
  got = {jax.tree_util.keystr(k): v for k, v in flat(params)}
  for path, value in flat(want):  # The export: the checkpoint's values in float16.
    np.testing.assert_array_equal(got[jax.tree_util.keystr(path)], np.asarray(value, np.float16).astype(np.float32))
  assert len(loaded) == len(flat(want))
  # A model the checkpoint does not fit is refused with the parameter named.
  other = _config('configs/classify/lstm.py', **{'model.hidden_size': 8})
  other_params = models.build(other.model, **task.model_dims).init(jax.random.PRNGKey(0), batch['tokens'],
                                                                    batch['length'])['params']
  with pytest.raises(ValueError, match='does not fit'):
    stored_params.load_pretrained(other_params, str(pretrained_dir))


def test_config_errors_name_the_choices():
  """Config checks only: no data is read."""
  with pytest.raises(config_loading.ConfigError, match='mlm'):
    config_loading.validate(_config('configs/pretrain/mlm.py', '', **{'task.objective': 'bert'}))
  with pytest.raises(config_loading.ConfigError, match='max, min'):
    config_loading.validate(_config('configs/classify/boe.py', '', **{'eval.select_mode': 'best'}))
  with pytest.raises(config_loading.ConfigError, match="Unknown data.clean 'kimm'; choose one of: '', kim"):
    config_loading.validate(_config('configs/classify/boe.py', '', **{'data.clean': 'kimm'}))
  with pytest.raises(config_loading.ConfigError, match='not a trained workdir'):
    config_loading.validate(_config('configs/classify/boe.py', '', init_from='/nonexistent'))
  with pytest.raises(config_loading.ConfigError, match='sst2'):
    config_loading.validate(_config('configs/classify/boe.py', '', **{'data.name': 'yelp'}))
  with pytest.raises(config_loading.ConfigError, match=r'task.word_dropout must be in \[0, 1\)'):
    config_loading.validate(_config('configs/classify/kim_cnn.py', '', **{'task.word_dropout': 1.0}))
  with pytest.raises(config_loading.ConfigError, match=r'data.pool_batches must be >= 1'):
    config_loading.validate(_config('configs/classify/kim_cnn.py', '', **{'data.pool_batches': 0}))
  for path in ('configs/classify/cnn.py', 'configs/classify/kim_cnn.py'):
    config_loading.validate(_config(path, ''))  # The shipped configs pass.


def test_sequence_autoencoder_learns_to_rebuild_and_its_encoder_starts_the_classifier(tmp_path, capsys):
  corpus = tmp_path / 'corpus.txt'
  rng = np.random.RandomState(0)
  corpus.write_text(''.join(' '.join(rng.choice([f'w{i}' for i in range(12)], rng.randint(2, 7))) + '\n'
                            for _ in range(600)))
  pretrain = _config('configs/pretrain/imdb_lstm.py', '', **{
      'data.pretrain_corpus': str(corpus), 'data.pretrain_valid': 64, 'data.max_vocab': 0, 'train.num_steps': 150,
      'eval.every_steps': 150, 'checkpoint.every_steps': 150, 'optimizer.learning_rate': 1e-2, 'model.dropout': 0.0,
      'model.embed_dim': 32, 'model.hidden_size': 64})
  results = loop.train_and_evaluate(pretrain, str(tmp_path / 'sa'))
  # A random word of 12 costs ln 12 = 2.48 nats; rebuilding from the encoder's state does far better than any
  # model of the words alone could.
  assert results['valid/loss'] < 1.0 and results['valid/accuracy'] > 0.6
  labeled_files = _write_files(tmp_path / 'd', train=_sentences(30), valid=_sentences(4, 1), test=_sentences(4, 2))
  fine_tune = _config('configs/classify/imdb_lstm.py', '', **labeled_files, **{
      'init_from': str(tmp_path / 'sa'), 'train.num_steps': 2, 'model.embed_dim': 32, 'model.hidden_size': 64,
      'data.clean': ''})
  capsys.readouterr()
  loop.train_and_evaluate(fine_tune, str(tmp_path / 'classifier'))
  # Embeddings, the LSTM (kernel, recurrent kernel, bias) and the LM output; the decoder is left behind.
  assert f'Initialized 6 parameter arrays from {tmp_path / "sa"}; fresh: output' in capsys.readouterr().out


def test_the_masked_lm_loss_at_the_chosen_positions_equals_the_one_over_every_positions_logits():
  config = config_loading.load_config('configs/classify/transformer.py:tiny')
  model = models.build(config.model, vocab_size=40, num_classes=2)
  rng = np.random.RandomState(0)
  tokens = jnp.asarray(rng.randint(labeled.NUM_RESERVED, 40, (6, 20)), jnp.int32)
  length = jnp.asarray([20, 17, 9, 3, 1, 0], jnp.int32)
  params = model.init(jax.random.key(0), tokens, length, method='lm_logits')['params']
  inputs, chosen = classification.mask_tokens(jax.random.key(1), tokens, length, 40, 0.15)
  positions, weight = classification.chosen_positions(chosen, 0.15)
  assert int(weight.sum()) == int(chosen.sum()) > 0 and positions.shape[0] < chosen.size
  full = model.apply({'params': params}, inputs, length, method='lm_logits')
  at = model.apply({'params': params}, inputs, length, positions_M=positions, method='lm_logits')
  real = np.asarray(weight) > 0
  np.testing.assert_allclose(np.asarray(at)[real], np.asarray(full).reshape(-1, 40)[np.asarray(positions)[real]],
                             atol=1e-5)
  (loss_at, n_at), _ = classification._token_sums(at[None], tokens.reshape(-1)[positions][None], weight[None])
  (loss_full, n_full), _ = classification._token_sums(full, tokens, chosen.astype(jnp.float32))
  assert float(n_at) == float(n_full) and float(loss_at) == pytest.approx(float(loss_full), rel=1e-5)
  # More chosen tokens than the fixed size: the extra ones are left out, the rest kept in order.
  every = jnp.ones((4, 10), bool)
  positions, weight = classification.chosen_positions(every, 0.15)
  np.testing.assert_array_equal(positions, np.arange(len(positions)))
  assert (np.asarray(weight) == 1).all()


def test_a_transformer_reads_texts_cut_to_one_position_less_than_it_has(tmp_path):
  """data.max_len = model.max_len - 1 (the CLS takes the last position), not a multiple of data.pad_multiple:
  batches of cut texts are max_len wide, not rounded up past the model's positions."""
  long_texts = [f'{i % 2} ' + ' '.join(['good' if i % 2 else 'bad'] * 80) for i in range(8)]
  overrides = _write_files(tmp_path / 'd', train=long_texts + _sentences(8), valid=long_texts[:4],
                           test=long_texts[4:])
  config = _config('configs/classify/transformer.py', '', **overrides, **{'data.max_len': 63, 'model.max_len': 64})
  task = tasks.build(config, str(tmp_path / 'run'))
  batches = list(task.eval_batches('train', 4)) + [next(task.train_batcher(4, 0))]
  assert max(b['tokens'].shape[1] for b in batches) == 63
  model = models.build(config.model, **task.model_dims)
  logits_BK = model.apply(model.init(jax.random.PRNGKey(0), batches[-1]['tokens'], batches[-1]['length']),
                          batches[0]['tokens'], batches[0]['length'])
  assert logits_BK.shape == (4, 2) and np.isfinite(logits_BK).all()
