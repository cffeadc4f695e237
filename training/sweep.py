"""Sweeps: every row of a sweep file for N seeds, each in its own workdir, then one table.

A sweep file defines get_sweep() -> dict(
    seeds=N, metrics=('split/metric', ...), reference_metric='split/metric',
    reference_source='paper, table', rows=[dict(name, config='configs/...py[:ARG]',
    overrides={'a.b': value}, reference=float or None), ...],
    curve_metrics={'NAME': ('split/metric', threshold)},
    figures={'NAME': dict(rows=('ROW', ...), metric='valid/metric', baseline=float or None, title='...')},
    pretraining={'NAME': dict(config=..., overrides={...}),
    slurm=dict(partition=..., time=..., gpus=..., cpus=..., requeue=..., args={...})).
A row may add `folds=K` (k-fold cross-validation: K runs per seed with data.fold = 0..K-1, in
ROW/seed_S/fold_F; the seed's result is the mean over folds, train/seconds their sum) and
`init_from='NAME'` (fine-tuning from the pretraining run NAME, trained once, seed 0, in
pretrain/NAME before any row) and `distill_from='NAME'` (a student of the classifier that the pretraining run
NAME trained: task.distill_from). A pretraining run may itself name `init_from` an earlier pretraining run
(a teacher fine-tuned from a pretrained model).
Rows may name a `group` and a `task` (the same model on several data sets): table_by_task.{md,csv}
then has one line per group, the reference metric per task and its average over the tasks (per seed,
over the seeds every task finished), and with `baseline='GROUP'` each group's gain over that group
(per seed, with the standard error of its mean).
A curve metric is the first logged step at which split/metric fell below the
threshold (averaged over the seeds that got there); list NAME in `metrics`.
Learning curves go to curves.png (the reference metric's, every row), or with `figures` to one
curves_NAME.png per figure: its rows' curves of its metric, and the baseline as a dashed line.
Runs that finished (results.json present) are skipped, unfinished ones resume
from their checkpoints, so a killed sweep picks up where it stopped.
A records folder (`records=DIR`) keeps a checkpoint-free copy of every finished run (RECORD_FILES, same
layout as the workdir) that is small enough to commit: a sweep given it copies the records its workdir
lacks in before training (those runs are then skipped and count in the tables) and each run it finishes
out, so a sweep can go on from a fresh machine. A pretraining run's record also holds its vocabulary and its
parameters in float16 (training/stored_params.EXPORT_FILE, written as soon as it finishes, and what its rows'
init_from loads on every machine). A pretraining run is trained only while a row that starts from it has a run
to train.
run_sweep trains one run after another in this process; training/launchers.py runs the same runs (plan)
several at a time on this host, or as SLURM array tasks with the defaults of the optional `slurm` section.
"""
import contextlib
import csv
import dataclasses
import io
import json
import os
import shutil
import time

import numpy as np

from training import config_loading
from training import errors
from training import loop
from training import plots
from training import stored_params
from training import writers

SWEEP_KEYS = {'seeds', 'metrics', 'reference_metric', 'reference_source', 'rows', 'curve_metrics', 'pretraining',
              'baseline', 'slurm', 'figures'}
FIGURE_KEYS = {'rows', 'metric', 'baseline', 'title'}
# A sweep's `slurm` section: ablate.py --launcher=slurm's defaults, which its --slurm_* flags override
# (training/launchers.py).
SLURM_KEYS = {'partition', 'time', 'gpus', 'cpus', 'requeue', 'args'}
ROW_KEYS = {'name', 'config', 'overrides', 'reference', 'folds', 'init_from', 'distill_from', 'group', 'task'}
PRETRAINING_KEYS = {'config', 'overrides', 'init_from'}
# What a finished run's tables and curves read; checkpoints stay in the workdir.
RECORD_FILES = ('results.json', 'metrics.jsonl', 'config.json')


def load_sweep(path: str) -> dict:
  """Loads a sweep file and checks every row's config and overrides before anything runs."""
  sweep = config_loading.load_module(path).get_sweep()
  unknown = set(sweep) - SWEEP_KEYS
  if unknown or 'rows' not in sweep:
    raise config_loading.ConfigError(
        f'Sweep {path}: keys {sorted(unknown) or "(rows missing)"} are not sweep keys; valid: {sorted(SWEEP_KEYS)}.')
  names = [row['name'] for row in sweep['rows']]
  if len(set(names)) != len(names):
    raise config_loading.ConfigError(f'Sweep {path}: row names repeat: {names}.')
  pretraining = sweep.get('pretraining', {})
  for row in sweep['rows']:
    if set(row) - ROW_KEYS:
      raise config_loading.ConfigError(
          f'Sweep {path}, row {row["name"]!r}: unknown keys {sorted(set(row) - ROW_KEYS)}; valid: {sorted(ROW_KEYS)}.')
    for key in ('init_from', 'distill_from'):
      if row.get(key) and row[key] not in pretraining:
        raise config_loading.ConfigError(f'Sweep {path}, row {row["name"]!r}: {key} {row[key]!r} is not a '
                                         f'pretraining run; choose one of: {", ".join(pretraining) or "(none)"}.')
    if ('group' in row) != ('task' in row):
      raise config_loading.ConfigError(f'Sweep {path}, row {row["name"]!r}: give both group and task, or neither.')
    config = row_config(row, seed=0)
    if row.get('distill_from'):  # Its teacher does not exist yet: a stand-in path (only the task reads it).
      config = config_loading.apply_overrides(config, {'task.distill_from': f'<pretraining run {row["distill_from"]}>'})
    config_loading.validate(config)
  groups = [row['group'] for row in sweep['rows'] if 'group' in row]
  if sweep.get('baseline') is not None and sweep['baseline'] not in groups:
    raise config_loading.ConfigError(f'Sweep {path}: baseline {sweep["baseline"]!r} is not a row group; choose one '
                                     f'of: {", ".join(dict.fromkeys(groups)) or "(no row has a group)"}.')
  for index, (name, spec) in enumerate(pretraining.items()):
    if set(spec) - PRETRAINING_KEYS:
      raise config_loading.ConfigError(f'Sweep {path}, pretraining run {name!r}: unknown keys '
                                       f'{sorted(set(spec) - PRETRAINING_KEYS)}; valid: {sorted(PRETRAINING_KEYS)}.')
    if spec.get('init_from') and spec['init_from'] not in list(pretraining)[:index]:
      raise config_loading.ConfigError(f'Sweep {path}, pretraining run {name!r}: init_from {spec["init_from"]!r} '
                                       f'is not a pretraining run listed before it; choose one of: '
                                       f'{", ".join(list(pretraining)[:index]) or "(none)"}.')
    config_loading.validate(row_config(spec, seed=0))
  for name, figure in sweep.get('figures', {}).items():
    if set(figure) - FIGURE_KEYS or not {'rows', 'metric'} <= set(figure):
      raise config_loading.ConfigError(f'Sweep {path}, figure {name!r}: keys {sorted(figure)}; it needs rows and '
                                       f'metric, and may have baseline and title.')
    missing = [row for row in figure['rows'] if row not in names]
    if missing:
      raise config_loading.ConfigError(f'Sweep {path}, figure {name!r}: rows {missing} are not rows of the sweep.')
  slurm = sweep.get('slurm', {})
  if not isinstance(slurm, dict) or set(slurm) - SLURM_KEYS:
    raise config_loading.ConfigError(f'Sweep {path}: slurm must be a dict with keys from {sorted(SLURM_KEYS)}; '
                                     f'got {sorted(slurm) if isinstance(slurm, dict) else slurm!r}.')
  return sweep


def row_config(row: dict, seed: int, fold: int | None = None, init_from: str = ''):
  config = config_loading.load_config(row['config'])
  overrides = dict(row.get('overrides', {}), seed=seed)
  if fold is not None:
    overrides['data.fold'] = fold
  if init_from:
    overrides['init_from'] = init_from
  return config_loading.apply_overrides(config, overrides)


def run_dir(workdir: str, row: str, seed: int) -> str:
  return os.path.join(workdir, row, f'seed_{seed}')


def pretrain_dir(workdir: str, name: str) -> str:
  return os.path.join(workdir, 'pretrain', name)


def _run_dirs(workdir: str, row: dict, seed: int) -> list:
  """(fold or None, workdir) of every run behind one (row, seed)."""
  out = run_dir(workdir, row['name'], seed)
  if not row.get('folds'):
    return [(None, out)]
  return [(fold, os.path.join(out, f'fold_{fold}')) for fold in range(row['folds'])]


def finished(out: str) -> bool:
  """Whether the run in `out` has finished (its results.json exists)."""
  return os.path.exists(os.path.join(out, 'results.json'))


def _train(config, out: str, label: str, metrics: tuple, quiet: bool, config_change: str = 'refuse') -> None:
  """Trains one run unless it has finished; a diverged run is recorded as a result, not raised."""
  if finished(out):
    return
  print(f'{label} -> {out}', flush=True)
  start = time.time()
  config.log.progress_bar = not quiet and config.log.progress_bar
  try:
    with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
      results = loop.train_and_evaluate(config, out, config_change)
  except errors.Diverged as error:
    results = {'diverged': 1.0, 'diverged_at_step': float(error.step)}
    writers.write_json(os.path.join(out, 'results.json'), results)
    print(f'    diverged: {error}', flush=True)
    return
  summary = ', '.join(f'{m} {results[m]:.5g}' for m in metrics if m in results)
  print(f'    {summary} ({time.time() - start:.1f} s)', flush=True)


def _copy_record(src: str, dst: str, pretraining: bool = False) -> None:
  """Copies finished run folder src's RECORD_FILES (a pretraining run's: also its parameters' export and its
  vocabulary) to run folder dst unless dst has finished; results.json last, so a half-copied record is unfinished."""
  if finished(dst):
    return
  os.makedirs(dst, exist_ok=True)
  if pretraining:
    shutil.copyfile(stored_params.export(src), os.path.join(dst, stored_params.EXPORT_FILE))
    vocab = os.path.join(src, 'vocab')
    if os.path.isdir(vocab):
      shutil.copytree(vocab, os.path.join(dst, 'vocab'), dirs_exist_ok=True)
  for name in sorted(RECORD_FILES, key=lambda n: n == 'results.json'):
    if os.path.exists(os.path.join(src, name)):
      shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))


def sync_records(workdir: str, records: str) -> None:
  """Makes the finished runs of workdir and of records the same set: each side gets the ones it lacks."""
  for src_root, dst_root in ((records, workdir), (workdir, records)):
    for folder, _, files in os.walk(src_root):
      rel = os.path.relpath(folder, src_root)
      if 'results.json' in files:
        _copy_record(folder, os.path.join(dst_root, rel), pretraining=rel.split(os.sep)[0] == 'pretrain')


def select_rows(sweep: dict, names: list[str]) -> list[dict]:
  """The sweep's rows named in `names` (all of them if empty), in the sweep's order; unknown names: ConfigError."""
  known = [row['name'] for row in sweep['rows']]
  unknown = [name for name in names if name not in known]
  if unknown:
    raise config_loading.ConfigError(f'Unknown rows {unknown}; the sweep has: {", ".join(known)}.')
  return [row for row in sweep['rows'] if not names or row['name'] in names]


@dataclasses.dataclass(frozen=True)
class Run:
  """One run of a sweep: a pretraining run (`pretrain` names it) or a (row, seed, fold); `out` is its workdir.

  `init_from` names the pretraining run it starts from, `distill_from` the one whose classifier it distils ('' for
  none): it may start once those have finished (`waits_for`).
  """
  out: str
  label: str
  row: str = ''
  seed: int = 0
  fold: int | None = None
  pretrain: str = ''
  init_from: str = ''
  distill_from: str = ''

  @property
  def waits_for(self) -> tuple:
    return tuple(name for name in (self.init_from, self.distill_from) if name)

  @property
  def name(self) -> str:
    if self.pretrain:
      return f'pretraining {self.pretrain}'
    return f'{self.row} seed {self.seed}' + (f' fold {self.fold}' if self.fold is not None else '')


def plan(sweep: dict, workdir: str, seeds: int = 0, rows: list[str] = (), pretrain_only: bool = False,
         first_seed: int = 0) -> list[Run]:
  """Every run that run_sweep goes through, in its order: the pretraining runs that a row with a run to
  train starts from, then seed by seed each chosen row's runs (finished ones included; they are skipped)."""
  seeds = seeds or sweep.get('seeds', 1)
  if not 0 <= first_seed < seeds:
    raise config_loading.ConfigError(f'first_seed {first_seed} must be in [0, {seeds}) for {seeds} seeds.')
  chosen = select_rows(sweep, list(rows))
  # Seed-major: a sweep stopped early has whole seeds, so its rows (and their gains) compare the same seeds.
  jobs = [(row, s) for s in range(first_seed, seeds) for row in chosen]
  pretraining = sweep.get('pretraining', {})
  needed = {row.get(key) for row, seed in jobs for _, out in _run_dirs(workdir, row, seed)
            if pretrain_only or not finished(out) for key in ('init_from', 'distill_from')}
  for name in reversed(list(pretraining)):  # A needed run needs what it starts from (listed before it).
    if name in needed:
      needed.add(pretraining[name].get('init_from'))
  runs = [Run(pretrain_dir(workdir, name), f'[pretraining] {name}', pretrain=name,
              init_from=pretraining[name].get('init_from', ''))
          for name in pretraining if name in needed]
  if pretrain_only:
    return runs
  for i, (row, seed) in enumerate(jobs):
    for fold, out in _run_dirs(workdir, row, seed):
      run = Run(out, '', row=row['name'], seed=seed, fold=fold, init_from=row.get('init_from', ''),
                distill_from=row.get('distill_from', ''))
      runs.append(dataclasses.replace(run, label=f'[{i + 1}/{len(jobs)}] {run.name}'))
  return runs


def run_config(sweep: dict, workdir: str, run: Run):
  """The config `run` trains with."""
  init_from = pretrain_dir(workdir, run.init_from) if run.init_from else ''
  if run.pretrain:
    return row_config(sweep['pretraining'][run.pretrain], seed=0, init_from=init_from)
  row = next(row for row in sweep['rows'] if row['name'] == run.row)
  config = row_config(row, run.seed, run.fold, init_from)
  if run.distill_from:
    config = config_loading.apply_overrides(config, {'task.distill_from': pretrain_dir(workdir, run.distill_from)})
  return config


def train_run(sweep: dict, workdir: str, run: Run, quiet: bool = True, records: str = '',
              config_change: str = 'refuse') -> None:
  """Trains `run` unless it has finished, and keeps its record in `records` (if given). A finished pretraining
  run's parameters are exported (stored_params.export) before any row starts from them."""
  metrics = () if run.pretrain else sweep['metrics']
  _train(run_config(sweep, workdir, run), run.out, run.label, metrics, quiet, config_change)
  if run.pretrain and finished(run.out):
    stored_params.export(run.out)
  if records:
    _copy_record(run.out, os.path.join(records, os.path.relpath(run.out, workdir)), pretraining=bool(run.pretrain))


def run_sweep(sweep: dict, workdir: str, seeds: int = 0, quiet: bool = True, rows: list[str] = (),
              pretrain_only: bool = False, first_seed: int = 0, records: str = '',
              config_change: str = 'refuse') -> None:
  """Trains the pretraining runs, then, seed by seed, every (row, seed, fold) that has no results.json yet.

  `rows`: only these rows (and the pretraining runs they start from); empty: all. `pretrain_only`: stop
  after the pretraining runs (to choose a fine-tuning recipe on dev before the rows run). `first_seed`:
  train seeds first_seed .. seeds - 1 only, the earlier ones being trained elsewhere (another host, or a
  workdir that did not survive) and their result folders copied in. `records`: a records folder to sync
  with the workdir before training and after each finished run. `config_change`: as train.py's flag, for
  unfinished runs resumed after the sweep's configs changed. One run after another, in this process;
  training/launchers.py runs the same plan in parallel processes or on SLURM.
  """
  plan(sweep, workdir, seeds, rows, pretrain_only, first_seed)  # Refuses unknown rows and seeds first.
  if records:
    sync_records(workdir, records)
  for run in plan(sweep, workdir, seeds, rows, pretrain_only, first_seed):
    train_run(sweep, workdir, run, quiet, records, config_change)


def _seed_results(workdir: str, row: dict, seed: int, curve_metrics: dict) -> dict | None:
  """One (row, seed)'s results: its run's, or the mean over its folds (train/seconds summed); None if unfinished."""
  per_run = []
  for _, out in _run_dirs(workdir, row, seed):
    if not finished(out):
      return None
    with open(os.path.join(out, 'results.json')) as f:
      results = json.load(f)
    results.setdefault('diverged', 0.0)
    # Timing stays out of results.json, which a resumed run must reproduce exactly.
    results['train/seconds'] = loop.train_seconds(os.path.join(out, 'metrics.jsonl'))
    for name, (key, threshold) in curve_metrics.items():
      step = first_step_below(os.path.join(out, 'metrics.jsonl'), key, threshold)
      if step is not None:  # None: the run never logs that metric (another task's row).
        results[name] = step
    per_run.append(results)
  keys = set.intersection(*(set(r) for r in per_run))
  combined = {k: float(np.mean([r[k] for r in per_run])) for k in keys}
  combined['train/seconds'] = float(sum(r['train/seconds'] for r in per_run))
  return combined


def first_step_below(metrics_path: str, key: str, threshold: float) -> float | None:
  """The first step whose `split/metric` record is below threshold; NaN if none is; None if no record has it."""
  split, metric = key.split('/', 1)
  records = [r for r in writers.read_jsonl(metrics_path) if r['split'] == split and metric in r]
  if not records:
    return None
  steps = [r['step'] for r in records if r[metric] < threshold]
  return float(min(steps)) if steps else float('nan')


def collect(sweep: dict, workdir: str, seeds: int = 0) -> list[dict]:
  """One dict per row: mean and std of every metric over the seeds that finished."""
  seeds = seeds or sweep.get('seeds', 1)
  curve_metrics = sweep.get('curve_metrics', {})
  table = []
  for row in sweep['rows']:
    results = {seed: r for seed in range(seeds) if (r := _seed_results(workdir, row, seed, curve_metrics))}
    entry = {'row': row['name']}
    for metric in sweep['metrics']:
      per_seed = {seed: r[metric] for seed, r in results.items() if metric in r and not np.isnan(r[metric])}
      values = list(per_seed.values())
      entry[f'{metric}_mean'] = float(np.mean(values)) if values else float('nan')
      entry[f'{metric}_std'] = float(np.std(values)) if values else float('nan')
      entry[f'{metric}_by_seed'] = per_seed
      entry[f'{metric}_seeds'] = sum(metric in r for r in results.values())  # Finished seeds that report it.
    entry['seeds'] = len(results)
    entry['reference'] = row.get('reference')
    table.append(entry)
  return table


def _fmt(x) -> str:
  return '' if x is None or (isinstance(x, float) and np.isnan(x)) else f'{x:.4g}'


def write_tables(sweep: dict, table: list[dict], workdir: str) -> None:
  """table.csv (one line per row) and table.md (mean ± std, each seed, reference, ratio to it)."""
  columns = ['row'] + [f'{m}_{s}' for m in sweep['metrics'] for s in ('mean', 'std')] + ['seeds', 'reference']
  with open(os.path.join(workdir, 'table.csv'), 'w', newline='') as f:
    csv_writer = csv.DictWriter(f, fieldnames=columns, extrasaction='ignore')
    csv_writer.writeheader()
    for entry in table:
      csv_writer.writerow({k: '' if entry[k] is None else entry[k] for k in columns})
  ref_metric = sweep.get('reference_metric')
  header = ['row'] + list(sweep['metrics']) + ['seeds']
  if ref_metric:
    header += [f'{ref_metric} per seed', f'reference {ref_metric}', 'ratio']
  lines = ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
  for entry in table:
    cells = [entry['row']]
    for m in sweep['metrics']:
      if m in sweep.get('curve_metrics', {}):  # Seeds that never got below the threshold are counted apart.
        reached, reporting = len(entry[f'{m}_by_seed']), entry[f'{m}_seeds']
        cells.append(f'{_fmt(entry[m + "_mean"])} ({reached}/{reporting} seeds)' if reached
                     else 'not reached' if reporting else '')
      elif entry[f'{m}_by_seed']:
        cells.append(f'{_fmt(entry[m + "_mean"])} ± {_fmt(entry[m + "_std"])}')
      else:  # No seed of this row has finished yet.
        cells.append('')
    cells.append(str(entry['seeds']))
    if ref_metric:
      ref = entry['reference']
      ratio = entry[f'{ref_metric}_mean'] / ref if ref else None
      cells += [', '.join(_fmt(v) for v in entry[f'{ref_metric}_by_seed'].values()), _fmt(ref), _fmt(ratio)]
    lines.append('| ' + ' | '.join(cells) + ' |')
  if sweep.get('reference_source'):
    lines.append(f'\nReference: {sweep["reference_source"]}. Ratio = our mean / reference.')
  with open(os.path.join(workdir, 'table.md'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
  if any('group' in row for row in sweep['rows']):
    _write_task_tables(sweep, table, workdir)


def _task_metric(sweep: dict) -> str:
  return sweep.get('reference_metric') or sweep['metrics'][0]


def task_table(sweep: dict, table: list[dict]) -> tuple[list[str], dict]:
  """(columns: the tasks then 'average', {group: {column: {seed: value}}}) of the reference metric.

  A seed's average is the mean over the tasks, for the seeds that every task of the group has finished.
  """
  metric = _task_metric(sweep)
  tasks, groups = [], {}
  for row, entry in zip(sweep['rows'], table):
    if 'group' in row:
      tasks += [row['task']] if row['task'] not in tasks else []
      groups.setdefault(row['group'], {})[row['task']] = entry[f'{metric}_by_seed']
  for by_task in groups.values():
    for task in tasks:
      by_task.setdefault(task, {})  # A group without a row for this task: no seeds.
    complete = set.intersection(*(set(by_task[task]) for task in tasks))
    by_task['average'] = {seed: float(np.mean([by_task[task][seed] for task in tasks])) for seed in sorted(complete)}
  return tasks + ['average'], groups


def gains(by_seed: dict, baseline_by_seed: dict) -> dict:
  """{seed: value - baseline's value} over the seeds both have."""
  return {seed: by_seed[seed] - baseline_by_seed[seed] for seed in sorted(set(by_seed) & set(baseline_by_seed))}


def _stats(by_seed: dict) -> tuple:
  """(mean, sd, number of seeds); mean and sd are None without seeds."""
  values = list(by_seed.values())
  return (float(np.mean(values)), float(np.std(values)), len(values)) if values else (None, None, 0)


def standard_error(by_seed: dict):
  """The standard error of the mean over seeds (sample sd, ddof 1, over √seeds); None under 2 seeds."""
  values = list(by_seed.values())
  return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None


def _cell(by_seed: dict, gain: bool = False) -> str:
  """mean ± sd (seeds); a gain is signed and carries its standard error, how far from zero its noise reaches."""
  mean, sd, n = _stats(by_seed)
  if not n:
    return ''
  if not gain:
    return f'{_fmt(mean)} ± {_fmt(sd)} ({n})'
  se = standard_error(by_seed)
  return f'{mean:+.4g} ± {_fmt(sd)} ({n})' + ('' if se is None else f', SE {_fmt(se)}')


def _write_task_tables(sweep: dict, table: list[dict], workdir: str) -> None:
  """table_by_task.md and .csv: a line per row group, a column per task and the average."""
  columns, groups = task_table(sweep, table)
  baseline = sweep.get('baseline')
  head = ['| ' + ' | '.join(['row'] + columns) + ' |', '|' + ' --- |' * (len(columns) + 1)]
  lines = [f'{_task_metric(sweep)}, mean ± sd over seeds (seeds):', ''] + head
  lines += ['| ' + ' | '.join([group] + [_cell(by_task[c]) for c in columns]) + ' |'
            for group, by_task in groups.items()]
  fields = ['row'] + [f'{c}_{s}' for c in columns for s in ('mean', 'std', 'seeds')]
  records = []
  for group, by_task in groups.items():
    record = {'row': group}
    for c in columns:
      mean, sd, n = _stats(by_task[c])
      record.update({f'{c}_mean': '' if mean is None else mean, f'{c}_std': '' if sd is None else sd,
                     f'{c}_seeds': n})
    records.append(record)
  if baseline:
    lines += ['', f'Gain over {baseline}, per seed (seed s minus its seed s), mean ± sd over seeds (seeds), and '
              'the standard error of the mean gain (SE: sample sd over √seeds):', '']
    lines += head
    fields += [f'gain_{c}_{s}' for c in columns for s in ('mean', 'std', 'se')]
    for record, (group, by_task) in zip(records, groups.items()):
      gain = {c: gains(by_task[c], groups[baseline][c]) for c in columns}
      if group != baseline:
        lines.append('| ' + ' | '.join([group] + [_cell(gain[c], gain=True) for c in columns]) + ' |')
      for c in columns:
        mean, sd, _ = _stats(gain[c])
        se = standard_error(gain[c])
        record.update({f'gain_{c}_mean': '' if mean is None else mean, f'gain_{c}_std': '' if sd is None else sd,
                       f'gain_{c}_se': '' if se is None else se})
  with open(os.path.join(workdir, 'table_by_task.md'), 'w') as f:
    f.write('\n'.join(lines) + '\n')
  with open(os.path.join(workdir, 'table_by_task.csv'), 'w', newline='') as f:
    csv_writer = csv.DictWriter(f, fieldnames=fields)
    csv_writer.writeheader()
    csv_writer.writerows(records)


def _mean_curve(workdir: str, row: dict, seeds: int, key: str) -> tuple:
  """(steps, values averaged over the seeds that logged each step) of `split/metric` for one row."""
  split, metric = key.split('/', 1)
  per_step = {}
  for seed in range(seeds):
    for _, out in _run_dirs(workdir, row, seed):
      for r in writers.read_jsonl(os.path.join(out, 'metrics.jsonl')):
        if r['split'] == split and metric in r:
          per_step.setdefault(r['step'], []).append(r[metric])
  steps = sorted(per_step)
  return steps, [float(np.mean(per_step[s])) for s in steps]


def write_curves(sweep: dict, workdir: str, seeds: int = 0) -> None:
  """curves.png: the validation curve of the reference metric, averaged over seeds, one line per row; or, for a
  sweep with `figures`, curves_NAME.png for each."""
  seeds = seeds or sweep.get('seeds', 1)
  rows = {row['name']: row for row in sweep['rows']}
  if 'figures' in sweep:
    for name, figure in sweep['figures'].items():
      curves = {row: _mean_curve(workdir, rows[row], seeds, figure['metric']) for row in figure['rows']}
      plots.plot_sweep(curves, figure['metric'], os.path.join(workdir, f'curves_{name}.png'),
                       baseline=figure.get('baseline'), title=figure.get('title'))
    return
  key = 'valid/' + sweep.get('reference_metric', sweep['metrics'][0]).split('/', 1)[1]
  curves = {name: _mean_curve(workdir, row, seeds, key) for name, row in rows.items()}
  plots.plot_sweep(curves, key, os.path.join(workdir, 'curves.png'))
