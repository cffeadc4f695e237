"""Figures: learning curves from metrics.jsonl (one run, or the rows of a sweep), attention maps, trees, text
coloured by an LSTM cell and gate saturation."""
import functools
import textwrap

import numpy as np

from training import writers


@functools.cache
def _pyplot():
  """matplotlib on its file-only backend, imported at the first plot: a training run would otherwise carry
  its ~30 MiB and 0.7 s of import from the start, through the compiles where its memory peaks."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  return plt


def _y_scale(ax) -> str:
  """'log' for curves that span more than a factor of 3 (losses falling by orders of magnitude), else 'linear'
  (accuracies between 80 and 95 read better on a plain axis)."""
  values = [v for line in ax.lines for v in line.get_ydata()]
  return 'log' if values and min(values) > 0 and max(values) > 3 * min(values) else 'linear'


def _series(records, split, metric):
  points = sorted((r['step'], r[metric]) for r in records if r['split'] == split and metric in r)
  return [p[0] for p in points], [p[1] for p in points]


def plot_run(metrics_path: str, out_path: str) -> None:
  """Left: training and validation loss; right: every other validation metric. Steps on x; y log where the
  curves span more than a factor of 3."""
  plt = _pyplot()
  records = writers.read_jsonl(metrics_path)
  valid_metrics = sorted({k for r in records if r['split'] == 'valid' for k in r} - {'step', 'split', 'wall_time'})
  fig, (loss_ax, metric_ax) = plt.subplots(1, 2, figsize=(10, 4))
  for ax, lines in ((loss_ax, [('train', 'loss'), ('valid', 'loss')]),
                    (metric_ax, [('valid', m) for m in valid_metrics if m != 'loss'])):
    for split, metric in lines:
      steps, values = _series(records, split, metric)
      if steps:
        ax.plot(steps, values, label=f'{split}/{metric}', marker='.' if split == 'valid' else None)
    ax.set(xlabel='step', yscale=_y_scale(ax))
    if ax.lines:
      ax.legend()
  loss_ax.set_title('loss')
  metric_ax.set_title('validation metrics')
  fig.tight_layout()
  fig.savefig(out_path, dpi=100)
  plt.close(fig)


def plot_sweep(curves: dict, metric: str, out_path: str, baseline: float | None = None,
               title: str | None = None) -> None:
  """curves: {row: (steps, mean values)}; one line per row, and `baseline` as a dashed black line."""
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(9, 5))
  colors = plt.get_cmap('tab20' if len(curves) > 10 else 'tab10').colors
  for i, (row, (steps, values)) in enumerate(curves.items()):
    color = colors[i % len(colors)]
    if len(steps) > 1:
      ax.plot(steps, values, label=row, marker='.', color=color)
    elif steps:  # Evaluated once (e.g. a count-based model): a level line.
      ax.axhline(values[0], label=row, linestyle='--', color=color)
  if baseline is not None:
    ax.axhline(baseline, label='baseline', linestyle='--', color='black')
  ax.set(xlabel='step', ylabel=metric, yscale=_y_scale(ax), title=title or f'{metric} (mean over seeds)')
  ax.legend(loc='center left', bbox_to_anchor=(1.0, 0.5), fontsize='small')
  fig.tight_layout()
  fig.savefig(out_path, dpi=100)
  plt.close(fig)


def plot_attention(weights_TS, labels: list[str], title: str, out_path: str, key_labels: list[str] | None = None,
                   axis_names: tuple[str, str] = ('query', 'key (attended to)')) -> None:
  """A heat map of attention weights: queries down, keys across, each labelled by its token.

  Self-attention labels both axes with `labels`; cross-attention passes the source tokens as `key_labels`.
  """
  plt = _pyplot()
  key_labels = labels if key_labels is None else key_labels
  height, width = max(4.0, 0.22 * len(labels)), max(4.0, 0.22 * len(key_labels))
  fig, ax = plt.subplots(figsize=(width + 1.0, height))
  image = ax.imshow(weights_TS, cmap='viridis', vmin=0.0)
  show = lambda tokens: [repr(t)[1:-1].replace(' ', '\u2423') for t in tokens]  # Newlines, spaces stay visible.
  ax.set_xticks(range(len(key_labels)), show(key_labels), fontsize=7, family='monospace', rotation=90)
  ax.set_yticks(range(len(labels)), show(labels), fontsize=7, family='monospace')
  ax.set(xlabel=axis_names[1], ylabel=axis_names[0])
  ax.set_title('\n'.join(textwrap.wrap(title, int(7 * width))), fontsize=9)  # About 7 characters an inch.
  fig.colorbar(image, ax=ax, fraction=0.046)
  fig.tight_layout()
  fig.savefig(out_path, dpi=120)
  plt.close(fig)


def plot_tree(words, left, right, predicted, gold, class_names: list, title: str, out_path: str) -> None:
  """A binary tree drawn root up, each node a disc colored by its predicted class (first class red, last
  blue, the middle white, as Socher et al. 2013's Figure 1) and marked with it; a node whose gold label
  differs is ringed in black (gold -1: no label). Nodes in post-order (children first); left/right -1 at leaves, which are in
  word order."""
  plt = _pyplot()
  n = len(predicted)
  x, y, leaf = [0.0] * n, [0.0] * n, 0
  for node in range(n):  # Post-order: children are placed first.
    if left[node] < 0:
      x[node], y[node], leaf = float(leaf), 0.0, leaf + 1
    else:
      x[node] = (x[left[node]] + x[right[node]]) / 2
      y[node] = 1.0 + max(y[left[node]], y[right[node]])
  colors = plt.get_cmap('RdBu')([0.1 + 0.8 * c / max(1, len(class_names) - 1) for c in predicted])
  fig, ax = plt.subplots(figsize=(max(6.0, 0.75 * len(words)), max(3.0, 0.55 * (max(y) + 2))))
  for node in range(n):
    for child in (left[node], right[node]):
      if child >= 0:
        ax.plot([x[node], x[child]], [y[node], y[child]], color='0.6', linewidth=1, zorder=1)
  for node in range(n):
    wrong = gold[node] >= 0 and predicted[node] != gold[node]
    ax.scatter([x[node]], [y[node]], s=330, color=colors[node], zorder=2, edgecolors='black' if wrong else '0.6',
               linewidths=2.0 if wrong else 0.5)
    ax.text(x[node], y[node], class_names[predicted[node]], ha='center', va='center', fontsize=7, zorder=3)
    if left[node] < 0:
      ax.text(x[node], -0.55, words[int(x[node])], ha='center', va='top',
              fontsize=8, rotation=45 if len(words) > 12 else 0)
  ax.set_ylim(-1.6, max(y) + 0.6)
  ax.set_xlim(-0.8, len(words) - 0.2)
  ax.axis('off')
  ax.set_title('\n'.join(textwrap.wrap(title, 100)), fontsize=9)
  fig.text(0.01, 0.01, 'black ring: the prediction differs from the treebank\'s label', fontsize=7)
  fig.tight_layout()
  fig.savefig(out_path, dpi=120)
  plt.close(fig)


NEWLINE_GLYPH = '\u21b5'  # How a newline character shows in a coloured text: it has an activation too.


def text_grid(text: str, width: int) -> list:
  """(row, column) of every character of `text` laid out in lines: a newline ends its row (it is drawn, at
  the end of the row it ends), and a line longer than `width` wraps."""
  cells, row, col = [], 0, 0
  for ch in text:
    if col == width:
      row, col = row + 1, 0
    cells.append((row, col))
    row, col = (row + 1, 0) if ch == '\n' else (row, col + 1)
  return cells


def plot_cell_text(text: str, values_T, vmax: float, title: str, out_path: str, width: int = 100) -> None:
  """Each character of `text` on a background coloured by its value in [-vmax, vmax]: red negative, blue
  positive (Karpathy et al. 2015's colours), white 0; newlines drawn as a return arrow."""
  plt = _pyplot()
  cells = text_grid(text, width)
  rows, cols = (cells[-1][0] + 1, max(c for _, c in cells) + 1) if cells else (1, 1)
  grid_RC = np.full((rows, cols), np.nan)
  for (r, c), v in zip(cells, values_T, strict=True):
    grid_RC[r, c] = v
  fig, ax = plt.subplots(figsize=(max(4.0, 0.08 * cols + 1.0), 0.17 * rows + 0.9))
  cmap = plt.get_cmap('RdBu').copy()
  cmap.set_bad('white')  # Places no character takes.
  image = ax.imshow(np.ma.masked_invalid(grid_RC), cmap=cmap, vmin=-vmax, vmax=vmax, aspect='auto',
                    interpolation='nearest')
  for ch, (r, c), v in zip(text, cells, values_T):
    if not ch.isspace() or ch == '\n':
      ax.text(c, r, NEWLINE_GLYPH if ch == '\n' else ch, ha='center', va='center', family='monospace',
              fontsize=8, color='white' if abs(v) > 0.6 * vmax else 'black')
  ax.set_xticks([])
  ax.set_yticks([])
  ax.set_title('\n'.join(textwrap.wrap(title, max(60, int(1.1 * cols)))), fontsize=8)
  fig.colorbar(image, ax=ax, fraction=0.02, pad=0.01)
  fig.tight_layout()
  fig.savefig(out_path, dpi=110)
  plt.close(fig)


def plot_gate_saturation(fractions: dict, title: str, out_path: str) -> None:
  """Karpathy et al. (2015)'s Figure 3: one panel per gate, one point per cell at (fraction of steps
  left-saturated, fraction right-saturated), coloured by layer. fractions: {gate name: [(left_H, right_H) per
  layer]}. No point can lie above the diagonal x + y = 1."""
  plt = _pyplot()
  fig, axes = plt.subplots(1, len(fractions), figsize=(4.0 * len(fractions), 4.2), squeeze=False)
  colors = plt.get_cmap('tab10').colors
  for ax, (gate, layers) in zip(axes[0], fractions.items()):
    ax.plot([0, 1], [1, 0], color='0.8', linewidth=1, zorder=0)
    for layer, (left_H, right_H) in enumerate(layers):
      ax.scatter(left_H, right_H, s=7, alpha=0.5, color=colors[layer % len(colors)], label=f'layer {layer}',
                 linewidths=0)
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), aspect='equal', title=f'{gate} gate',
           xlabel='fraction left-saturated (< 0.1)', ylabel='fraction right-saturated (> 0.9)')
    ax.legend(fontsize=7, markerscale=2, loc='upper right')
  fig.suptitle(title, fontsize=9)
  fig.tight_layout()
  fig.savefig(out_path, dpi=100)
  plt.close(fig)


def plot_gradient_flow(curves: dict, title: str, out_path: str) -> None:
  """curves: {'RUN (init)' or 'RUN (trained)': (steps t, ‖∂L/∂h_t‖)}: one colour per run, dashed at
  initialization, solid after training; log y (the norms span orders of magnitude)."""
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(9, 5))
  colors = plt.get_cmap('tab10').colors
  runs = list(dict.fromkeys(label.rsplit(' (', 1)[0] for label in curves))
  for label, (steps, values) in curves.items():
    run, when = label.rsplit(' (', 1)
    ax.plot(steps, np.maximum(values, 1e-30), label=label, color=colors[runs.index(run) % len(colors)],
            linestyle='--' if when.startswith('init') else '-', linewidth=1.2)
  ax.set(xlabel='t (step whose state the gradient reaches)', ylabel='‖∂L/∂h_t‖', yscale='log', title=title)
  ax.legend(loc='center left', bbox_to_anchor=(1.0, 0.5), fontsize='small')
  fig.tight_layout()
  fig.savefig(out_path, dpi=100)
  plt.close(fig)
