"""show_cells.py and data/text_properties.py: the text properties on hand-checked strings, the streamed
correlations and saturation against one-pass references, and the script end to end on a tiny trained LSTM."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import show_cells
from data import text_properties as tp
from models import lstm_trace
from training import config_loading
from training import errors
from training import loop
from training import plots
from training import restore

#         0123 4567 8 90 1 2345678901 2 3
TEXT = 'AB:\nSay "hi" (a [b]) ok\n'


def _at(positions, n=len(TEXT)):
  out = np.zeros(n)
  out[list(positions)] = 1
  return out


def test_properties_on_a_hand_checked_string():
  assert len(TEXT) == 24
  np.testing.assert_array_equal(tp.in_quotes(TEXT), _at([8, 9, 10]))  # The closing quote's read: outside.
  np.testing.assert_array_equal(tp.in_brackets(TEXT), _at(range(13, 19)))
  np.testing.assert_array_equal(tp.line_position(TEXT), [1, 2, 3, 0] + list(range(1, 20)) + [0])
  np.testing.assert_array_equal(tp.chars_to_newline(TEXT), [3, 2, 1, 20] + [23 - t for t in range(4, 23)] + [1])
  np.testing.assert_array_equal(tp.speaker_line(TEXT), _at([0, 1, 2]))
  np.testing.assert_array_equal(tp.vowel_next(TEXT), _at([4, 9, 13, 20]))
  np.testing.assert_array_equal(tp.whitespace(TEXT), _at([3, 7, 12, 15, 20, 23]))
  np.testing.assert_array_equal(tp.word_position(TEXT), [1, 2, 0, 0, 1, 2, 3, 0, 0, 1, 2, 0, 0, 0, 1, 0, 0, 1, 0,
                                                         0, 0, 1, 2, 0])
  assert set(tp.properties(TEXT)) == set(tp.PROPERTIES)


def test_properties_edge_cases():
  lines = 'KING RICHARD III:\nTailor:\nLADY CAPULET:\nI:\nNo more:'
  expected = np.zeros(len(lines))
  expected[0:17] = 1  # 'KING RICHARD III:'
  expected[26:39] = 1  # 'LADY CAPULET:'; not 'Tailor:' (not capitals), 'I:' or a verse line ending in ':'.
  np.testing.assert_array_equal(tp.speaker_line(lines), expected)
  np.testing.assert_array_equal(tp.in_quotes('\u201ca\u201d b"c'), [1, 1, 0, 0, 0, 1, 1])
  np.testing.assert_array_equal(tp.in_brackets(') (x)'), [0, 0, 1, 1, 0])  # An unmatched closer opens nothing.
  np.testing.assert_array_equal(tp.chars_to_newline('ab'), [2, 1])  # No newline: the end of the text.
  np.testing.assert_array_equal(tp.vowel_next('bE'), [1, 0])


def test_streamed_correlations_equal_numpy_corrcoef():
  rng = np.random.RandomState(0)
  x_TH = rng.randn(300, 5)
  y_TP = np.stack([x_TH[:, 2] * 3 + rng.randn(300), rng.randint(0, 2, 300), np.full(300, 7.0)], axis=1)
  x_TH[:, 4] = 0.25  # A cell that never moves.
  corr = show_cells.Correlations(3, 5)
  for start, stop in ((0, 17), (17, 200), (200, 300)):
    corr.add(x_TH[start:stop], y_TP[start:stop])
  r_PH = corr.r()
  for p in range(2):
    for h in range(4):
      np.testing.assert_allclose(r_PH[p, h], np.corrcoef(y_TP[:, p], x_TH[:, h])[0, 1], atol=1e-12)
  assert np.isnan(r_PH[2]).all() and np.isnan(r_PH[:, 4]).all()  # Constant: no correlation, not 0 or inf.
  assert r_PH[0, 2] > 0.9
  best = show_cells.best_cells([r_PH[:, :2], r_PH[:, 2:]], top=2)
  assert best[0][0] == (1, 0, r_PH[0, 2]) and len(best[0]) == 2 and best[2] == []


def test_streamed_saturation_equals_a_loop():
  rng = np.random.RandomState(1)
  gates_TH = {g: rng.rand(50, 4) ** (k + 1) for k, g in enumerate('ifgo')}
  gates_TH['f'][:, 0] = 0.95
  saturation = show_cells.Saturation(4)
  for start, stop in ((0, 10), (10, 50)):
    window = {g: a[start:stop] for g, a in gates_TH.items()}
    saturation.add(lstm_trace.LayerTrace(**window, c=window['i'], h=window['i']))
  fractions = saturation.fractions()
  assert set(fractions) == {'i', 'f', 'o'}
  for gate, (left_H, right_H) in fractions.items():
    for h in range(4):
      column = [gates_TH[gate][t, h] for t in range(50)]
      assert left_H[h] == sum(v < 0.1 for v in column) / 50
      assert right_H[h] == sum(v > 0.9 for v in column) / 50
  assert fractions['f'][1][0] == 1.0


def test_text_grid_wraps_at_newlines_and_width():
  assert plots.text_grid('ab\ncdef\n\ng', 3) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1),
                                                 (3, 0), (4, 0)]


def test_html_has_one_span_per_character_with_its_value():
  page = show_cells.cell_html('a<\n', [1.0, -0.5, 0.0], 1.0, 'x & y')
  assert page.count('<span') == 3 and '&lt;' in page and 'x &amp; y' in page
  assert 'title="+1.000"' in page and 'title="-0.500"' in page and plots.NEWLINE_GLYPH in page
  assert 'background:#053061' in page  # RdBu's far blue end at +1.


SPEECH = ('KING RICHARD III:\nWhat say you now, my lord? Speak on, and tell me all.\n\n'
          'LADY ANNE:\nI say the day is long, and none of it is ours.\n\n')


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  """A tiny LSTM LM trained for a few steps on a made-up play (no downloaded data needed)."""
  root = tmp_path_factory.mktemp('cells')
  (root / 'data' / 'tinyshakespeare').mkdir(parents=True)
  (root / 'data' / 'tinyshakespeare' / 'input.txt').write_text(SPEECH * 40)
  config = config_loading.load_config('configs/charlm/lstm.py:tiny')
  config = config_loading.apply_overrides(config, {
      'log.progress_bar': False, 'data.dir': str(root / 'data'), 'train.num_steps': 10, 'eval.every_steps': 10,
      'checkpoint.every_steps': 10})
  loop.train_and_evaluate(config, str(root / 'run'))
  return str(root / 'run')


def _run(*args):
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  return subprocess.run([sys.executable, os.path.join(config_loading.REPO_ROOT, 'show_cells.py'), *args],
                        capture_output=True, text=True, timeout=180, env=env)


def test_search_over_windows_equals_correlating_one_pass(workdir):
  params, tokenizer, _ = show_cells.load_lstm_lm(workdir)
  text = show_cells.held_out_text(workdir, 'train', '')[:300]
  tokens_T = show_cells.encode(tokenizer, text)
  result = show_cells.search(params, tokens_T, text, 'tanh_c', window=64)  # Five windows, the last padded.
  traces, _ = lstm_trace.trace(params, tokens_T[None], lstm_trace.initial_carry(params, 1))
  props = tp.properties(text)
  for layer, trace in enumerate(traces):
    x_TH = np.tanh(np.asarray(trace.c[0], np.float64))
    for p, name in enumerate(result['properties']):
      for cell in (0, 5, 15):
        expected = np.corrcoef(props[name], x_TH[:, cell])[0, 1] if props[name].std() > 0 else np.nan
        np.testing.assert_allclose(result['r'][layer][p, cell], expected, atol=1e-5, err_msg=(layer, name, cell))
    forget_H = np.asarray(trace.f[0])
    np.testing.assert_allclose(result['saturation'][layer]['f'][1], (forget_H > 0.9).mean(0))


def test_colouring_a_cell_writes_png_and_html(workdir, tmp_path):
  out = tmp_path / 'cell'
  done = _run(f'--workdir={workdir}', f'--text={SPEECH}', '--layer=1', '--cell=3', f'--out={out}')
  assert done.returncode == 0, done.stderr
  assert (tmp_path / 'cell.png').stat().st_size > 5_000
  page = (tmp_path / 'cell.html').read_text()
  assert page.count('<span') == len(SPEECH)
  params, tokenizer, _ = show_cells.load_lstm_lm(workdir)
  traces, _ = lstm_trace.trace(params, show_cells.encode(tokenizer, SPEECH)[None], lstm_trace.initial_carry(params, 1))
  first = float(np.tanh(traces[1].c[0, 0, 3]))
  assert f'title="{first:+.3f}"' in page.split('</span>')[0]


def test_search_writes_tables_json_and_plot(workdir, tmp_path):
  out = tmp_path / 'search'
  done = _run(f'--workdir={workdir}', '--search', f'--out={out}', '--top=2')
  assert done.returncode == 0, done.stderr
  record = json.loads((tmp_path / 'search.json').read_text())
  assert record['best']['in_quotes'] == [] and len(record['best']['line_position']) == 2  # The play has no quotes.
  assert [row['gate'] for row in record['saturation_summary']] == ['input', 'forget', 'output'] * 2
  assert len(record['saturation'][0]['forget']['left']) == 16
  table = (tmp_path / 'search.md').read_text()
  assert '| in_quotes | constant on this text |' in table and '| 1 | forget |' in table
  assert (tmp_path / 'search_saturation.png').stat().st_size > 10_000


def test_bad_input_is_one_error_line(workdir, tmp_path):
  params, tokenizer, _ = show_cells.load_lstm_lm(workdir)
  with pytest.raises(errors.UserError, match=r'--cell=16: layer 1 has cells 0..15'):
    show_cells.check_cell(params, 1, 16)
  with pytest.raises(errors.UserError, match=r'--layer=2: the model has layers 0..1'):
    show_cells.check_cell(params, 2, 0)
  with pytest.raises(errors.UserError, match=r"2 character\(s\) not in the model's vocabulary: '#' 'Z'"):
    show_cells.encode(tokenizer, 'Z#a')
  gru = tmp_path / 'gru'
  shutil.copytree(workdir, gru)
  config = json.loads((gru / 'config.json').read_text())
  config['model']['cell'] = 'gru'
  (gru / 'config.json').write_text(json.dumps(config))
  with pytest.raises(errors.WorkdirError, match="model.cell='gru'; show_cells.py needs an LSTM LM"):
    show_cells.load_lstm_lm(str(gru))
  assert restore.load_config(workdir).model.cell == 'lstm'
  for args, expected in (([f'--workdir={tmp_path / "none"}', '--cell=0', '--text=a'], 'is not a training workdir'),
                         ([f'--workdir={workdir}', '--cell=99', '--text=a'], '--cell=99: layer 0 has cells 0..15')):
    bad = _run(*args)
    lines = bad.stderr.strip().splitlines()
    assert bad.returncode == 2 and len(lines) == 1 and lines[0].startswith('error: ') and expected in lines[0], lines
