"""Colours a text by one cell of a trained character-level LSTM LM, or searches every cell for what it tracks
(Karpathy, Johnson & Fei-Fei 2015, "Visualizing and Understanding Recurrent Networks").

  python show_cells.py --workdir=runs/charlm_lstm --text_file=speech.txt --layer=1 --cell=37 --out=lstm_cell
  python show_cells.py --workdir=runs/charlm_lstm --search --out=lstm_cells_search

Colouring writes PREFIX.png and PREFIX.html: every character on a background coloured by the cell's
activation once the character is read, red -1, white 0, blue +1 (a newline is drawn as a return arrow). The
activation is tanh(c), as the paper colours it: c itself is unbounded and h = o tanh(c) mixes in the output
gate; --value=c (coloured over ±max|c|) or --value=h shows those instead.

--search traces a held-out text as one stream from a zero state: --text / --text_file, or by default the
--split (valid) of the workdir's own corpus, read as training read it (its data.split and data.max_chars),
from --data_dir, else the config's data.dir, else SEQLAB_DATA_DIR. It prints and writes PREFIX.md (and
everything in PREFIX.json):
  - for every property of data/text_properties.py, the --top cells (of all layers) whose activation has the
    largest Pearson |r| with it over all characters;
  - gate saturation (their Figure 3): per layer and gate, the fraction of steps each cell's gate is below
    0.1 (left-saturated) and above 0.9 (right-saturated), summarized over the layer's cells; PREFIX_saturation.png
    plots every cell.
"""
import html
import json
import os
import time

from absl import app
from absl import flags
from absl import logging
import numpy as np

from data import corpus
from data import files
from data import text_properties
from models import lm
from models import lstm_trace
from training import cli
from training import errors
from training import plots
from training import restore

VALUES = ('tanh_c', 'c', 'h')
SATURATION_GATES = {'i': 'input', 'f': 'forget', 'o': 'output'}  # The sigmoid gates; g is a tanh.
WINDOW = 1024  # Characters traced per call: one compiled program for any text length, state carried across.
FLAGS = flags.FLAGS


def define_flags() -> None:
  """Only when run as a script: tests import this module."""
  flags.DEFINE_string('workdir', None, 'A character-level rnn_lm workdir with model.cell=lstm, written by train.py.')
  flags.DEFINE_string('text', '', 'The text to colour (or to search over, with --search).')
  flags.DEFINE_string('text_file', '', 'A UTF-8 file holding the text, instead of --text.')
  flags.DEFINE_integer('layer', 0, 'Recurrent layer, from 0.', lower_bound=0)
  flags.DEFINE_integer('cell', None, 'Cell of the layer to colour by, from 0.', lower_bound=0)
  flags.DEFINE_enum('value', 'tanh_c', VALUES, 'The activation: tanh of the cell state, the cell state, or h.')
  flags.DEFINE_integer('width', 100, 'Characters per row of the PNG before a long line wraps.', lower_bound=10)
  flags.DEFINE_bool('search', False, 'Correlate every cell with the text properties and measure gate saturation.')
  flags.DEFINE_enum('split', 'valid', list(corpus.SPLIT_NAMES), '--search without a text: this split of the '
                    "workdir's corpus.")
  flags.DEFINE_string('data_dir', '', "--search without a text: where the corpus is; default: the config's "
                      'data.dir, else SEQLAB_DATA_DIR.')
  flags.DEFINE_integer('max_chars', 0, '--search: only the first N characters of the text; 0 = all.', lower_bound=0)
  flags.DEFINE_integer('top', 3, '--search: cells listed per property.', lower_bound=1)
  flags.DEFINE_string('out', 'cells', 'Output prefix: PREFIX.png and PREFIX.html, or with --search PREFIX.md, '
                      'PREFIX.json and PREFIX_saturation.png.')
  flags.mark_flags_as_required(['workdir'])


def load_lstm_lm(workdir: str):
  """(params, tokenizer, step) of a character-level LSTM LM workdir; a UserError says why another is not one."""
  model, params, tokenizer, step = restore.load_lm(workdir)
  if not isinstance(model, lm.RNNLM) or model.cell != 'lstm':
    what = f'an rnn_lm with model.cell={model.cell!r}' if isinstance(model, lm.RNNLM) else f'a {type(model).__name__}'
    raise errors.WorkdirError(f'{workdir!r} holds {what}; show_cells.py needs an LSTM LM (model.cell=lstm).')
  if tokenizer.kind != 'char':
    raise errors.WorkdirError(f'{workdir!r} holds a {tokenizer.kind!r}-tokenized LM; show_cells.py colours '
                              'characters and needs data.tokenizer=char.')
  return params, tokenizer, step


def layer_sizes(params) -> list:
  return [layer['recurrent_kernel'].shape[0] for layer in lstm_trace.lstm_layers(params)]


def check_cell(params, layer: int, cell: int) -> None:
  sizes = layer_sizes(params)
  if layer >= len(sizes):
    raise errors.UserError(f'--layer={layer}: the model has layers 0..{len(sizes) - 1}.')
  if cell >= sizes[layer]:
    raise errors.UserError(f'--cell={cell}: layer {layer} has cells 0..{sizes[layer] - 1}.')


def encode(tokenizer, text: str) -> np.ndarray:
  """The text's ids; a UserError names characters the vocabulary lacks (the model never saw them)."""
  if not text:
    raise errors.UserError('the text is empty; give --text or --text_file.')
  unknown = sorted(set(text) - set(tokenizer.chars))
  if unknown:
    shown = ' '.join(repr(ch) for ch in unknown[:10]) + (f' and {len(unknown) - 10} more' if len(unknown) > 10 else '')
    raise errors.UserError(f'the text has {len(unknown)} character(s) not in the model\'s vocabulary: {shown}.')
  return np.asarray(tokenizer.encode(text), np.int32)


def activation(trace: lstm_trace.LayerTrace, value: str):
  """The chosen activation (..., H) of a layer's trace."""
  if value == 'tanh_c':
    return np.tanh(trace.c)
  return trace.c if value == 'c' else trace.h


def trace_windows(params, tokens_T: np.ndarray, window: int = WINDOW):
  """Yields (start, [LayerTrace per layer, fields (n, H) as numpy]) for consecutive windows of the text, read
  as one stream from a zero state. The last window is padded to `window` (one compiled shape) and cut back."""
  carry = lstm_trace.initial_carry(params, 1)
  for start in range(0, len(tokens_T), window):
    chunk_T = tokens_T[start:start + window]
    padded_1W = np.zeros((1, window), np.int32)
    padded_1W[0, :len(chunk_T)] = chunk_T
    traces, carry = lstm_trace.trace(params, padded_1W, carry)  # Padding comes last: it changes nothing kept.
    yield start, [lstm_trace.LayerTrace(*(np.asarray(a[0, :len(chunk_T)]) for a in t)) for t in traces]


def cell_values(params, tokens_T: np.ndarray, layer: int, cell: int, value: str) -> np.ndarray:
  """(T,) activation of one cell after each token."""
  parts = [activation(traces[layer], value)[:, cell] for _, traces in trace_windows(params, tokens_T)]
  return np.concatenate(parts)


class Correlations:
  """Pearson r of every cell (H) with every property (P) over all steps, from float64 sums added window by
  window, so that no text's whole trace is held at once."""

  def __init__(self, num_properties: int, num_cells: int):
    self.n = 0
    self.sx_H, self.sxx_H = np.zeros(num_cells), np.zeros(num_cells)
    self.sy_P, self.syy_P = np.zeros(num_properties), np.zeros(num_properties)
    self.sxy_PH = np.zeros((num_properties, num_cells))

  def add(self, x_TH, y_TP) -> None:
    x_TH, y_TP = np.asarray(x_TH, np.float64), np.asarray(y_TP, np.float64)
    self.n += len(x_TH)
    self.sx_H += x_TH.sum(0)
    self.sxx_H += (x_TH ** 2).sum(0)
    self.sy_P += y_TP.sum(0)
    self.syy_P += (y_TP ** 2).sum(0)
    self.sxy_PH += y_TP.T @ x_TH

  def r(self) -> np.ndarray:
    """(P, H); NaN where a cell or a property is constant over the text (no correlation is defined)."""
    n = self.n
    cov_PH = n * self.sxy_PH - np.outer(self.sy_P, self.sx_H)
    var_x_H = n * self.sxx_H - self.sx_H ** 2
    var_y_P = n * self.syy_P - self.sy_P ** 2
    # Sums of squares cancel to rounding noise (not exactly 0) for a constant series: call that constant.
    var_x_H = np.where(var_x_H > 1e-12 * np.maximum(n * self.sxx_H, 1e-300), var_x_H, np.nan)
    var_y_P = np.where(var_y_P > 1e-12 * np.maximum(n * self.syy_P, 1e-300), var_y_P, np.nan)
    return cov_PH / np.sqrt(np.outer(var_y_P, var_x_H))


class Saturation:
  """Per gate, how often each cell's gate is left- (< 0.1) and right-saturated (> 0.9)."""

  def __init__(self, num_cells: int):
    self.n = 0
    self.counts = {g: (np.zeros(num_cells, np.int64), np.zeros(num_cells, np.int64)) for g in SATURATION_GATES}

  def add(self, trace: lstm_trace.LayerTrace) -> None:
    self.n += len(trace.i)
    for gate, (left_H, right_H) in self.counts.items():
      left, right = lstm_trace.saturation_counts(getattr(trace, gate))
      left_H += left
      right_H += right

  def fractions(self) -> dict:
    """{gate: (left_H, right_H)} fractions of the steps."""
    return {g: (left_H / self.n, right_H / self.n) for g, (left_H, right_H) in self.counts.items()}


def search(params, tokens_T: np.ndarray, text: str, value: str, window: int = WINDOW) -> dict:
  """{'properties': names, 'value', 'r': [(P, H) per layer], 'saturation': [{gate: (left_H, right_H)} per layer]}
  over the text read as one stream from a zero state, `window` characters per traced call."""
  props = text_properties.properties(text)
  names = list(props)
  y_TP = np.stack([props[name] for name in names], axis=1)
  sizes = layer_sizes(params)
  correlations = [Correlations(len(names), size) for size in sizes]
  saturation = [Saturation(size) for size in sizes]
  for start, traces in trace_windows(params, tokens_T, window):
    for layer, trace in enumerate(traces):
      correlations[layer].add(activation(trace, value), y_TP[start:start + len(trace.c)])
      saturation[layer].add(trace)
  return {'properties': names, 'value': value, 'r': [c.r() for c in correlations],
          'saturation': [s.fractions() for s in saturation]}


def best_cells(r_per_layer: list, top: int) -> list:
  """Per property: [] when it is constant over the text, else the `top` (layer, cell, r) by |r|."""
  best = []
  for p in range(r_per_layer[0].shape[0]):
    candidates = [(layer, cell, float(r_PH[p, cell])) for layer, r_PH in enumerate(r_per_layer)
                  for cell in range(r_PH.shape[1]) if np.isfinite(r_PH[p, cell])]
    best.append(sorted(candidates, key=lambda c: -abs(c[2]))[:top])
  return best


def saturation_rows(saturation: list) -> list:
  """One dict per (layer, gate): the layer's mean fractions and counts of cells by how they saturate."""
  rows = []
  for layer, gates in enumerate(saturation):
    for gate, (left_H, right_H) in gates.items():
      rows.append({'layer': layer, 'gate': SATURATION_GATES[gate], 'mean_left': float(left_H.mean()),
                   'mean_right': float(right_H.mean()), 'cells_left_over_half': int((left_H > 0.5).sum()),
                   'cells_right_over_half': int((right_H > 0.5).sum()),
                   'cells_rarely_saturated': int((left_H + right_H < 0.1).sum()), 'cells': len(left_H)})
  return rows


def markdown(result: dict, best: list, rows: list, about: str) -> str:
  top = max((len(b) for b in best), default=1)
  lines = [f'Cells by Pearson r of their {result["value"]} with text properties ({about}):', '',
           '| property | ' + ' | '.join(f'#{k + 1} (layer, cell): r' for k in range(top)) + ' |',
           '|---|' + '---|' * top]
  for name, cells in zip(result['properties'], best):
    entries = [f'({layer}, {cell}): {r:+.3f}' for layer, cell, r in cells] or ['constant on this text']
    lines.append(f'| {name} | ' + ' | '.join(entries + [''] * (top - len(entries))) + ' |')
  lines += ['', 'Gate saturation (fraction of steps a gate is < 0.1 (left) or > 0.9 (right); cells of the layer):',
            '', '| layer | gate | mean left | mean right | cells left > 0.5 | cells right > 0.5 | '
            'cells saturated < 10% of steps |', '|---|---|---|---|---|---|---|']
  for row in rows:
    lines.append(f'| {row["layer"]} | {row["gate"]} | {row["mean_left"]:.3f} | {row["mean_right"]:.3f} | '
                 f'{row["cells_left_over_half"]} / {row["cells"]} | {row["cells_right_over_half"]} / {row["cells"]} | '
                 f'{row["cells_rarely_saturated"]} / {row["cells"]} |')
  return '\n'.join(lines) + '\n'


def cell_html(text: str, values_T, vmax: float, title: str) -> str:
  """A page with every character in a <span> whose background is its value's colour (the PNG's colormap)
  and whose tooltip is the value."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  cmap = matplotlib.colormaps['RdBu']
  spans = []
  for ch, v in zip(text, values_T, strict=True):
    red, green, blue, _ = cmap(float(np.clip(0.5 + 0.5 * v / vmax, 0.0, 1.0)))
    color = 'white' if abs(v) > 0.6 * vmax else 'black'
    glyph = plots.NEWLINE_GLYPH if ch == '\n' else html.escape(ch)
    spans.append(f'<span style="background:#{int(255 * red):02x}{int(255 * green):02x}{int(255 * blue):02x};'
                 f'color:{color}" title="{v:+.3f}">{glyph}</span>' + ('\n' if ch == '\n' else ''))
  return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>' + html.escape(title) + '</title></head>\n'
          '<body>\n<p style="font-family:sans-serif">' + html.escape(title) + '</p>\n'
          '<pre style="font-family:monospace;line-height:1.35;white-space:pre-wrap">' + ''.join(spans) +
          '</pre>\n</body></html>\n')


def _user_text() -> str | None:
  if FLAGS.text and FLAGS.text_file:
    cli.fail('give --text or --text_file, not both.')
  if FLAGS.text_file:
    return cli.run(lambda path: files.decode_utf8(files.read_bytes(path), path), FLAGS.text_file)
  return FLAGS.text or None


def held_out_text(workdir: str, split: str, data_dir: str) -> str:
  """The split of the workdir's corpus, cut as its training run cut it."""
  config = restore.load_config(workdir)
  data_config = config.data.copy_and_resolve_references()
  data_config.dir = data_dir or config.data.get('dir', '') or os.environ.get('SEQLAB_DATA_DIR', '')
  return corpus.splits(data_config)[split].prefix(0)


def _colour(params, tokenizer, step: int, text: str) -> None:
  if FLAGS.cell is None:
    cli.fail('give --cell=K (the cell to colour by), or --search to find cells.')
  cli.run(check_cell, params, FLAGS.layer, FLAGS.cell)
  tokens_T = cli.run(encode, tokenizer, text)
  values_T = cell_values(params, tokens_T, FLAGS.layer, FLAGS.cell, FLAGS.value)
  vmax = float(max(np.abs(values_T).max(), 1e-6)) if FLAGS.value == 'c' else 1.0
  name = {'tanh_c': 'tanh(c)', 'c': 'c', 'h': 'h'}[FLAGS.value]
  title = f'{name} of layer {FLAGS.layer}, cell {FLAGS.cell} (step {step}; red -{vmax:.3g}, blue +{vmax:.3g})'
  plots.plot_cell_text(text, values_T, vmax, title, FLAGS.out + '.png', FLAGS.width)
  with open(FLAGS.out + '.html', 'w', encoding='utf-8') as f:
    f.write(cell_html(text, values_T, vmax, title))
  print(f'wrote {FLAGS.out}.png and {FLAGS.out}.html')


def _search(params, tokenizer, step: int, text: str | None) -> None:
  if text is None:
    text = cli.run(held_out_text, FLAGS.workdir, FLAGS.split, FLAGS.data_dir)
    about = f'the {FLAGS.split} split of the workdir\'s corpus'
    tokens_T = np.asarray(tokenizer.encode(text), np.int32)  # Unseen characters read as <unk>, as in evaluation.
    unknown = len(set(text) - set(tokenizer.chars))
    if unknown:
      about += f' ({unknown} kinds of character not in the vocabulary, read as <unk>)'
  else:
    about = 'the given text'
    tokens_T = cli.run(encode, tokenizer, text)
  if FLAGS.max_chars:
    text, tokens_T = text[:FLAGS.max_chars], tokens_T[:FLAGS.max_chars]
  if not len(tokens_T):
    cli.fail('the text to search over is empty.')
  begin = time.perf_counter()
  result = search(params, tokens_T, text, FLAGS.value)
  seconds = time.perf_counter() - begin
  about += f', {len(text):,} characters; step {step}'
  best, rows = best_cells(result['r'], FLAGS.top), saturation_rows(result['saturation'])
  report = markdown(result, best, rows, about)
  print(report + f'\ntraced and measured in {seconds:.1f} s')
  with open(FLAGS.out + '.md', 'w', encoding='utf-8') as f:
    f.write(report)
  record = {'workdir': FLAGS.workdir, 'step': step, 'text': about, 'chars': len(text), 'value': FLAGS.value,
            'seconds': round(seconds, 2),
            'best': {name: [{'layer': layer, 'cell': cell, 'r': round(r, 4)} for layer, cell, r in cells]
                     for name, cells in zip(result['properties'], best)},
            'r': {name: [[None if np.isnan(v) else round(float(v), 4) for v in r_PH[p]] for r_PH in result['r']]
                  for p, name in enumerate(result['properties'])},
            'saturation_summary': rows,
            'saturation': [{SATURATION_GATES[g]: {'left': np.round(left_H, 4).tolist(),
                                                  'right': np.round(right_H, 4).tolist()}
                            for g, (left_H, right_H) in gates.items()} for gates in result['saturation']]}
  with open(FLAGS.out + '.json', 'w', encoding='utf-8') as f:
    json.dump(record, f)  # One line: the per-cell lists would take a line per number.
  fractions = {SATURATION_GATES[g]: [gates[g] for gates in result['saturation']] for g in SATURATION_GATES}
  plots.plot_gate_saturation(fractions, f'gate saturation over {about}', FLAGS.out + '_saturation.png')
  print(f'wrote {FLAGS.out}.md, {FLAGS.out}.json and {FLAGS.out}_saturation.png')


def main(argv):
  if len(argv) > 1:
    cli.fail(f'unexpected arguments {argv[1:]}; flags look like --name=value.')
  logging.set_verbosity(logging.WARNING)
  text = _user_text()
  params, tokenizer, step = cli.run(load_lstm_lm, FLAGS.workdir)
  if FLAGS.search:
    _search(params, tokenizer, step, text)
  else:
    if text is None:
      cli.fail('give the text to colour: --text=... or --text_file=FILE.')
    _colour(params, tokenizer, step, text)


if __name__ == '__main__':
  define_flags()
  app.run(main)
