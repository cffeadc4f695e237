"""BART (models/bart.py): denoising examples built from documents, the reconstruction loss, classification from the
decoder's state after the last token, and pretraining → fine-tuning end to end."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
import tasks
from data import labeled
from training import config_loading
from training import loop
from training import restore


def _documents_file(tmp_path):
  blocks = ['\n'.join(f'doc{d} says {"good" if d % 2 else "bad"} thing {i} .' for i in range(2 + d % 3))
            for d in range(30)]
  (tmp_path / 'docs.txt').write_text('\n\n'.join(blocks) + '\n')
  return str(tmp_path / 'docs.txt')


def _pretrain_config(tmp_path):
  return config_loading.apply_overrides(config_loading.load_config('configs/pretrain/bart.py:tiny'), {
      'log.progress_bar': False, 'data.dir': '', 'data.pretrain_corpus': _documents_file(tmp_path),
      'data.pretrain_valid': 10, 'data.clean': '', 'data.min_count': 1, 'data.max_len': 20})


def test_each_source_is_its_documents_sentences_permuted_and_infilled(tmp_path):
  task = tasks.build(_pretrain_config(tmp_path), str(tmp_path / 'run'))
  targets, _ = task.data['train']
  extras = task.split_extras['train']
  masked = 0
  for target, source, n in zip(targets, extras['source'], extras['source_length']):
    source = list(source[:n])
    assert len(target) <= 20 and labeled.PAD_ID not in source[:n]
    kept = [t for t in source if t != labeled.MASK_ID]
    # The kept tokens are a sub-multiset of the target's (spans only remove), and the masks stand for the rest.
    assert not (set(kept) - set(target)) and len(kept) <= len(target)
    masked += len(target) - len(kept)
  total = sum(len(t) for t in targets)
  assert masked == pytest.approx(0.3 * total, rel=0.1)
  batch = next(iter(task.eval_batches('valid', 4)))
  real = batch['index'] >= 0
  np.testing.assert_array_equal(batch['source'][real], task.split_extras['valid']['source'][batch['index'][real]])


def test_classification_reads_the_decoder_state_after_the_last_real_token():
  config = config_loading.load_config('configs/classify/bart.py:tiny')
  model = models.build(config.model, vocab_size=20, num_classes=3)
  tokens = jnp.array([[5, 6, 7, 0, 0], [8, 9, 10, 11, 12]])
  length = jnp.array([3, 5])
  params = model.init(jax.random.key(0), tokens, length)['params']
  logits = model.apply({'params': params}, tokens, length)
  garbage = tokens.at[0, 3:].set(13)
  np.testing.assert_allclose(model.apply({'params': params}, garbage, length), logits, atol=1e-5)
  # The decoder's state after the last token: features equal the decoder run on exactly [CLS] + those tokens.
  short = model.apply({'params': params}, tokens[:1, :3], length[:1], method='features')
  np.testing.assert_allclose(model.apply({'params': params}, tokens, length, method='features')[:1], short, atol=1e-5)
  pre = model.init(jax.random.key(0), tokens, length, tokens, length, method='denoise_logits')['params']
  assert 'output' not in pre and set(pre) == set(params) - {'output'}


def test_pretraining_then_fine_tuning(tmp_path):
  results = loop.train_and_evaluate(_pretrain_config(tmp_path), str(tmp_path / 'pretrain'))
  assert results['valid/loss'] > 0
  lines = [f'{d % 2} doc{d} says {"good" if d % 2 else "bad"} thing .' for d in range(40)]
  paths = {}
  for split, part in (('train', lines[:24]), ('valid', lines[24:32]), ('test', lines[32:])):
    (tmp_path / split).write_text('\n'.join(part) + '\n')
    paths[f'data.{split}_path'] = str(tmp_path / split)
  fine_tune = config_loading.apply_overrides(config_loading.load_config('configs/classify/bart.py:tiny'), {
      'log.progress_bar': False, 'data.dir': '', 'data.name': 'files', **paths, 'init_from': str(tmp_path / 'pretrain')})
  results = loop.train_and_evaluate(fine_tune, str(tmp_path / 'classify'))
  assert 'test/accuracy' in results
  _, model, params, _, _ = restore.load_classifier(str(tmp_path / 'classify'))
  assert params['output']['kernel'].shape == (16, 2) and model.num_classes == 2
