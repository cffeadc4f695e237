"""ablate's sweep runner: tables, curves, skipping finished runs, bad sweep files."""
import csv
import json
import math
import os

import pytest

from training import config_loading
from training import sweep as sweeps

SWEEP = '''
def get_sweep():
  return dict(
      seeds=2, metrics=('valid/mse', 'test/mse'), reference_metric='valid/mse',
      reference_source='a made-up table for this test',
      rows=[dict(name='naive', config='configs/timeseries/naive.py:tiny', reference=0.02),
            dict(name='dense', config='configs/timeseries/dense.py:tiny',
                 overrides={'train.num_steps': 10, 'log.progress_bar': False}, reference=None)])
'''


def test_sweep_writes_tables_and_curves_and_skips_finished_runs(tmp_path):
  path = tmp_path / 'sweep.py'
  path.write_text(SWEEP)
  sweep = sweeps.load_sweep(str(path))
  workdir = str(tmp_path / 'out')
  sweeps.run_sweep(sweep, workdir)
  table = sweeps.collect(sweep, workdir)
  sweeps.write_tables(sweep, table, workdir)
  sweeps.write_curves(sweep, workdir)

  with open(os.path.join(workdir, 'table.csv')) as f:
    rows = list(csv.DictReader(f))
  assert list(rows[0]) == ['row', 'valid/mse_mean', 'valid/mse_std', 'test/mse_mean', 'test/mse_std',
                           'seeds', 'reference']
  assert [r['row'] for r in rows] == ['naive', 'dense'] and all(r['seeds'] == '2' for r in rows)
  assert float(rows[0]['valid/mse_std']) == 0.0  # The naive forecast does not depend on the seed.
  dense_results = []
  for seed in range(2):
    with open(os.path.join(workdir, 'dense', f'seed_{seed}', 'results.json')) as f:
      dense_results.append(json.load(f))
  assert dense_results[0] != dense_results[1]  # Seeds differ.
  mean = sum(r['valid/mse'] for r in dense_results) / 2
  assert float(rows[1]['valid/mse_mean']) == pytest.approx(mean)
  markdown = open(os.path.join(workdir, 'table.md')).read()
  assert '| naive |' in markdown and 'a made-up table for this test' in markdown
  assert os.path.getsize(os.path.join(workdir, 'curves.png')) > 1000

  finished = os.path.join(workdir, 'dense', 'seed_1', 'results.json')
  before = os.path.getmtime(finished)
  sweeps.run_sweep(sweep, workdir)
  assert os.path.getmtime(finished) == before


def test_bad_sweep_rows_are_errors_before_any_run(tmp_path):
  path = tmp_path / 'sweep.py'
  path.write_text(SWEEP.replace("overrides={'train.num_steps': 10", "overrides={'train.num_step': 10"))
  with pytest.raises(config_loading.ConfigError, match="Unknown config key 'train.num_step'"):
    sweeps.load_sweep(str(path))
  path.write_text(SWEEP.replace('reference=None', 'referenc=None'))
  with pytest.raises(config_loading.ConfigError, match="unknown keys \\['referenc'\\]"):
    sweeps.load_sweep(str(path))


def test_first_step_below_reads_the_curve(tmp_path):
  path = tmp_path / 'metrics.jsonl'
  records = [{'step': 100, 'split': 'valid', 'mse': 0.2}, {'step': 150, 'split': 'train', 'mse': 0.001},
             {'step': 200, 'split': 'valid', 'mse': 0.009}, {'step': 300, 'split': 'valid', 'mse': 0.02},
             {'step': 400, 'split': 'valid', 'mse': 0.001}]
  path.write_text(''.join(json.dumps(r) + '\n' for r in records))
  assert sweeps.first_step_below(str(path), 'valid/mse', 0.01) == 200
  assert math.isnan(sweeps.first_step_below(str(path), 'valid/mse', 0.001))  # Never strictly below.
  assert sweeps.first_step_below(str(path), 'valid/ce', 0.1) is None  # Never logged: another task's metric.


def test_a_curve_metric_is_blank_for_rows_that_never_log_it(tmp_path):
  sweep = {'metrics': ('valid/mse', 'steps_to_ce'), 'curve_metrics': {'steps_to_ce': ('valid/ce', 0.5)},
           'rows': [dict(name='mse_row', config='x'), dict(name='ce_row', config='x')]}
  for row, records in (('mse_row', [{'step': 10, 'split': 'valid', 'mse': 0.3}]),
                       ('ce_row', [{'step': 10, 'split': 'valid', 'ce': 0.9}])):
    out = tmp_path / row / 'seed_0'
    out.mkdir(parents=True)
    (out / 'metrics.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in records))
    (out / 'results.json').write_text(json.dumps({'valid/mse': 0.3} if row == 'mse_row' else {}))
  table = sweeps.collect(sweep, str(tmp_path), seeds=1)
  sweeps.write_tables(sweep, table, str(tmp_path))
  lines = (tmp_path / 'table.md').read_text().splitlines()
  assert lines[2].startswith('| mse_row | 0.3 ± 0 |  |') and lines[3].startswith('| ce_row |  | not reached |')


def test_table_only_reports_the_finished_seeds_and_trains_nothing(tmp_path):
  import subprocess
  import sys
  path = tmp_path / 'sweep.py'
  path.write_text(SWEEP)
  workdir = tmp_path / 'out'
  sweeps.run_sweep(sweeps.load_sweep(str(path)), str(workdir), seeds=1)  # Seed 1 of each row is left to do.
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  out = subprocess.run([sys.executable, os.path.join(root, 'ablate.py'), f'--sweep={path}', f'--workdir={workdir}',
                        '--table_only'], capture_output=True, text=True, cwd=root, check=True).stdout
  assert not (workdir / 'dense' / 'seed_1').exists()
  with open(workdir / 'table.csv') as f:
    assert [r['seeds'] for r in csv.DictReader(f)] == ['1', '1']
  assert '| naive |' in out and 'Sweep took' not in out


def test_rows_trains_only_the_named_rows_and_unknown_names_list_the_rows(tmp_path):
  path = tmp_path / 'sweep.py'
  path.write_text(SWEEP)
  sweep = sweeps.load_sweep(str(path))
  workdir = tmp_path / 'out'
  sweeps.run_sweep(sweep, str(workdir), seeds=1, rows=['dense'])
  assert (workdir / 'dense' / 'seed_0' / 'results.json').exists() and not (workdir / 'naive').exists()
  with pytest.raises(config_loading.ConfigError, match="Unknown rows \\['dens'\\]; the sweep has: naive, dense"):
    sweeps.run_sweep(sweep, str(workdir), seeds=1, rows=['dens'])


def test_task_table_averages_each_seed_over_tasks_and_gains_pair_seeds(tmp_path):
  """Hand-written results: the by-task table's cells equal means over seeds computed by hand."""
  accuracy = {('big', 'a'): [80.0, 82.0, 84.0], ('big', 'b'): [70.0, 71.0], ('small', 'a'): [75.0, 76.0, 77.0],
              ('small', 'b'): [60.0, 64.0, 62.0]}
  rows = [dict(name=f'{g}_{t}', config='configs/timeseries/naive.py:tiny', group=g, task=t) for g, t in accuracy]
  sweep = dict(seeds=3, metrics=('test/accuracy',), reference_metric='test/accuracy', rows=rows, baseline='small')
  for (g, t), values in accuracy.items():
    for seed, value in enumerate(values):
      out = tmp_path / f'{g}_{t}' / f'seed_{seed}'
      out.mkdir(parents=True)
      (out / 'results.json').write_text(json.dumps({'test/accuracy': value}))
      (out / 'metrics.jsonl').write_text('')
  table = sweeps.collect(sweep, str(tmp_path))
  columns, groups = sweeps.task_table(sweep, table)
  assert columns == ['a', 'b', 'average']
  assert groups['big']['average'] == {0: 75.0, 1: 76.5}  # Seed 2 of big_b never finished.
  assert groups['small']['average'] == {0: 67.5, 1: 70.0, 2: 69.5}
  assert sweeps.gains(groups['big']['average'], groups['small']['average']) == {0: 7.5, 1: 6.5}
  sweeps.write_tables(sweep, table, str(tmp_path))
  markdown = (tmp_path / 'table_by_task.md').read_text()
  assert '| big | 82 ± 1.633 (3) | 70.5 ± 0.5 (2) | 75.75 ± 0.75 (2) |' in markdown
  # Gains a: 5, 6, 7 (sample sd 1, SE 1/√3); b: 10, 7 (sample sd 3/√2, SE 1.5); average: 7.5, 6.5 (SE 0.5).
  assert ('| big | +6 ± 0.8165 (3), SE 0.5774 | +8.5 ± 1.5 (2), SE 1.5 | +7 ± 0.5 (2), SE 0.5 |') in markdown
  with open(tmp_path / 'table_by_task.csv') as f:
    records = {r['row']: r for r in csv.DictReader(f)}
  assert float(records['small']['average_mean']) == pytest.approx((67.5 + 70.0 + 69.5) / 3)
  assert float(records['big']['gain_average_mean']) == pytest.approx(7.0)
  assert float(records['big']['gain_a_se']) == pytest.approx(1 / 3 ** 0.5)
  sweep['baseline'] = 'tiny'
  path = tmp_path / 'sweep.py'
  path.write_text(f'def get_sweep():\n  return {sweep!r}\n')
  with pytest.raises(config_loading.ConfigError, match="baseline 'tiny' is not a row group; choose one of: big, small"):
    sweeps.load_sweep(str(path))


def _record_training_order(tmp_path, monkeypatch) -> list:
  """Replaces training by appending each run's workdir (relative to tmp_path) to the returned list."""
  order = []
  monkeypatch.setattr(sweeps, '_train', lambda config, out, *args: order.append(os.path.relpath(out, tmp_path)))
  return order


def test_sweep_trains_seed_by_seed_so_a_stopped_sweep_has_whole_seeds(tmp_path, monkeypatch):
  path = tmp_path / 'sweep.py'
  path.write_text(SWEEP)
  order = _record_training_order(tmp_path, monkeypatch)
  sweeps.run_sweep(sweeps.load_sweep(str(path)), str(tmp_path))
  assert order == [os.path.join(row, f'seed_{seed}') for seed in range(2) for row in ('naive', 'dense')]


def test_first_seed_trains_only_the_later_seeds_and_a_bad_one_names_the_range(tmp_path, monkeypatch):
  path = tmp_path / 'sweep.py'
  path.write_text(SWEEP)
  sweep = sweeps.load_sweep(str(path))
  order = _record_training_order(tmp_path, monkeypatch)
  sweeps.run_sweep(sweep, str(tmp_path), seeds=3, first_seed=1)
  assert order == [os.path.join(row, f'seed_{seed}') for seed in (1, 2) for row in ('naive', 'dense')]
  with pytest.raises(config_loading.ConfigError, match=r'first_seed 3 must be in \[0, 3\) for 3 seeds'):
    sweeps.run_sweep(sweep, str(tmp_path), seeds=3, first_seed=3)


def test_records_carry_finished_runs_to_a_fresh_workdir_without_checkpoints(tmp_path):
  path = tmp_path / 'sweep.py'
  path.write_text(SWEEP)
  sweep = sweeps.load_sweep(str(path))
  records = tmp_path / 'records'
  sweeps.run_sweep(sweep, str(tmp_path / 'first'), seeds=1, records=str(records))
  record = records / 'dense' / 'seed_0'
  assert sorted(os.listdir(record)) == sorted(sweeps.RECORD_FILES)  # Small: no checkpoints, plots or logs.
  # A fresh workdir trains only what the records lack (seed 1), and gives the records its new run.
  sweeps.run_sweep(sweep, str(tmp_path / 'second'), seeds=2, records=str(records))
  assert not (tmp_path / 'second' / 'dense' / 'seed_0' / 'checkpoints').exists()
  assert (tmp_path / 'second' / 'dense' / 'seed_1' / 'checkpoints').exists()
  assert (records / 'dense' / 'seed_1' / 'results.json').exists()
  first = sweeps.collect(sweep, str(tmp_path / 'first'), seeds=1)
  second = sweeps.collect(sweep, str(tmp_path / 'second'), seeds=2)
  assert second[1]['valid/mse_by_seed'][0] == first[1]['valid/mse_by_seed'][0]
  assert second[1]['seeds'] == 2


def test_figures_plot_their_rows_mean_curves_with_the_baseline(tmp_path, monkeypatch):
  path = tmp_path / 'sweep.py'
  path.write_text(SWEEP.replace("rows=[", "figures={'just_dense': dict(rows=('dense',), metric='valid/mse', "
                                          "baseline=0.5, title='T')},\n      rows=["))
  sweep = sweeps.load_sweep(str(path))
  workdir = str(tmp_path / 'out')
  sweeps.run_sweep(sweep, workdir)
  calls = []
  monkeypatch.setattr(sweeps.plots, 'plot_sweep', lambda *args, **kwargs: calls.append((args, kwargs)))
  sweeps.write_curves(sweep, workdir)
  [(args, kwargs)] = calls
  curves, metric, out = args
  assert list(curves) == ['dense'] and metric == 'valid/mse' and out.endswith('curves_just_dense.png')
  assert kwargs == {'baseline': 0.5, 'title': 'T'}
  per_seed = []
  for seed in range(2):
    records = [json.loads(line) for line in open(os.path.join(workdir, 'dense', f'seed_{seed}', 'metrics.jsonl'))]
    per_seed.append({r['step']: r['mse'] for r in records if r['split'] == 'valid'})
  steps, values = curves['dense']
  assert steps == sorted(per_seed[0]) and values == pytest.approx([(per_seed[0][s] + per_seed[1][s]) / 2 for s in steps])
  path.write_text(SWEEP.replace("rows=[", "figures={'f': dict(rows=('densse',), metric='valid/mse')},\n      rows=["))
  with pytest.raises(config_loading.ConfigError, match="figure 'f': rows \\['densse'\\] are not rows"):
    sweeps.load_sweep(str(path))


CHAINED = '''
def get_sweep():
  files = {'data.dir': '', 'data.name': 'files', 'data.train_path': TRAIN, 'data.valid_path': TRAIN,
           'data.test_path': TRAIN, 'log.progress_bar': False}
  return dict(
      seeds=2, metrics=('test/accuracy',),
      pretraining={'lm': dict(config='configs/pretrain/mlm.py:tiny', overrides={'log.progress_bar': False}),
                   'teacher': dict(config='configs/classify/transformer.py:tiny', init_from='lm', overrides=files),
                   'unused': dict(config='configs/pretrain/mlm.py:tiny')},
      rows=[dict(name='student', config='configs/classify/boe.py:tiny', distill_from='teacher', overrides=files),
            dict(name='scratch', config='configs/classify/boe.py:tiny', overrides=files)])
'''


def test_a_teacher_fine_tuned_from_a_pretraining_run_and_students_that_distil_it(tmp_path):
  (tmp_path / 'train').write_text('0 dull film .\n1 good film .\n')
  path = tmp_path / 'sweep.py'
  path.write_text(CHAINED.replace('TRAIN', repr(str(tmp_path / 'train'))))
  sweep = sweeps.load_sweep(str(path))
  workdir = str(tmp_path / 'out')
  runs = sweeps.plan(sweep, workdir)
  assert [run.name for run in runs] == ['pretraining lm', 'pretraining teacher', 'student seed 0', 'scratch seed 0',
                                        'student seed 1', 'scratch seed 1']  # 'unused' is needed by no row.
  teacher = sweeps.run_config(sweep, workdir, runs[1])
  assert teacher.init_from == sweeps.pretrain_dir(workdir, 'lm') and runs[1].waits_for == ('lm',)
  student = sweeps.run_config(sweep, workdir, runs[2])
  assert student.task.distill_from == sweeps.pretrain_dir(workdir, 'teacher') and runs[2].waits_for == ('teacher',)
  assert not sweeps.run_config(sweep, workdir, runs[3]).task.distill_from and not runs[3].waits_for
  path.write_text(CHAINED.replace('TRAIN', repr(str(tmp_path / 'train'))).replace("init_from='lm'", "init_from='unused'"))
  with pytest.raises(config_loading.ConfigError, match="init_from 'unused' is not a pretraining run listed before it"):
    sweeps.load_sweep(str(path))
  path.write_text(CHAINED.replace('TRAIN', repr(str(tmp_path / 'train'))).replace("distill_from='teacher'",
                                                                                  "distill_from='teachr'"))
  with pytest.raises(config_loading.ConfigError, match="distill_from 'teachr' is not a pretraining run"):
    sweeps.load_sweep(str(path))
