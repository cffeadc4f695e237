"""The fields every seqlab config shares; task configs start here and change a few.

Values derived from other fields (total steps, decay horizons) are computed by the train loop
(`training.loop.train_and_evaluate`) after command-line overrides are applied, never here.
"""
import os

import ml_collections

from configs import checks
from training import sharding


def check_variant(variant: str, variants: tuple) -> None:
  """Config files take `path.py:VARIANT`; an unknown one names the accepted ones."""
  checks.check_choice(variant, variants, 'config variant')


def tiny_sentence_run(c) -> None:
  """The 'tiny' variant's schedule of the sentence and tree classifiers: 6 steps of 8 examples, evaluated
  and checkpointed along the way, on a vocabulary of at most 500."""
  c.train.num_epochs, c.train.num_steps, c.train.batch_size = 0, 6, 8
  c.eval.every_steps, c.eval.batch_size = 3, 64
  c.checkpoint.every_steps, c.log.every_steps = 2, 2
  c.data.max_vocab = 500


def get_config():
  c = ml_collections.ConfigDict()
  c.seed = 0  # Parameter init, dropout and shuffling; data generation has its own seed.
  # Fine-tuning: a workdir whose latest parameters initialize this run. Every parameter it holds is
  # loaded (paths and shapes must match); the others (a new classifier head) keep their fresh init.
  c.init_from = ''

  c.model = ml_collections.ConfigDict()
  c.model.name = ''  # Key of models.registry; the model's own fields sit beside it.

  c.data = ml_collections.ConfigDict()
  c.data.name = ''  # Which dataset the task reads.
  c.data.dir = os.environ.get('SEQLAB_DATA_DIR', '')  # Root of the public datasets.

  c.task = ml_collections.ConfigDict()
  c.task.name = ''  # Key of tasks.registry: loss, metrics and evaluation.
  # β of Krueger & Memisevic's norm-stabilizer, β mean_t (‖h_t‖ - ‖h_{t-1}‖)² added to the training loss for
  # every recurrent layer (rnn.RecurrentLayer: recurrent LMs, classifiers, taggers, forecasters); 0 = off.
  c.task.norm_stabilizer = 0.0

  c.train = ml_collections.ConfigDict()
  c.train.batch_size = 32  # Global batch size.
  c.train.num_epochs = 1  # Passes over the training split, used when num_steps is 0.
  c.train.num_steps = 0  # When > 0, the run length in steps; overrides num_epochs.
  # Steps per jitted call (a lax.scan over a stack of batches): fewer dispatches and buffer
  # allocations for small models. Calls end at every log, eval and checkpoint step.
  c.train.steps_per_call = 1
  # Each step's batch is cut into this many micro-batches whose gradients are added before the update:
  # the full batch's update with one micro-batch's activation memory. train.batch_size must divide by it.
  c.train.grad_accum_steps = 1
  # Stop (as diverged) when a step's training loss exceeds this: 0 = the task's default (language models:
  # 100 x the loss of uniform prediction; others: no limit), -1 = no limit. Non-finite losses always stop.
  c.train.max_loss = 0.0

  c.optimizer = ml_collections.ConfigDict()
  c.optimizer.name = 'adam'  # sgd, momentum, nesterov, rmsprop, adagrad, adadelta, adam, adamw.
  c.optimizer.learning_rate = 1e-3  # Peak learning rate; the schedule scales it.
  c.optimizer.clip_norm = 0.0  # Clip gradients to this global norm; 0 = off.
  c.optimizer.momentum = 0.9  # momentum and nesterov.
  c.optimizer.b1 = 0.9  # adam, adamw.
  c.optimizer.b2 = 0.999  # adam, adamw.
  c.optimizer.eps = 1e-8  # adam, adamw, rmsprop, adagrad, adadelta.
  c.optimizer.rho = 0.9  # Decay of the squared-gradient average: rmsprop, adadelta.
  c.optimizer.initial_accumulator = 0.1  # adagrad.
  c.optimizer.weight_decay = 0.0  # Decoupled weight decay (adamw); L2 for the others is not offered.
  c.optimizer.decay_matrices_only = True  # Weight decay skips biases, gains and other vectors.
  # 'NAME=FACTOR,...': the learning rate of every parameter named NAME (its last path key) times FACTOR.
  c.optimizer.lr_scales = ''

  c.schedule = ml_collections.ConfigDict()
  c.schedule.name = 'constant'  # constant, warmup_cosine, warmup_rsqrt, step_decay.
  c.schedule.warmup_steps = 0  # Linear warmup from 0 (warmup_cosine, warmup_rsqrt).
  c.schedule.end_learning_rate = 0.0  # warmup_cosine: value reached at decay_steps.
  c.schedule.decay_steps = 0  # warmup_cosine: end of the decay; 0 = the run's last step.
  c.schedule.decay_factor = 2.0  # step_decay: divide by this every epoch ...
  c.schedule.decay_start_epoch = 0  # ... after this many epochs.

  c.eval = ml_collections.ConfigDict()
  c.eval.every_steps = 0  # Evaluate on the validation split this often; 0 = every epoch.
  c.eval.batch_size = 0  # 0 = train.batch_size.
  c.eval.splits = 'valid,test'  # Splits evaluated at the end and written to results.json.
  c.eval.num_batches = 0  # Evaluate only each split's first N batches (nanoGPT's eval_iters); 0 = all of it.
  # Early stopping on the validation split: a valid metric (e.g. accuracy); the final evaluation uses the
  # parameters of the evaluation where it was best (select_mode max or min). '' = the last parameters.
  c.eval.select_metric = ''
  c.eval.select_mode = 'max'

  c.checkpoint = ml_collections.ConfigDict()
  c.checkpoint.every_steps = 0  # 0 = every epoch; the last step is always saved.
  c.checkpoint.max_to_keep = 2

  # Devices: one jitted program over a (data, fsdp, model) mesh; see training/sharding.py and docs/scaling.md.
  c.mesh = ml_collections.ConfigDict()
  c.mesh.data = -1  # Data-parallel ways; -1 = all devices the other axes leave.
  c.mesh.fsdp = 1  # Ways parameters and optimizer state are split (the batch is split over these too).
  c.mesh.model = 1  # Tensor-parallel ways: attention heads and feed-forward units.
  c.mesh.rules = sharding.DEFAULT_RULES  # (regex on 'a/b/kernel', 'axis,axis,-') pairs; first match wins.

  # A jax.profiler trace of num_steps training steps from start_step (the first whole jitted call at or after
  # it) into WORKDIR/profile, for TensorBoard's profile plugin or XProf; num_steps 0 = none.
  c.profile = ml_collections.ConfigDict()
  c.profile.start_step = 10  # Past the first calls, which compile.
  c.profile.num_steps = 0

  c.log = ml_collections.ConfigDict()
  c.log.every_steps = 50  # Training metrics to metrics.jsonl and TensorBoard.
  c.log.progress_bar = True  # tqdm bar on stderr when it is a terminal.
  # Weights & Biases (pip install -e '.[tracking]'): a project name turns it on; one workdir is one tracked run.
  c.log.wandb_project = ''
  c.log.wandb_mode = 'online'  # online, offline (synced later with `wandb sync`) or disabled.
  return c
