"""How far back the gradient reaches: ‖∂L/∂h_t‖ against t for trained recurrent runs, at their initialization
and after training (Pascanu, Mikolov & Bengio 2013's picture of vanishing and exploding gradients).

  python bench/gradient_flow.py --workdirs=runs/ablate/long_memory/rnn_copy_T500/seed_0,... \
      --out=docs/long_memory_gradient_flow_copy_T500.png

Each workdir is a finished (or checkpointed) run of task copy or regression (adding problem, time series) with
a one-layer recurrent `rnn` model. L is the loss on the part that needs memory: on the copying task the
cross-entropy of the 10 recall steps alone (the blank steps' own losses would add a direct gradient at every
t), on the adding problem the MSE; h_t is the recurrent state (an LSTM's h), and ∂L/∂h_t is the total
derivative through every later step (rnn.scan_steps' perturbation), averaged over --num_examples test
sequences as the norm of each sequence's gradient. The initial parameters are the run's own: drawn again
from its config's seed as the train loop draws them.

Writes the figure (one line per run: dashed at initialization, solid trained; log scale) and OUT.json with the
norms, and prints per run ‖∂L/∂h_0‖ / ‖∂L/∂h_{T-1}‖ (how much of the last step's gradient reaches the first).
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
from absl import logging  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import models  # noqa: E402
import tasks  # noqa: E402
from data import synthetic  # noqa: E402
from training import checkpoint  # noqa: E402
from training import errors  # noqa: E402
from training import plots  # noqa: E402
from training import restore  # noqa: E402

TASKS = ('copy', 'regression')


def memory_loss(task_name: str, outputs, batch):
  """The loss of the steps that need memory, summed over the batch (so each sequence's gradient is its own)."""
  if task_name == 'copy':
    recall = slice(-synthetic.COPY_LENGTH, None)
    logits_BRK = outputs[:, recall].astype(jnp.float32)
    targets_BR = batch['targets'][:, recall].astype(jnp.int32)
    return optax.softmax_cross_entropy_with_integer_labels(logits_BRK, targets_BR).mean(-1).sum()
  return ((outputs.astype(jnp.float32) - batch['targets']) ** 2).mean(-1).sum()


def gradient_norms(model, task, task_name: str, params, batch) -> np.ndarray:
  """(T,) the mean over the batch's sequences of ‖∂L/∂h_t‖, h_t of the (single) recurrent layer."""
  inputs = task.model_inputs(batch)
  batch_size, steps = inputs.shape[:2]
  hidden = model.hidden_sizes[0]

  def loss(perturb_TBH):
    variables = {'params': params, 'perturbations': {'rnn_0': {'hidden': perturb_TBH}}}
    return memory_loss(task_name, model.apply(variables, inputs), batch)
  grads_TBH = jax.jit(jax.grad(loss))(jnp.zeros((steps, batch_size, hidden), jnp.float32))
  return np.asarray(jnp.linalg.norm(grads_TBH, axis=-1).mean(-1))


def initial_params(config, task, model):
  """The parameters the train loop started from (loop.create_train_state's draw, without its sharding)."""
  init_rng, _ = jax.random.split(jax.random.PRNGKey(config.seed))
  example = next(task.train_batcher(config.train.batch_size, config.seed))
  return task.init_variables(model, init_rng, example, ())['params']


def load_run(workdir: str):
  """(config, task, model) of a run this script can read; a WorkdirError names what is wrong."""
  config = restore.load_config(workdir)
  if config.task.name not in TASKS or config.model.name != 'rnn' or len(config.model.hidden_sizes) != 1:
    raise errors.WorkdirError(f'{workdir!r} holds task {config.task.name!r} with model {config.model.name!r}; '
                              f'this reads one-layer `rnn` models of tasks {", ".join(TASKS)}.')
  task = tasks.build(config, workdir, resuming=True)
  return config, task, models.build(config.model, **task.model_dims)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax's restore notes.
  workdirs = [w for w in FLAGS.workdirs.split(',') if w]
  if not workdirs:
    raise errors.WorkdirError('--workdirs names no run.')
  labels = FLAGS.labels.split(',') if FLAGS.labels else [os.path.basename(os.path.dirname(w.rstrip('/')))
                                                         for w in workdirs]
  if len(labels) != len(workdirs):
    raise errors.WorkdirError(f'--labels has {len(labels)} names for {len(workdirs)} workdirs.')
  curves, record = {}, {}
  print(f'{"run":<28} {"step":>6} {"init |dL/dh_0|/|dL/dh_T-1|":>28} {"trained":>10}')
  for label, workdir in zip(labels, workdirs):
    config, task, model = load_run(workdir)
    trained, step = restore.newest_params(checkpoint.directory(workdir))
    batch = next(iter(task.eval_batches('test', FLAGS.num_examples)))
    norms = {'init': gradient_norms(model, task, config.task.name, initial_params(config, task, model), batch),
             'trained': gradient_norms(model, task, config.task.name, trained, batch)}
    ratios = {k: float(v[0] / v[-1]) for k, v in norms.items()}
    print(f'{label:<28} {step:>6} {ratios["init"]:>28.3g} {ratios["trained"]:>10.3g}')
    for when, values in norms.items():
      curves[f'{label} ({when})'] = (list(range(len(values))), [float(v) for v in values])
    record[label] = {'workdir': workdir, 'step': step, 'first_over_last': ratios,
                     **{k: [float(x) for x in v] for k, v in norms.items()}}
  plots.plot_gradient_flow(curves, FLAGS.title or 'gradient norm ‖∂L/∂h_t‖ through time', FLAGS.out)
  with open(os.path.splitext(FLAGS.out)[0] + '.json', 'w') as f:
    json.dump(record, f, indent=1)
  print(f'wrote {FLAGS.out}')


if __name__ == '__main__':
  flags.DEFINE_string('workdirs', '', 'Comma-separated trained runs (task copy or regression, one-layer rnn).')
  flags.DEFINE_string('labels', '', 'Their names in the figure; default: each workdir\'s parent folder (a sweep row).')
  flags.DEFINE_integer('num_examples', 100, 'Test sequences the norms are averaged over.')
  flags.DEFINE_string('out', 'gradient_flow.png', 'The figure; its numbers go to the same name with .json.')
  flags.DEFINE_string('title', '', 'The figure\'s title.')
  FLAGS = flags.FLAGS

  def run(argv):
    try:
      main(argv)
    except (errors.WorkdirError, FileNotFoundError) as e:
      print(f'error: {e}', file=sys.stderr)
      sys.exit(2)
  app.run(run)
