"""Part-of-speech tagging: the CoNLL-U reader and writer, tag batches, padding, the taggers, training, tag.py.

Everything here writes its own small CoNLL-U files (no shared data needed); models/crf.py has tests/test_crf.py.
"""
import json
import os
import subprocess
import sys

import jax
import ml_collections
import numpy as np
import pytest

import models
import tag
import tasks
from data import conllu
from data import labeled
from data import tokenizers
from tasks import tagging
from training import config_loading
from training import loop
from training import restore
from training import stored_params
from tests import tolerances

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SNIPPET = """# sent_id = 1
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\tSpaceAfter=No
4.1\tknows\t_\t_\t_\t_\t_\t_\t2:nsubj\t_
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = 2
1\tGo\tgo\tVERB\tVB\t_\t0\troot\t_\t_
2\t!\t!\tPUNCT\t.\t_\t1\tpunct\t_\t_
"""


def test_reader_skips_multiword_tokens_and_empty_nodes_and_writing_back_changes_only_the_tags(tmp_path):
  path = tmp_path / 'snippet.conllu'
  path.write_text(SNIPPET)
  first, second = conllu.read_conllu(str(path))
  assert first.words == ('I', 'do', "n't", 'know', '.') and second.words == ('Go', '!')
  assert first.upos == ('PRON', 'AUX', 'PART', 'VERB', 'PUNCT') and first.xpos == ('PRP', 'VBP', 'RB', 'VB', '.')
  with open(tmp_path / 'out.conllu', 'w') as out:
    conllu.write_conllu([first, second], [['A'] * 5, ['B', 'C']], [['x'] * 5, ['y', 'z']], out)
  written, original = (tmp_path / 'out.conllu').read_text().split('\n'), SNIPPET.split('\n')
  assert len(written) == len(original) + 1  # The file ends in a blank line after each sentence.
  changed = []
  for got, want in zip(written, original):
    got_columns, want_columns = got.split('\t'), want.split('\t')
    # Comments, ranges and empty nodes as they were; a word's line differs in UPOS and XPOS only.
    assert [c for i, c in enumerate(got_columns) if i not in (3, 4)] == \
           [c for i, c in enumerate(want_columns) if i not in (3, 4)]
    if got != want:
      changed.append(tuple(got_columns[3:5]))
  assert changed == [('A', 'x')] * 5 + [('B', 'y'), ('C', 'z')]
  assert conllu.read_conllu(str(tmp_path / 'out.conllu'))[1].upos == ('B', 'C')


@pytest.mark.parametrize('line, message', [
    ('1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_', 'a CoNLL-U line has 10 tab-separated columns; this one has 9'),
    ('x\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_', "ID 'x' is not a word number"),
    ('2\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_', 'word ID 2 should be 1'),
    ('1\t \tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_', 'word 1 has an empty FORM'),
    ('1\tI\tI\t\tPRP\t_\t3\tnsubj\t_\t_', 'word 1 has an empty UPOS'),
])
def test_a_malformed_line_is_an_error_naming_file_and_line(tmp_path, line, message):
  path = tmp_path / 'bad.conllu'
  path.write_text(f'1\tGo\tgo\tVERB\tVB\t_\t0\troot\t_\t_\n\n# sent_id = 2\n{line}\n')
  with pytest.raises(conllu.ConlluError, match=f'^{path}:4: {message}'):
    conllu.read_conllu(str(path))


# A toy language: a word's tags follow from its form (a 'ing' suffix makes a verb), so a model can learn them.
_WORDS = {'DET': ['the', 'a', 'this'], 'NOUN': ['dog', 'cat', 'tree', 'house', 'car'],
          'VERB': ['running', 'eating', 'seeing', 'singing'], 'PUNCT': ['.', '!']}


def _toy_conllu(path, n, seed, unseen=()):
  rng = np.random.RandomState(seed)
  blocks = []
  for i in range(n):
    noun = unseen[i % len(unseen)] if unseen and i % 3 == 0 else rng.choice(_WORDS['NOUN'])
    words = [('DET', rng.choice(_WORDS['DET'])), ('NOUN', noun)]
    words += [('VERB', rng.choice(_WORDS['VERB']))] * (i % 2) + [('PUNCT', rng.choice(_WORDS['PUNCT']))]
    lines = [f'# sent_id = {i}'] + [f'{j + 1}\t{w}\t{w}\t{tag}\t{tag[:2]}\t_\t0\tdep\t_\t_'
                                    for j, (tag, w) in enumerate(words)]
    blocks.append('\n'.join(lines) + '\n')
  path.write_text('\n'.join(blocks))
  return str(path)


def _files(tmp_path):
  return {'data.name': 'files', 'data.train_path': _toy_conllu(tmp_path / 'train.conllu', 40, 0),
          'data.valid_path': _toy_conllu(tmp_path / 'dev.conllu', 8, 1, unseen=('zebra',)),
          'data.test_path': _toy_conllu(tmp_path / 'test.conllu', 8, 2, unseen=('zebra',))}


def _config(path, tmp_path, **overrides):
  config = config_loading.load_config(f'{path}:tiny')
  return config_loading.apply_overrides(config, {'log.progress_bar': False, 'data.dir': '', **_files(tmp_path),
                                                **overrides})


@pytest.mark.parametrize('path, crf', [('configs/tag/char_bilstm.py', False), ('configs/tag/char_bilstm.py', True),
                                       ('configs/tag/transformer.py', True)])
def test_padding_changes_no_logit_and_no_tag(tmp_path, path, crf):
  """The same sentences padded to other lengths and beside filler rows: the same logits at the words, the same
  tags (with a CRF, trained transition scores so that Viterbi matters)."""
  config = _config(path, tmp_path, **{'model.crf': crf})
  task = tasks.build(config, str(tmp_path / 'run'))
  model = models.build(config.model, **task.model_dims)
  data = task.data['valid']
  index = np.arange(5)
  narrow = conllu.make_batch(data, index, 5, pad_multiple=1)
  wide = conllu.make_batch(data, index, 9, pad_multiple=16)
  params = model.init(jax.random.PRNGKey(0), narrow)['params']
  params = jax.tree.map(lambda p: p + 0.3 * jax.random.normal(jax.random.PRNGKey(1), p.shape), params)
  (narrow_logits, _), (wide_logits, _) = (model.apply({'params': params}, b) for b in (narrow, wide))
  narrow_tags, wide_tags = (tagging.predict(model, params, b) for b in (narrow, wide))
  T = narrow['tokens'].shape[1]
  real = np.arange(T)[None] < narrow['length'][:, None]
  for name in ('upos', 'xpos'):
    np.testing.assert_array_equal(np.asarray(wide_tags[name])[:5, :T][real], np.asarray(narrow_tags[name])[real])
    tolerances.assert_close(np.asarray(wide_logits[name])[:5, :T][real], np.asarray(narrow_logits[name])[real],
                            terms=200, scale=float(np.abs(narrow_logits[name]).max()))


def test_oov_marks_words_outside_training_and_unknown_tags_score_as_wrong(tmp_path):
  config = _config('configs/tag/bilstm.py', tmp_path)
  task = tasks.build(config, str(tmp_path / 'run'))
  valid = task.sentences['valid']
  oov_words = {w for s, flags in zip(valid, task.data['valid'].oov) for w, f in zip(s.words, flags) if f}
  assert oov_words == {'zebra'}
  assert task.tags['upos'] == ['DET', 'NOUN', 'PUNCT', 'VERB'] and task.tags['xpos'] == ['DE', 'NO', 'PU', 'VE']
  index = {tag: i for i, tag in enumerate(task.tags['upos'])}
  np.testing.assert_array_equal(conllu.tag_ids(('NOUN', 'ADJ'), index), [1, conllu.NO_TAG])
  batch = conllu.make_batch(task.data['valid'], np.arange(2), 4, 8)
  predicted = {name: np.where(batch[name] >= 0, batch[name], 0) for name in ('upos', 'xpos')}
  sums = task._accuracy_sums(predicted, batch)
  assert float(sums['upos'][0]) == float(sums['upos'][1]) == float(np.sum(batch['length']))
  batch['upos'][0, 0] = conllu.NO_TAG  # A tag the training split never had: never right.
  assert float(task._accuracy_sums(predicted, batch)['upos'][0]) == float(np.sum(batch['length'])) - 1


def test_a_tagger_trains_and_tag_py_writes_conllu(tmp_path):
  config = _config('configs/tag/char_bilstm.py', tmp_path, **{'model.crf': True, 'train.num_steps': 30,
                                                                'optimizer.learning_rate': 0.02})
  workdir = str(tmp_path / 'run')
  loop.train_and_evaluate(config, workdir)
  with open(os.path.join(workdir, 'results.json')) as f:
    results = json.load(f)
  assert results['test/upos'] > 70.0 and 'test/upos_oov' in results and 'test/xpos' in results
  # tag.py on a CoNLL-U file: the input's lines, UPOS and XPOS filled with the workdir's tags.
  test_path = str(tmp_path / 'test.conllu')
  out_path = str(tmp_path / 'pred.conllu')
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  subprocess.run([sys.executable, os.path.join(REPO, 'tag.py'), f'--workdir={workdir}', f'--input={test_path}',
                  f'--output={out_path}'], check=True, cwd=REPO, env=env, capture_output=True)
  gold, predicted = conllu.read_conllu(test_path), conllu.read_conllu(out_path)
  assert [s.words for s in predicted] == [s.words for s in gold]
  assert {t for s in predicted for t in s.upos} <= set(tagging.load_tag_sets(workdir)['upos'])
  accuracy = np.mean([p == g for ps, gs in zip(predicted, gold) for p, g in zip(ps.upos, gs.upos)])
  assert abs(100 * accuracy - results['test/upos']) < 1e-6  # The task's own score of the same parameters.
  # Whitespace-tokenized text: one line of WORD/UPOS/XPOS items per input line (tag.py's stdin mode).
  lines = ['the dog running .', '', 'a cat !']
  sentences = [conllu.plain_sentence(line.split()) for line in lines if line.split()]
  loaded = restore.load_tagger(workdir)
  upos, xpos = tag.tag_sentences(*loaded[:6], sentences, batch_size=4)
  answers = list(tag.text_lines(lines, sentences, upos, xpos))
  assert answers[1] == '' and [len(a.split()) for a in answers] == [4, 0, 3]
  assert [item.split('/')[0] for item in answers[2].split()] == ['a', 'cat', '!']
  assert all(item.split('/')[1] in loaded[5]['upos'] and item.split('/')[2] in loaded[5]['xpos']
             for answer in answers for item in answer.split())


def test_a_masked_lm_encoder_fine_tunes_per_token(tmp_path):
  """init_from a masked-LM pretraining run: every encoder array loads, only the tag heads are fresh."""
  corpus = tmp_path / 'corpus.txt'
  corpus.write_text(''.join(f'the dog w{i % 30} running .\n' for i in range(200)))
  pretrain = config_loading.apply_overrides(config_loading.load_config('configs/pretrain/mlm.py:tiny'), {
      'log.progress_bar': False, 'data.dir': '', 'data.pretrain_corpus': str(corpus), 'data.pretrain_valid': 20,
      'train.num_steps': 2, 'eval.every_steps': 0})
  pretrained = str(tmp_path / 'mlm')
  loop.train_and_evaluate(pretrain, pretrained)
  config = _config('configs/tag/transformer.py', tmp_path, init_from=pretrained)
  task = tasks.build(config, str(tmp_path / 'run'))
  assert task.vocab.decode(task.vocab.encode('the dog zebra')) == 'the dog <unk>'  # The pretraining words.
  model = models.build(config.model, **task.model_dims)
  params = model.init(jax.random.PRNGKey(0), next(task.train_batcher(4, 0)))['params']
  params, loaded, fresh = stored_params.load_pretrained(params, pretrained, task.pretraining_only)
  assert all(path.startswith('heads/') for path in fresh) and fresh
  assert 'embed/embedding' in loaded and any(path.startswith('blocks_0/') for path in loaded)
  pretrained_params, _ = restore.newest_params(os.path.join(pretrained, 'checkpoints'))
  np.testing.assert_array_equal(params['embed']['embedding'], pretrained_params['embed']['embedding'])


def test_config_errors_name_the_choices(tmp_path):
  config = _config('configs/tag/bilstm.py', tmp_path, **{'model.name': 'rnn_classifier'})
  with pytest.raises(ValueError, match=r"model.name \(task.name=tag\) 'rnn_classifier'; choose one of: "
                                       r'bilstm_tagger, transformer_tagger'):
    config_loading.validate(config)
  config = _config('configs/tag/bilstm.py', tmp_path, **{'data.valid_path': ''})
  with pytest.raises(ValueError, match='missing data.valid_path'):
    tasks.build(config, str(tmp_path / 'run'))
  assert labeled.PAD_ID == conllu.PAD_ID  # Tagging batches pad words with the sentence vocabulary's PAD.


def test_a_long_word_keeps_its_first_and_last_characters():
  chars = tokenizers.Vocabulary(tokenizers.CharTokenizer.train('abcdefghijklmnopqrstuvwxyz'), tagging.CHAR_RESERVED)
  decode = lambda row: chars.decode(row[row != conllu.PAD_ID])
  assert decode(conllu.word_chars(chars, 'internationalization', 8)) == 'inte' + 'tion'
  assert decode(conllu.word_chars(chars, 'international', 9)) == 'inte' + 'ional'
  short = conllu.word_chars(chars, 'cat', 8)
  assert decode(short) == 'cat' and list(short[3:]) == [conllu.PAD_ID] * 5
  assert decode(conllu.word_chars(chars, 'c@t', 8)) == 'c\ufffdt'  # An unseen character: <unk>.


def test_files_paths_are_read_under_data_dir_when_relative_and_a_missing_one_is_named(tmp_path):
  _files(tmp_path)
  data_config = ml_collections.ConfigDict({'name': 'files', 'dir': str(tmp_path), 'train_path': 'train.conllu',
                                           'valid_path': str(tmp_path / 'dev.conllu'), 'test_path': 'test.conllu'})
  assert conllu.split_paths(data_config) == {split: str(tmp_path / name) for split, name in
                                             (('train', 'train.conllu'), ('valid', 'dev.conllu'),
                                              ('test', 'test.conllu'))}
  data_config.test_path = 'nowhere.conllu'
  with pytest.raises(FileNotFoundError, match="Expected 'nowhere.conllu' in data directory"):
    conllu.split_paths(data_config)
  data_config.test_path = ''
  with pytest.raises(ValueError, match='missing data.test_path'):
    conllu.split_paths(data_config)
