"""GPT char LM on Tiny Shakespeare with nanoGPT's CPU recipe (its README's "baby GPT" on a laptop).

  python train.py --config=configs/charlm/gpt.py --workdir=runs/charlm_gpt

4 layers, 4 heads, width 128 (0.80M parameters), context 64, batch 12, 2000 steps;
AdamW (0.9, 0.99, weight decay 0.1 on matrices), lr 1e-3, 100 warmup steps, cosine
to 1e-4; clipping at 1.0; no biases, no dropout; train on the first 90% of the text,
validate on all of the last 10% (data.split 'nanogpt').
Target: validation loss <= 1.88 nats/char, mean of 3 seeds (nanoGPT: 1.886).
Measured 2026-11-22 and again 2026-12-01 (2-core CPU, ~1 min a run): 1.9053, 1.8992, 1.8967 for
seeds 0-2 (mean 1.900);
a PyTorch implementation of the same recipe, evaluated the same way: mean 1.912.
"""
from configs.charlm import common

VARIANTS = ('', 'tiny')


def transformer(c, variant: str):
  """Fields of the GPT; `variant` 'tiny' shrinks it."""
  c.model.name = 'gpt'
  c.model.width = 128  # Residual stream (n_embd).
  c.model.depth = 4  # Blocks (n_layer).
  c.model.num_heads = 4  # Heads per attention; width must divide by it.
  c.model.mlp_ratio = 4  # Feed-forward width / width.
  c.model.norm = 'pre'  # pre: LN inside each residual branch (GPT-2); post: after the add (Vaswani et al.).
  c.model.activation = 'gelu'  # gelu (exact, erf) or relu.
  c.model.positional = 'learned'  # learned, sinusoidal (token embeddings scaled by sqrt(width)), none.
  c.model.dropout = 0.0  # On embeddings and residual branches.
  c.model.attention_dropout = 0.0  # On attention weights.
  c.model.use_bias = False  # Biases in linear layers and layer norms.
  c.model.tie_embeddings = True  # The softmax reuses the token embedding.
  c.model.dtype = 'float32'  # Compute dtype: float32 or bfloat16 (parameters, softmax and loss stay float32).
  c.model.max_len = 0  # Context (positions); 0 = data.seq_len.
  if variant == 'tiny':
    c.model.width, c.model.depth, c.model.num_heads = 16, 2, 2
  return c


def get_config(variant=''):
  c = common.get_config(variant)
  c.data.split = 'nanogpt'
  c.data.seq_len = 64  # block_size.
  c.data.batching = 'random'
  c.train.batch_size = 12
  c.train.num_steps = 2000
  c.train.steps_per_call = 10
  c.optimizer.name = 'adamw'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.b2 = 0.99
  c.optimizer.weight_decay = 0.1
  c.optimizer.clip_norm = 1.0
  c.schedule.name = 'warmup_cosine'
  c.schedule.warmup_steps = 100
  c.schedule.end_learning_rate = 1e-4
  c.eval.every_steps = 250
  c.eval.batch_size = 64
  c.eval.splits = 'valid'
  c.checkpoint.every_steps = 250
  c.log.every_steps = 50
  if variant == 'tiny':
    c.data.seq_len = 16
    c.train.batch_size = 4
    c.train.num_steps = 20
    c.train.steps_per_call = 5
    c.schedule.warmup_steps = 2
    c.eval.every_steps = 10
    c.eval.batch_size = 4
    c.checkpoint.every_steps = 5
    c.log.every_steps = 5
  return transformer(c, variant)
