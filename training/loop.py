"""train_and_evaluate(config, workdir): the one training loop every task goes through."""
import contextlib
import itertools
import os
import sys
import time
from typing import Any

import flax
from flax import traverse_util
import jax
import jax.numpy as jnp
import numpy as np
import optax
import tqdm

import models
import tasks
from training import checkpoint
from training import config_loading
from training import errors
from training import host_memory
from training import optim
from training import plots
from training import preemption
from training import sharding
from training import stored_params
from training import workdir as workdir_files
from training import writers

UNREADABLE_CHECKPOINTS = 'checkpoints_unreadable'  # Where checkpoints that fail to restore are moved, kept.
PROFILE_DIR = 'profile'  # Where profile.num_steps > 0 writes its trace.


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  opt_state: Any
  rng: jax.Array
  carry: Any  # What the next batch continues from (recurrent states of a stream); () if nothing.


def make_train_step(model, task, tx, schedule, batch_size: int = 0, grad_accum_steps: int = 1):
  """The pure step (state, batch) -> (state, metrics); metrics are (sum, weight) pairs.

  grad_accum_steps K > 1 cuts the batch (and the carry) into K micro-batches of batch_size / K rows, run one
  after another in a lax.scan, each with its own dropout key: the gradient is the micro-batches' gradients
  weighted by task.loss_weight (the count their mean loss divides by), which is the full batch's gradient
  exactly when the loss is one weighted mean (every task's, but an auxiliary loss with a normalizer of its
  own, as task.lm_weight's). Only one micro-batch's activations are alive at a time.
  """
  def gradients(params, batch, carry, rng, step):
    loss_fn = lambda params: task.loss(model, params, batch, carry, rng, step)
    (loss, (sums, carry)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    return loss, sums, carry, grads

  def accumulated_gradients(params, batch, carry, rng, step):
    K = grad_accum_steps
    # Leaves with the batch's rows are cut into K micro-batches; the others (a stream's `reset`) go to each.
    cut = lambda x: (x.reshape((K, x.shape[0] // K) + x.shape[1:]) if x.ndim and x.shape[0] == batch_size
                     else jnp.broadcast_to(x, (K,) + x.shape))

    def micro_step(total, inputs):
      k, micro_batch, micro_carry = inputs
      loss, sums, micro_carry, grads = gradients(params, micro_batch, micro_carry, jax.random.fold_in(rng, k), step)
      weight = jnp.asarray(task.loss_weight(sums), jnp.float32)
      scaled = jax.tree.map(lambda g: weight * g, grads)
      total = jax.tree.map(jnp.add, total, (scaled, weight * loss, weight, sums))
      return total, micro_carry

    micro_batches, micro_carries = jax.tree.map(cut, batch), jax.tree.map(cut, carry)
    shapes = jax.eval_shape(lambda: gradients(params, jax.tree.map(lambda x: x[0], micro_batches),
                                              jax.tree.map(lambda x: x[0], micro_carries), rng, step))
    zeros = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), (shapes[3], shapes[0], jnp.zeros(()), shapes[1]))
    (grads, loss, weight, sums), carries = jax.lax.scan(micro_step, zeros, (jnp.arange(K), micro_batches,
                                                                             micro_carries))
    weight = jnp.maximum(weight, 1e-12)
    merge = lambda x: x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:])
    return loss / weight, sums, jax.tree.map(merge, carries), jax.tree.map(lambda g: g / weight, grads)

  def train_step(state, batch):
    rng = jax.random.fold_in(state.rng, state.step)
    compute = gradients if grad_accum_steps == 1 else accumulated_gradients
    loss, sums, carry, grads = compute(state.params, batch, state.carry, rng, state.step)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = task.project_params(optax.apply_updates(state.params, updates))  # A max-norm, or as is.
    grad_norm = optax.tree.norm(grads)
    metrics = dict(sums, loss=(loss, 1.0), grad_norm=(grad_norm, 1.0),
                   learning_rate=(schedule(state.step), 1.0))
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
    new_state = state.replace(step=state.step + 1, params=params, opt_state=opt_state, carry=carry)
    return new_state, metrics, finite
  return train_step


def make_multi_step(train_step):
  """train.steps_per_call steps in one call: (state, batches stacked on a leading axis of steps) ->
  (state, (metrics, finite) stacked).

  One step is called as is, outside any loop: XLA's CPU backend computes a convolution's weight gradient
  about 25x slower inside a loop body, even a scan of length 1 (the Kim CNN's step: 66 ms plain, 546 ms
  in a scan). The scan is kept for several steps per call, where it saves the per-call overhead (the GPT's step).
  """
  def body(state, batch):
    state, metrics, finite = train_step(state, batch)
    return state, (metrics, finite)

  def multi_step(state, batches):
    if jax.tree.leaves(batches)[0].shape[0] == 1:
      state, outputs = body(state, jax.tree.map(lambda x: x[0], batches))
      return state, jax.tree.map(lambda x: jnp.asarray(x)[None], outputs)
    return jax.lax.scan(body, state, batches)
  return multi_step


def compile_train_steps(model, task, tx, schedule, state_sharding, mesh, batch_size: int = 0,
                        grad_accum_steps: int = 1):
  """The jitted multi-step over the mesh: the state stays where `state_sharding` puts it (and is donated),
  the metrics come back replicated."""
  train_step = make_train_step(model, task, tx, schedule, batch_size, grad_accum_steps)
  return jax.jit(make_multi_step(train_step), donate_argnums=0,
                 out_shardings=(state_sharding, sharding.replicated(mesh)))


def put_steps(batches: list, mesh):
  """Host batches of consecutive steps -> one stack (steps, batch, ...) split over the batch axes."""
  return sharding.put_batch(jax.tree.map(lambda *xs: np.stack(xs), *batches), mesh, batch_dim=1)


def _reduce(metric_list: list[dict]) -> dict:
  """Host-side: adds (sum, weight) pairs over steps or batches (scalars or stacked), then divides. A metric
  whose weight adds up to 0 (an accuracy over words that none of the batches holds) is left out."""
  fetched = jax.device_get(metric_list)
  total = lambda name, i: sum(float(np.sum(m[name][i])) for m in fetched)
  weights = {name: total(name, 1) for name in fetched[0]}
  return {name: total(name, 0) / weight for name, weight in weights.items() if weight}


def evaluate(task, model, eval_step, params, split: str, batch_size: int, mesh=None, num_batches: int = 0) -> dict:
  """Metrics of one split (its first num_batches batches when > 0), the carry passed from batch to batch."""
  put = (lambda tree: sharding.put_batch(tree, mesh)) if mesh is not None else (lambda tree: tree)
  carry, sums = put(task.init_carry(model, batch_size)), []
  for batch in itertools.islice(task.eval_batches(split, batch_size), num_batches or None):
    batch_sums, carry = eval_step(params, put(batch), carry)
    sums.append(batch_sums)
  return task.summarize(split, _reduce(sums))


class Timetable:
  """Which steps log, evaluate and checkpoint, and where a multi-step call must stop."""

  def __init__(self, config, total_steps: int, steps_per_epoch: int):
    self.total = total_steps
    self.log = config.log.every_steps
    self.eval = config.eval.every_steps or steps_per_epoch
    self.ckpt = config.checkpoint.every_steps or steps_per_epoch

  def evaluates(self, step):
    return step % self.eval == 0 and step != self.total  # The last step is evaluated once, below.

  def saves(self, step):
    return step % self.ckpt == 0 or step == self.total

  def logs(self, step):
    return step % self.log == 0 or self.evaluates(step) or self.saves(step)

  def next_stop(self, step):
    """The first step after `step` that logs, evaluates or saves: a multi-step call ends there."""
    after = lambda every: (step // every + 1) * every
    return min(after(self.log), after(self.eval), after(self.ckpt), self.total)


def train_seconds(metrics_path: str) -> float:
  """Wall-clock of the training steps (compilation in, evaluation out), from the logged step rates."""
  total, last = 0.0, 0
  for record in writers.read_jsonl(metrics_path):
    if record['split'] == 'train' and record.get('steps_per_sec'):
      total += (record['step'] - last) / record['steps_per_sec']
      last = record['step']
  return total


def is_main_process() -> bool:
  """Only process 0 of a multi-host run writes logs, tables and plots."""
  return jax.process_index() == 0


def _write_config(workdir: str, config, derived: dict, history: list) -> None:
  if is_main_process():
    workdir_files.write_config(workdir, config.to_dict(), derived, history)


def _finish(workdir: str, writer, step: int, results: dict) -> dict:
  writer.close()
  if not is_main_process():
    return results
  print(f'step {step}: ' + ' '.join(f'{k} {v:.5g}' for k, v in sorted(results.items())))
  writers.write_json(os.path.join(workdir, 'results.json'), results)
  plots.plot_run(os.path.join(workdir, 'metrics.jsonl'), os.path.join(workdir, 'curves.png'))
  return results


def fit_and_evaluate(config, workdir: str, task, model) -> dict:
  """Count-based models: one pass of counting over the training data, then evaluation."""
  start = time.time()
  task.fit(model)
  _write_config(workdir, config, {'ngrams_per_order': model.num_ngrams(), 'storage_bytes': model.storage_bytes()},
                [])
  writer = writers.MetricWriter(workdir)
  writer.truncate_after(-1)
  writer.write(0, 'fit', {'seconds': time.time() - start, 'storage_bytes': model.storage_bytes(),
                          **{f'ngrams_{k + 1}': n for k, n in enumerate(model.num_ngrams())}})
  results = {'model/ngrams': float(sum(model.num_ngrams())), 'model/storage_bytes': float(model.storage_bytes())}
  for split in config.eval.splits.split(','):
    metrics = task.summarize(split, {'loss': task.count_based_loss(model, split)})
    writer.write(0, split, metrics)
    results.update({f'{split}/{k}': v for k, v in metrics.items()})
  return _finish(workdir, writer, 0, results)


def train_and_evaluate(config, workdir: str, config_change: str = 'refuse') -> dict:
  """Trains (resuming from `workdir` if it holds a checkpoint), evaluates, returns results.

  config_change: 'refuse' stops a resumed run whose config differs from the one its checkpoints were
  trained with; 'allow' continues it and records the change in config.json (training/workdir.py).
  """
  config_loading.validate(config)
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise errors.WorkdirError(f'Cannot use workdir {workdir!r}: it is a file, not a directory.')
  try:
    os.makedirs(workdir, exist_ok=True)
  except OSError as e:
    raise errors.WorkdirError(f'Cannot use workdir {workdir!r}: {e.strerror or e}.') from None
  if not os.access(workdir, os.W_OK):
    raise errors.WorkdirError(f'Cannot write to workdir {workdir!r} (read-only or not yours).')
  lock = workdir_files.Lock(workdir) if is_main_process() else contextlib.nullcontext()
  with lock:
    return _train_and_evaluate(config, workdir, config_change)


def _train_and_evaluate(config, workdir: str, config_change: str) -> dict:
  host_memory.release_after_compiles()
  ckpt = checkpoint.Checkpointer(checkpoint.directory(workdir), config.checkpoint.max_to_keep)
  resuming_from = ckpt.latest_step()
  # Checked before the data load and any compile: a refused run changes nothing in the workdir.
  history = []
  if resuming_from is not None:
    history = workdir_files.check_resumed_config(workdir, config.to_dict(), config_change, resuming_from)
  task = tasks.build(config, workdir, resuming=resuming_from is not None)
  model = models.build(config.model, **task.model_dims)
  if models.is_count_based(config.model.name):
    ckpt.close()
    return fit_and_evaluate(config, workdir, task, model)
  batcher = task.train_batcher(config.train.batch_size, config.seed)
  steps_per_epoch = batcher.steps_per_epoch
  total_steps = config.train.num_steps or config.train.num_epochs * steps_per_epoch
  when = Timetable(config, total_steps, steps_per_epoch)
  eval_batch_size = config.eval.batch_size or config.train.batch_size
  tx = optim.build_optimizer(config, total_steps, steps_per_epoch)
  schedule = optim.build_schedule(config, total_steps, steps_per_epoch)
  max_loss = {0.0: task.default_max_loss(), -1.0: 0.0}.get(config.train.max_loss, config.train.max_loss)

  mesh = sharding.build_mesh(config.mesh)  # validate() has checked that batches and heads divide over it.
  state, state_sharding = create_train_state(config, task, model, tx, mesh)
  n_params = sum(p.size for p in jax.tree.leaves(state.params))

  restored = ckpt.restore_newest_intact(state, os.path.join(workdir, UNREADABLE_CHECKPOINTS))
  if restored is None and resuming_from is not None:
    print(f'No checkpoint in {checkpoint.directory(workdir)!r} could be read; training from step 0.', file=sys.stderr)
  if restored is None and config.init_from:
    params, loaded, fresh = stored_params.load_pretrained(state.params, config.init_from, task.pretraining_only,
                                                           task.adapt_pretrained)
    params = jax.device_put(params, state_sharding.params)
    state = state.replace(params=params, opt_state=jax.jit(tx.init, out_shardings=state_sharding.opt_state)(params))
    print(f'Initialized {len(loaded)} parameter arrays from {config.init_from}; fresh: {", ".join(fresh) or "none"}.')
  start, last_saved = 0, None
  if restored is not None:
    start, state, data_state = restored  # Onto this run's mesh, whatever mesh saved it.
    batcher.restore(data_state)
    last_saved = start
    print(f'Resuming {workdir} from step {start}.', file=sys.stderr)
  # Only now does the workdir's config describe the checkpoints beside it.
  _write_config(workdir, config, {'total_steps': total_steps, 'steps_per_epoch': steps_per_epoch,
                                  'eval_every_steps': when.eval, 'checkpoint_every_steps': when.ckpt},
                history if restored is not None else [])
  best = None
  if config.eval.select_metric:
    best = stored_params.BestParams(workdir, config.eval.select_metric, config.eval.select_mode)
  tracker = None
  if config.log.wandb_project and is_main_process():
    tracker = writers.WandbWriter(workdir, config.log.wandb_project, config.log.wandb_mode, config.to_dict())
  writer = writers.MetricWriter(workdir, active=is_main_process(), wandb=tracker)
  writer.truncate_after(start)

  metrics_sharding = sharding.replicated(mesh)
  train_steps = compile_train_steps(model, task, tx, schedule, state_sharding, mesh, config.train.batch_size,
                                    config.train.grad_accum_steps)
  eval_carry_sharding = sharding.carry_shardings(jax.eval_shape(lambda: task.init_carry(model, eval_batch_size)), mesh)
  eval_step = jax.jit(lambda params, batch, carry: task.eval_metrics(model, params, batch, carry),
                      out_shardings=(metrics_sharding, eval_carry_sharding))

  def evaluate_split(params, split: str, final: bool) -> dict:
    """Teacher-forced metrics, and those of generated output (cheap ones, or all when `final`)."""
    metrics = evaluate(task, model, eval_step, params, split, eval_batch_size, mesh, config.eval.num_batches)
    return dict(metrics, **task.decode_metrics(model, params, split, final))

  bar = tqdm.tqdm(total=total_steps, initial=start, unit='step', dynamic_ncols=True,
                  disable=not (config.log.progress_bar and sys.stderr.isatty() and is_main_process()))
  print(f'{config.model.name}: {n_params:,} parameters; {total_steps} steps, {steps_per_epoch} per epoch.')
  window, window_start, train_metrics, step = [], time.time(), {}, start

  def log_evaluate_save(stop: bool) -> None:
    """What the timetable asks of `step`; a checkpoint when the run must stop there."""
    nonlocal window, window_start, train_metrics, last_saved
    if when.logs(step) or stop:
      metrics_list, finite = zip(*jax.device_get(window))
      _check_diverged(step, metrics_list, finite, max_loss, last_saved, checkpoint.directory(workdir))
    if when.logs(step):
      train_metrics = task.summarize('train', _reduce(list(metrics_list)))
      train_metrics['steps_per_sec'] = sum(len(f) for f in finite) / (time.time() - window_start)
      writer.write(step, 'train', train_metrics)
      bar.set_postfix(loss=f'{train_metrics["loss"]:.4g}')
      window, window_start = [], time.time()
    if when.evaluates(step):  # Also before a stop: a resumed run starts after it.
      valid = evaluate_split(state.params, 'valid', final=False)
      writer.write(step, 'valid', valid)
      if best:
        best.offer(step, valid, state.params)
      tqdm.tqdm.write(f'step {step}/{total_steps}: train loss {train_metrics["loss"]:.5g} | '
                      + ' '.join(f'valid {k} {v:.5g}' for k, v in valid.items()))
    if when.saves(step) or stop:
      ckpt.save(step, state, batcher.state())
      last_saved = step

  profiler = Profiler(config.profile, os.path.join(workdir, PROFILE_DIR))
  with preemption.Watch() as watch, profiler:
    for call in itertools.count():
      if step >= total_steps:
        break
      num = min(config.train.steps_per_call, when.next_stop(step) - step)
      batches = [next(batcher) for _ in range(num)]
      profiler.before(step)
      state, outputs = train_steps(state, put_steps(batches, mesh))
      step += num
      profiler.after(step, outputs)
      window.append(outputs)
      if len(window) > 1:
        # At most two calls in flight: a stop signal then waits for one call to finish, not for every call
        # dispatched since the last log (minutes where a step takes seconds).
        jax.block_until_ready(window[-2])
      bar.update(num)
      stop = watch.stop_requested(call) and step < total_steps
      log_evaluate_save(stop)
      if stop:
        bar.close()
        ckpt.close()  # Waits for the checkpoint to be written.
        if best:
          best.close()
        writer.close()
        raise preemption.Preempted(step, watch.signal_number)
  bar.close()

  results = {'model/params': float(n_params)}
  final_params = state.params
  writer.drop(total_steps, keep='train')  # A run killed during the evaluations below repeats them.
  if best:
    # The last step's own parameters end the valid curve; the selected ones' valid metrics are already
    # on it (at select/step) and go to results.json.
    last_valid = evaluate_split(state.params, 'valid', final=False)
    writer.write(total_steps, 'valid', last_valid)
    best.offer(total_steps, last_valid, state.params)
    selected_step, final_params = best.load(state.params)
    best.close()
    results['select/step'] = float(selected_step)
  for split in config.eval.splits.split(','):
    split_metrics = evaluate_split(final_params, split, final=True)
    if not (best and split == 'valid'):
      writer.write(total_steps, split, split_metrics)
    results.update({f'{split}/{k}': v for k, v in split_metrics.items()})
  ckpt.close()
  return _finish(workdir, writer, total_steps, results)


class Profiler(contextlib.AbstractContextManager):
  """A jax.profiler trace of the jitted calls that start within [start_step, start_step + num_steps)."""

  def __init__(self, profile_config, directory: str):
    self.start, self.stop = profile_config.start_step, profile_config.start_step + profile_config.num_steps
    self.directory, self.tracing = directory, False

  def before(self, step: int) -> None:
    if self.start <= step < self.stop and not self.tracing and is_main_process():
      jax.profiler.start_trace(self.directory)
      self.tracing = True

  def after(self, step: int, outputs) -> None:
    if self.tracing and step >= self.stop:
      jax.block_until_ready(outputs)  # The trace holds the steps' device work, not just their dispatch.
      self._end()

  def _end(self) -> None:
    if self.tracing:
      jax.profiler.stop_trace()
      self.tracing = False
      print(f'Profile written to {self.directory!r} (tensorboard --logdir that folder, Profile tab).')

  def __exit__(self, *exc):
    self._end()
    return False


def _check_diverged(step: int, metrics_list, finite, max_loss: float, last_saved, directory: str) -> None:
  """Raises Diverged naming the first of the window's steps whose loss or gradient is non-finite, or whose
  loss exceeds max_loss (0: no limit); `step` is the window's last step."""
  finite_steps = np.concatenate([np.asarray(f).reshape(-1) for f in finite])
  loss_steps = np.concatenate([np.asarray(m['loss'][0]).reshape(-1) for m in metrics_list])
  bad_steps = ~finite_steps | ((loss_steps > max_loss) if max_loss > 0 else False)
  if not bad_steps.any():
    return
  i = int(np.argmax(bad_steps))
  bad = step - len(bad_steps) + 1 + i
  what = ('Non-finite loss or gradient' if not finite_steps[i]
          else f'Loss {loss_steps[i]:.4g} above train.max_loss {max_loss:.4g}')
  kept = (f'The last checkpoint, step {last_saved}, is kept in {directory!r}.' if last_saved is not None
          else 'No checkpoint had been saved yet.')
  raise errors.Diverged(bad, f'{what} at step {bad}; stopping. {kept} A lower optimizer.learning_rate or an '
                             'optimizer.clip_norm may help.')


def create_train_state(config, task, model, tx, mesh):
  """(state, its shardings): parameters and optimizer state are created already split as the rules
  say (jit of the init with out_shardings), never whole on one device."""
  init_rng, train_rng = jax.random.split(jax.random.PRNGKey(config.seed))
  example = next(task.train_batcher(config.train.batch_size, config.seed))

  def init_state(rng):
    carry = task.init_carry(model, config.train.batch_size)
    params = task.init_variables(model, rng, example, carry).get('params', {})
    return TrainState(step=jnp.asarray(0, jnp.int32), params=params, opt_state=tx.init(params), rng=train_rng,
                      carry=carry)

  state_sharding = state_shardings(jax.eval_shape(init_state, init_rng), config.mesh.rules, mesh)
  return jax.jit(init_state, out_shardings=state_sharding)(init_rng), state_sharding


def state_shardings(abstract_state: TrainState, rules, mesh) -> TrainState:
  """Where every leaf of the train state lives: parameters by the rules, optimizer moments like their
  parameters, the recurrent carry split like the batch, the rest (step, rng, counters) replicated."""
  params = sharding.param_shardings(abstract_state.params, rules, mesh)
  by_path = traverse_util.flatten_dict(params, sep='/')
  shapes = {path: leaf.shape for path, leaf in traverse_util.flatten_dict(abstract_state.params, sep='/').items()}

  def like_param(key_path, leaf):
    # An optimizer leaf whose trailing dict keys spell a parameter's path, with its shape, is that
    # parameter's moment (adam's mu and nu, momentum's trace...).
    names = [str(k.key) for k in key_path if isinstance(k, jax.tree_util.DictKey)]
    for i in range(len(names)):
      path = '/'.join(names[i:])
      if shapes.get(path) == leaf.shape:
        return by_path[path]
    return sharding.replicated(mesh)

  return TrainState(step=sharding.replicated(mesh), params=params,
                    opt_state=jax.tree_util.tree_map_with_path(like_param, abstract_state.opt_state),
                    rng=sharding.replicated(mesh), carry=sharding.carry_shardings(abstract_state.carry, mesh))
