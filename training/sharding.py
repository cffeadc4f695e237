"""The device mesh, parameter sharding rules and sharded batches: one program over all devices.

The mesh has three axes. `data` and `fsdp` both split the batch; `fsdp` also
splits parameters and optimizer state (ZeRO-3 style: XLA gathers a weight where
it is used). `model` splits attention heads and the feed-forward hidden units
(Megatron-style tensor parallelism). Which parameter is split how is data in
the config: `mesh.rules`, (regex, spec) pairs matched against the parameter's
path ('block_0/attention/query/kernel'), the first match wins. A spec names one
mesh axis (or '-') per leading dimension, e.g. 'fsdp,model,-'; dimensions past
the spec, and dimensions the named axes do not divide, are replicated.
"""
import re

import jax
from jax.sharding import AxisType, NamedSharding, PartitionSpec as P
import numpy as np
from flax import traverse_util

AXES = ('data', 'fsdp', 'model')
BATCH_AXES = ('data', 'fsdp')  # The batch dimension is split over both.

# Tensor parallelism for the Transformers (heads and feed-forward units over `model`) and FSDP for
# every large matrix; the recurrent weights are only replicated (data parallel).
DEFAULT_RULES = (
    ('attention/(query|key|value)/kernel', 'fsdp,model,-'),  # (width, heads, head_dim)
    ('attention/(query|key|value)/bias', 'model,-'),  # (heads, head_dim)
    ('attention/out/kernel', 'model,-,fsdp'),  # (heads, head_dim, width)
    ('mlp/fc/kernel', 'fsdp,model'),  # (width, hidden)
    ('mlp/fc/bias', 'model'),
    ('mlp/proj/kernel', 'model,fsdp'),  # (hidden, width)
    ('embed(ding)?/embedding', '-,fsdp'),  # (vocab, width): vocabularies rarely divide evenly; widths do.
    ('softmax/kernel', 'fsdp,-'),  # (width, vocab)
)


class ShardingError(ValueError):
  """A mesh, rule or batch size that cannot work on the devices at hand."""


def mesh_shape(mesh_config, num_devices: int) -> tuple[int, int, int]:
  """The (data, fsdp, model) sizes, the one -1 (if any) taking the devices left over."""
  sizes = [int(mesh_config[axis]) for axis in AXES]
  if any(s == 0 or s < -1 for s in sizes) or sizes.count(-1) > 1:
    raise ShardingError(f'mesh sizes must be positive, with at most one -1 ("the rest"); got '
                        f'data={sizes[0]}, fsdp={sizes[1]}, model={sizes[2]}.')
  known = int(np.prod([s for s in sizes if s != -1]))
  if -1 in sizes:
    if num_devices % known:
      raise ShardingError(f'mesh {dict(zip(AXES, sizes))}: {num_devices} devices do not divide by {known}.')
    sizes[sizes.index(-1)] = num_devices // known
  if int(np.prod(sizes)) > num_devices:
    raise ShardingError(f'mesh {dict(zip(AXES, sizes))} needs {int(np.prod(sizes))} devices; '
                        f'there are {num_devices}.')
  return tuple(sizes)


def build_mesh(mesh_config, devices=None) -> jax.sharding.Mesh:
  """The mesh over all devices, or over the first data × fsdp × model of them when the sizes say so."""
  devices = jax.devices() if devices is None else devices
  shape = mesh_shape(mesh_config, len(devices))
  return jax.make_mesh(shape, AXES, axis_types=(AxisType.Auto,) * len(AXES),
                       devices=devices[:int(np.prod(shape))])


def parse_spec(spec: str) -> tuple:
  """'fsdp,model,-' -> ('fsdp', 'model', None); '' -> () (replicated)."""
  entries = [e.strip() for e in spec.split(',')] if spec.strip() else []
  for entry in entries:
    if entry != '-' and entry not in AXES:
      raise ShardingError(f'Sharding spec {spec!r}: unknown mesh axis {entry!r}; choose among {", ".join(AXES)} or -.')
  return tuple(None if e == '-' else e for e in entries)


def check_rules(rules) -> None:
  for rule in rules:
    if len(rule) != 2:
      raise ShardingError(f'mesh.rules entries are (regex, spec) pairs; got {rule!r}.')
    pattern, spec = rule
    try:
      re.compile(pattern)
    except re.error as e:
      raise ShardingError(f'mesh.rules pattern {pattern!r} is not a regular expression: {e}') from e
    parse_spec(spec)


def param_spec(path: str, shape: tuple, rules, mesh) -> P:
  """The PartitionSpec of one parameter: its first matching rule, fitted to its shape."""
  for pattern, spec in rules:
    if re.search(pattern, path):
      axes = parse_spec(spec)[:len(shape)]
      fitted = [axis if axis and dim % mesh.shape[axis] == 0 else None for axis, dim in zip(axes, shape)]
      return P(*fitted)
  return P()


def param_shardings(params_shape, rules, mesh):
  """NamedShardings for a params pytree (arrays or ShapeDtypeStructs), keyed like it."""
  flat = traverse_util.flatten_dict(params_shape, sep='/')
  specs = {path: NamedSharding(mesh, param_spec(path, leaf.shape, rules, mesh)) for path, leaf in flat.items()}
  return traverse_util.unflatten_dict(specs, sep='/')


def replicated(mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh, batch_dim: int = 0, ndim: int = 1) -> NamedSharding:
  """Splits dimension `batch_dim` over the data and fsdp axes; scalars and short arrays stay replicated."""
  if ndim <= batch_dim:
    return replicated(mesh)
  return NamedSharding(mesh, P(*([None] * batch_dim), BATCH_AXES))


def check_divisible(sizes: dict, batch_sizes: dict, num_heads: int = 0) -> None:
  """Batches split over data × fsdp, heads over model: both must divide evenly."""
  ways = sizes['data'] * sizes['fsdp']
  for name, batch_size in batch_sizes.items():
    if batch_size % ways:
      raise ShardingError(f'{name} {batch_size} does not divide over the {ways} data-parallel devices '
                          f'(mesh data={sizes["data"]} × fsdp={sizes["fsdp"]}); use a multiple of {ways}.')
  if num_heads and num_heads % sizes['model']:
    raise ShardingError(f'model.num_heads {num_heads} does not divide over mesh.model {sizes["model"]} '
                        f'tensor-parallel devices; choose mesh.model among the divisors of {num_heads}.')


def put_batch(batch, mesh, batch_dim: int = 0):
  """Host batch (numpy pytree, global shape) -> global arrays split over the batch axes.

  Each process passes only the rows its own devices hold to
  `jax.make_array_from_process_local_data`, so a multi-host run feeds every
  device its part of the global batch.
  """
  def put(x):
    x = np.asarray(x)
    sharding = batch_sharding(mesh, batch_dim, x.ndim)
    if jax.process_count() == 1:
      return jax.device_put(x, sharding)
    local = x
    if x.ndim > batch_dim:  # This process's devices hold one contiguous block of rows.
      rows = [index[batch_dim] for index in sharding.addressable_devices_indices_map(x.shape).values()]
      start = min(r.start or 0 for r in rows)
      stop = max(x.shape[batch_dim] if r.stop is None else r.stop for r in rows)
      local = x[(slice(None),) * batch_dim + (slice(start, stop),)]
    return jax.make_array_from_process_local_data(sharding, local, x.shape)
  return jax.tree.map(put, batch)


def carry_shardings(carry, mesh):
  """Recurrent states (batch, ...) split like the batch."""
  return jax.tree.map(lambda c: batch_sharding(mesh, 0, len(c.shape)), carry)
