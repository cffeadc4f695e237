"""BERT's next-sentence prediction: segment ids, the pairs the pretraining task trains on, masking that spares
the separator, and pretraining → fine-tuning end to end."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from data import labeled
from models import classifiers
from tasks import classification
import tasks
from training import config_loading
from training import loop
from training import restore
from training import checkpoint

SEP = labeled.SEP_ID


def test_segment_ids_are_a_up_to_the_first_separator_and_b_after_it():
  tokens = np.array([[2, 7, 8, SEP, 9, SEP, 0], [2, 7, 0, 0, 0, 0, 0], [2, 7, 8, 9, 9, 0, SEP]])
  valid = np.arange(7)[None] < np.array([6, 2, 5])[:, None]
  got = np.asarray(classifiers.segment_ids(jnp.asarray(tokens), jnp.asarray(valid)))
  for b in range(3):
    seen = False
    for t in range(7):
      assert got[b, t] == int(seen)
      seen = seen or (tokens[b, t] == SEP and valid[b, t])


def test_masking_never_chooses_a_separator_and_replaces_with_words_only():
  rng = np.random.RandomState(0)
  tokens = rng.randint(5, 40, (64, 20))
  tokens[:, 7] = SEP
  inputs, chosen = classification.mask_tokens(jax.random.key(0), jnp.asarray(tokens), jnp.full(64, 20), 40, 0.5,
                                              first_word=5)
  inputs, chosen = np.asarray(inputs), np.asarray(chosen)
  assert not chosen[:, 7].any() and (inputs[:, 7] == SEP).all() and chosen.mean() > 0.4
  replaced = chosen & (inputs != tokens) & (inputs != labeled.MASK_ID)
  assert replaced.any() and (inputs[replaced] >= 5).all()


def _documents_file(tmp_path):
  # Document d's sentence i is 'dD wI' (+ filler words): its words tell where it came from.
  blocks = ['\n'.join(f'd{d} w{i} the film' for i in range(2 + d % 3)) for d in range(40)]
  (tmp_path / 'docs.txt').write_text('\n\n'.join(blocks) + '\n')
  return str(tmp_path / 'docs.txt')


def _pretrain_config(tmp_path):
  return config_loading.apply_overrides(config_loading.load_config('configs/pretrain/mlm_nsp.py:tiny'), {
      'log.progress_bar': False, 'data.dir': '', 'data.pretrain_corpus': _documents_file(tmp_path),
      'data.pretrain_valid': 12, 'data.clean': '', 'data.min_count': 1})


def test_the_pairs_are_a_sep_b_with_is_next_exactly_when_b_follows_a_in_its_document(tmp_path):
  task = tasks.build(_pretrain_config(tmp_path), str(tmp_path / 'run'))
  assert task.vocab.reserved == labeled.RESERVED_WITH_SEP and task.vocab.ids['sep'] == SEP
  labels_seen = []
  for split in ('train',):  # Valid documents' own words are not in the (training) vocabulary.
    ids, labels = task.data[split]
    for example, label in zip(ids, labels):
      cut = example.index(SEP)
      a, b = task.vocab.decode(example[:cut]).split(), task.vocab.decode(example[cut + 1:]).split()
      same_next = a[0] == b[0] and int(b[1][1:]) == int(a[1][1:]) + 1
      assert bool(label) == same_next and (label or a[0] != b[0])
      labels_seen.append(label)
  assert 0.3 < np.mean(labels_seen) < 0.7
  valid_first_words = {task.vocab.decode(e[:e.index(SEP)]).split()[0] for e in task.data['valid'][0]}
  assert valid_first_words == {'<unk>'}  # Whole documents go to one side: no valid document's name was trained.
  assert 0.2 < np.mean(task.data['valid'][1]) < 0.8


def test_pretraining_with_nsp_then_fine_tuning_with_segments(tmp_path):
  results = loop.train_and_evaluate(_pretrain_config(tmp_path), str(tmp_path / 'pretrain'))
  assert {'valid/loss', 'valid/nsp_loss', 'valid/nsp_accuracy'} <= set(results)
  lines = [f'{i % 2} d{i % 5} w1 the film' for i in range(40)]
  paths = {}
  for split, part in (('train', lines[:24]), ('valid', lines[24:32]), ('test', lines[32:])):
    (tmp_path / split).write_text('\n'.join(part) + '\n')
    paths[f'data.{split}_path'] = str(tmp_path / split)
  fine_tune = config_loading.apply_overrides(config_loading.load_config('configs/classify/transformer.py:tiny'), {
      'log.progress_bar': False, 'data.dir': '', 'data.name': 'files', **paths, 'model.segments': True,
      'init_from': str(tmp_path / 'pretrain')})
  loop.train_and_evaluate(fine_tune, str(tmp_path / 'classify'))
  _, _, tuned, vocab, _ = restore.load_classifier(str(tmp_path / 'classify'), which='latest')
  assert vocab.reserved == labeled.RESERVED_WITH_SEP and 'segment_embed' in tuned and 'nsp_output' not in tuned
  pretrained, _ = restore.newest_params(checkpoint.directory(str(tmp_path / 'pretrain')))
  assert 'nsp_output' in pretrained and pretrained['segment_embed']['embedding'].shape == (2, 16)
  without = config_loading.apply_overrides(fine_tune, {'model.segments': False})
  with pytest.raises(Exception, match='segment_embed'):
    loop.train_and_evaluate(without, str(tmp_path / 'classify_without'))


def test_nsp_config_errors(tmp_path):
  config = _pretrain_config(tmp_path)
  with pytest.raises(config_loading.ConfigError, match='model.segments=true'):
    config_loading.validate(config_loading.apply_overrides(config, {'model.segments': False}))
  config = config_loading.apply_overrides(config, {'data.pretrain_corpus': 'sst2'})
  with pytest.raises(ValueError, match="'sst2' has no documents"):
    tasks.build(config, str(tmp_path / 'run'))
