"""The interface between a task and the train loop: what every task provides and the optional hooks.

A task owns its data (batchers over its splits), its loss and its metrics, and the carry one batch hands
to the next (recurrent states of a stream, or ()). Metrics are {name: (weighted sum, weight)} so batches
and steps add up exactly and the host divides once. The optional hooks have defaults here, so the loop
calls them on every task without asking which task it has.
"""
import abc

import jax
import jax.numpy as jnp


class Task(abc.ABC):
  datasets: tuple = ()  # The data.name values the task reads.
  placeholder_dims: dict = {}  # Data-dependent model sizes, stand-ins for checking a config before any data load.
  # Prefixes of parameter paths that a pretraining run (init_from) has and this task's models leave behind.
  pretraining_only: tuple = ()
  # Each task's __init__(config, workdir, resuming) sets model_dims: the sizes the model takes from the data.
  model_dims: dict
  # Whether the training loss adds task.norm_stabilizer's term (through apply_with_norm_stabilizer).
  supports_norm_stabilizer: bool = False

  def adapt_pretrained(self, pretrained: dict, own: dict, init_from: str) -> dict:
    """The arrays of a pretraining run (init_from) to put in place, {path: array} with '/'-joined paths, given
    the model's own fresh ones (`own`, same form): the pretrained ones as they are, unless a task maps them
    (another vocabulary, renamed modules)."""
    del own, init_from
    return pretrained

  @staticmethod
  def check_config(config) -> None:
    """Raises ValueError naming a task field that cannot work; runs before any data load or compile."""

  # Data.
  @abc.abstractmethod
  def train_batcher(self, batch_size: int, seed: int):
    """An endless iterator of training batches with `steps_per_epoch`, `state()` and `restore(state)`."""

  @abc.abstractmethod
  def eval_batches(self, split: str, batch_size: int):
    """The batches of one whole split, in order."""

  def init_carry(self, model, batch_size: int):
    """What the first batch continues from; () when batches are independent."""
    return ()

  # Model and loss.
  @abc.abstractmethod
  def init_variables(self, model, rng, batch, carry):
    """model.init on an example batch."""

  @abc.abstractmethod
  def loss(self, model, params, batch, carry, rng, step):
    """(scalar loss, (metric sums, carry)); jitted inside the train step."""

  @abc.abstractmethod
  def eval_metrics(self, model, params, batch, carry):
    """(metric sums, carry) of one evaluation batch; jitted."""

  def loss_weight(self, sums):
    """What the training loss is a mean over (its real tokens or examples), from the metric sums `loss`
    returns: gradient accumulation weights each micro-batch's mean loss by it (traced)."""
    return sums['loss'][1]

  def summarize(self, split: str, metrics: dict) -> dict:
    """Host-side: the divided metrics, plus any derived from them (perplexity ...)."""
    return metrics

  # Optional hooks.
  def project_params(self, params):
    """Parameters after each update, put back inside a constraint (a max-norm); traced in the train step."""
    return params

  def decode_metrics(self, model, params, split: str, final: bool) -> dict:
    """Metrics of generated output (BLEU): the cheap ones at periodic evaluations, all at the `final` one."""
    return {}

  def default_max_loss(self) -> float:
    """The training loss past which a run counts as diverged when train.max_loss is 0; 0 = no limit."""
    return 0.0

  def fit(self, model) -> None:
    """Count-based models: fit `model` by counting over the training data (no gradient steps)."""
    raise NotImplementedError(f'{type(self).__name__} has no count-based models.')

  def count_based_loss(self, model, split: str) -> float:
    """The mean loss of a fitted count-based model on `split`."""
    raise NotImplementedError(f'{type(self).__name__} has no count-based models.')


def apply_with_norm_stabilizer(model, variables, beta: float, *args, **kwargs):
  """(model.apply(variables, *args, **kwargs), β × the norm-stabilizer terms of its recurrent layers, summed
  over layers and directions) — Krueger & Memisevic (2016); the penalty is 0.0 when β is 0."""
  if not beta:
    return model.apply(variables, *args, **kwargs), jnp.float32(0.0)
  outputs, state = model.apply(variables, *args, mutable=['losses'], **kwargs)
  terms = jax.tree.leaves(state.get('losses', {}))
  if not terms:
    raise ValueError(f'task.norm_stabilizer={beta} needs a recurrent model (model.cell ...); '
                     f'{type(model).__name__} has no recurrent layer.')
  return outputs, beta * sum(terms)
