"""BART (models/bart.py): denoising examples built from documents, the reconstruction loss, classification from the
decoder's state after the last token, and pretraining → fine-tuning end to end."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
import tasks
from data import labeled
from data import parallel
from training import checkpoint
from training import config_loading
from training import loop
from training import restore
from training import stored_params


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
  _check_translation_start(tmp_path, str(tmp_path / 'pretrain'), str(tmp_path / 'classify'))


def _check_translation_start(tmp_path, bart_dir: str, not_bart_dir: str):
  """configs/mt/bart.py with init_from a BART run: BART's layers and positions as they are, its embedding rows
  as the target embedding's for the words both vocabularies hold (BOS: its [CLS] row), the source one fresh."""
  pairs = [(f'dok{d} sagt {"gut" if d % 2 else "schlecht"} .', f'doc{d} says {"good" if d % 2 else "bad"} thing .')
           for d in range(12)]
  overrides = {'log.progress_bar': False, 'data.dir': '', 'data.name': 'files', 'data.min_count': 1}
  for split in ('train', 'valid', 'test'):
    for side, lang in ((0, 'de'), (1, 'en')):
      (tmp_path / f'{split}.{lang}').write_text('\n'.join(pair[side] for pair in pairs) + '\n')
    overrides[f'data.{split}_prefix'] = str(tmp_path / split)
  config = config_loading.apply_overrides(config_loading.load_config('configs/mt/bart.py:tiny'),
                                          dict(overrides, init_from=bart_dir))
  task = tasks.build(config, str(tmp_path / 'translate'))
  model = models.build(config.model, **task.model_dims)
  batch = next(task.train_batcher(4, 0))
  fresh = task.init_variables(model, jax.random.PRNGKey(3), batch, ())['params']
  params, loaded, left_fresh = stored_params.load_pretrained(fresh, bart_dir, task.pretraining_only,
                                                             task.adapt_pretrained)
  assert left_fresh == ['src_embed/embedding'] and 'tgt_embed/embedding' in loaded
  bart = restore.newest_params(checkpoint.directory(bart_dir))[0]
  np.testing.assert_array_equal(params['src_embed']['embedding'], fresh['src_embed']['embedding'])
  np.testing.assert_array_equal(params['encoder_0']['attention']['query']['kernel'],
                                bart['encoder_0']['attention']['query']['kernel'])
  bart_vocab = labeled.saved_vocabulary(str(tmp_path / 'pretrain' / 'vocab'))
  rows, bart_rows = params['tgt_embed']['embedding'], bart['src_embed']['embedding']
  np.testing.assert_array_equal(rows[parallel.BOS_ID], bart_rows[labeled.CLS_ID])
  np.testing.assert_array_equal(rows[parallel.EOS_ID], fresh['tgt_embed']['embedding'][parallel.EOS_ID])
  for word in ('says', 'good', 'doc3'):  # In both vocabularies.
    np.testing.assert_array_equal(rows[task.tgt_vocab.encode(word)[0]], bart_rows[bart_vocab.encode(word)[0]])
  with pytest.raises(ValueError, match='starts only from a BART pretraining run'):
    tasks.build(config_loading.apply_overrides(config, {'init_from': not_bart_dir}), str(tmp_path / 'refused'))
