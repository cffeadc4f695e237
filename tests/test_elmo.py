"""ELMo (models/elmo.py): the biLM's directions see only their side, the scalar mix is a softmax scaled by γ,
the biLM stays frozen in fine-tuning, and pretraining → fine-tuning runs end to end."""
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
from training import restore


def _model():
  config = config_loading.load_config('configs/classify/elmo.py:tiny')
  return models.build(config.model, vocab_size=30, num_classes=2)


def _batch():
  tokens = jax.random.randint(jax.random.key(0), (3, 7), 4, 30)
  length = jnp.array([7, 4, 1])
  return tokens * (jnp.arange(7)[None] < length[:, None]), length


def test_forward_logits_never_see_later_tokens_nor_backward_ones_earlier_and_padding_changes_nothing():
  model = _model()
  tokens, length = _batch()
  params = model.init(jax.random.key(1), tokens, length, method='bilm_logits')['params']
  assert set(params) == {'bilm'}  # Pretraining creates the biLM alone.
  forward, backward = model.apply({'params': params}, tokens, length, method='bilm_logits')
  changed = tokens.at[0, 4].set(5 if tokens[0, 4] != 5 else 6)
  forward2, backward2 = model.apply({'params': params}, changed, length, method='bilm_logits')
  np.testing.assert_array_equal(forward2[0, :4], forward[0, :4])
  assert np.abs(forward2[0, 4:] - forward[0, 4:]).max() > 1e-6
  np.testing.assert_array_equal(backward2[0, 5:], backward[0, 5:])
  assert np.abs(backward2[0, :5] - backward[0, :5]).max() > 1e-6
  garbage = tokens.at[1, 4:].set(9).at[2, 1:].set(9)
  forward3, backward3 = model.apply({'params': params}, garbage, length, method='bilm_logits')
  for row, n in ((1, 4), (2, 1)):
    np.testing.assert_allclose(forward3[row, :n], forward[row, :n], atol=1e-6)
    np.testing.assert_allclose(backward3[row, :n], backward[row, :n], atol=1e-6)


def test_the_backward_lm_sums_score_each_token_from_the_next_position():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(2, 5, 6)).astype(np.float32)
  tokens, length = np.array([[1, 2, 3, 4, 5], [5, 4, 3, 0, 0]]), np.array([5, 3])
  (nll, count), _ = classification.backward_lm_sums(jnp.asarray(logits), jnp.asarray(tokens), jnp.asarray(length))
  expected, n = 0.0, 0
  for b in range(2):
    for t in range(1, length[b]):
      log_probs = logits[b, t] - np.log(np.exp(logits[b, t]).sum())
      expected -= log_probs[tokens[b, t - 1]]
      n += 1
  assert (float(count), float(nll)) == (n, pytest.approx(expected, rel=1e-5))


def test_the_scalar_mix_is_a_softmax_of_the_layers_scaled_by_gamma():
  model = _model()
  tokens, length = _batch()
  params = model.init(jax.random.key(1), tokens, length)['params']
  params = dict(params, scalar_mix={'weights': jnp.array([0.5, -1.0, 2.0]), 'gamma': jnp.array(1.7)})
  mix = model.apply({'params': params}, tokens, length, method=lambda m, t, n: m.elmo(t, n))
  layers = model.apply({'params': params}, tokens, length, method=lambda m, t, n: m.bilm.layers(t, n))
  weights = np.exp([0.5, -1.0, 2.0]) / np.exp([0.5, -1.0, 2.0]).sum()
  np.testing.assert_allclose(np.asarray(mix), 1.7 * sum(w * np.asarray(h) for w, h in zip(weights, layers)),
                             atol=1e-5)
  assert len(layers) == 3 and layers[0].shape == (7, 3, 16)
  np.testing.assert_array_equal(layers[0][..., :8], layers[0][..., 8:])  # The embedding, written twice.


def _files(tmp_path):
  rng = np.random.RandomState(0)
  words = (['dull', 'bad', 'flat', 'slow'], ['good', 'great', 'fun', 'witty'])
  lines = [f'{i % 2} ' + ' '.join(rng.choice(words[i % 2], rng.randint(1, 6))) + ' .' for i in range(80)]
  paths = {}
  for split, part in (('train', lines[:48]), ('valid', lines[48:64]), ('test', lines[64:])):
    (tmp_path / split).write_text('\n'.join(part) + '\n')
    paths[f'data.{split}_path'] = str(tmp_path / split)
  (tmp_path / 'corpus.txt').write_text('\n'.join(line[2:] for line in lines[:48] * 3) + '\n')
  return paths


def test_pretraining_then_fine_tuning_keeps_the_bilm_frozen(tmp_path):
  paths = _files(tmp_path)
  common = {'log.progress_bar': False, 'data.dir': ''}
  pretrain = config_loading.apply_overrides(config_loading.load_config('configs/pretrain/elmo.py:tiny'), {
      **common, 'data.pretrain_corpus': str(tmp_path / 'corpus.txt'), 'data.pretrain_valid': 16})
  results = loop.train_and_evaluate(pretrain, str(tmp_path / 'pretrain'))
  assert results['valid/loss'] > 0
  fine_tune = config_loading.apply_overrides(config_loading.load_config('configs/classify/elmo.py:tiny'), {
      **common, 'data.name': 'files', **paths, 'init_from': str(tmp_path / 'pretrain')})
  loop.train_and_evaluate(fine_tune, str(tmp_path / 'classify'))
  pretrained, _ = restore.newest_params(checkpoint.directory(str(tmp_path / 'pretrain')))
  tuned, _ = restore.newest_params(checkpoint.directory(str(tmp_path / 'classify')))
  pretrained_bilm = {k: v for k, v in pretrained['bilm'].items() if k != 'softmax'}  # Left behind.
  jax.tree.map(np.testing.assert_array_equal, tuned['bilm'], pretrained_bilm)
  mix = tuned['scalar_mix']
  assert float(mix['gamma']) != 1.0 and np.abs(mix['weights']).max() > 0  # The mix did learn.
  with pytest.raises(config_loading.ConfigError, match='task.objective=bilm trains the biLM'):
    config_loading.validate(config_loading.apply_overrides(pretrain, {'task.objective': 'causal'}))


def test_a_tagger_reads_the_frozen_bilm_and_lower_cased_word_ids(tmp_path):
  from tests import test_tagging  # pylint: disable=import-outside-toplevel
  files = test_tagging._files(tmp_path)
  words = ' '.join(' '.join(w) for w in test_tagging._WORDS.values()).lower()
  (tmp_path / 'corpus.txt').write_text((words + '\n') * 40)
  pretrain = config_loading.apply_overrides(config_loading.load_config('configs/pretrain/elmo.py:tiny'), {
      'log.progress_bar': False, 'data.dir': '', 'data.pretrain_corpus': str(tmp_path / 'corpus.txt'),
      'data.pretrain_valid': 8})
  loop.train_and_evaluate(pretrain, str(tmp_path / 'pretrain'))
  config = config_loading.apply_overrides(config_loading.load_config('configs/tag/elmo.py:tiny'), {
      'log.progress_bar': False, 'data.dir': '', **files, 'init_from': str(tmp_path / 'pretrain')})
  train = tmp_path / 'train.conllu'
  train.write_text(train.read_text().replace('\tthe\tthe\t', '\tThe\tthe\t'))  # A capitalized FORM.
  task = tasks.build(config, str(tmp_path / 'tag'))
  capitalized = [(i, s.words.index('The')) for i, s in enumerate(task.sentences['train']) if 'The' in s.words]
  assert capitalized
  i, j = capitalized[0]
  assert task.data['train'].tokens[i][j] == task.vocab.encode('the')[0] != labeled.UNK_ID
  loop.train_and_evaluate(config, str(tmp_path / 'tag'))
  pretrained, _ = restore.newest_params(checkpoint.directory(str(tmp_path / 'pretrain')))
  tuned, _ = restore.newest_params(checkpoint.directory(str(tmp_path / 'tag')))
  jax.tree.map(np.testing.assert_array_equal, tuned['bilm'],
               {k: v for k, v in pretrained['bilm'].items() if k != 'softmax'})
  assert 'scalar_mix' in tuned
