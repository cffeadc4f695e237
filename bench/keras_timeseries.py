"""Peer check: Géron's time-series models in Keras 3 (JAX backend) on seqlab's data, several seeds.

  pip install keras   # not a seqlab dependency
  KERAS_BACKEND=jax python bench/keras_timeseries.py --model=simple_rnn --seeds=10

Prints one line per seed: validation MSE after 20 epochs of Keras's default Adam,
and the recurrent weight of the first layer's first unit.
"""
import os
import sys

os.environ.setdefault('KERAS_BACKEND', 'jax')

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
import ml_collections  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from data import timeseries  # noqa: E402

flags.DEFINE_enum('model', 'simple_rnn', ['dense', 'simple_rnn', 'deep_rnn', 'deep_rnn_dense'], 'Row of the table.')
flags.DEFINE_integer('seeds', 3, 'Seeds 0..N-1 (keras.utils.set_random_seed).')
FLAGS = flags.FLAGS


def build(keras, name):
  layers = keras.layers
  stacks = {
      'dense': [layers.Flatten(), layers.Dense(1)],
      'simple_rnn': [layers.SimpleRNN(1)],
      'deep_rnn': [layers.SimpleRNN(20, return_sequences=True), layers.SimpleRNN(20, return_sequences=True),
                   layers.SimpleRNN(1)],
      'deep_rnn_dense': [layers.SimpleRNN(20, return_sequences=True), layers.SimpleRNN(20), layers.Dense(1)],
  }
  return keras.models.Sequential([keras.Input((50, 1))] + stacks[name])


def main(argv):
  del argv
  import keras
  splits = timeseries.load_splits(ml_collections.ConfigDict(
      dict(seed=42, num_series=10000, num_steps=50, num_train=7000, num_valid=2000)))
  train, valid = splits['train'], splits['valid']
  for seed in range(FLAGS.seeds):
    keras.utils.set_random_seed(seed)
    model = build(keras, FLAGS.model)
    model.compile(loss='mse', optimizer='adam')
    model.fit(train['inputs'], train['targets'], epochs=20, verbose=0)
    mse = model.evaluate(valid['inputs'], valid['targets'], verbose=0)
    recurrent = model.layers[0].get_weights()[1].ravel()[0] if FLAGS.model != 'dense' else float('nan')
    print(f'{FLAGS.model} seed {seed}: valid mse {mse:.5f}, first recurrent weight {recurrent:.3f}', flush=True)


if __name__ == '__main__':
  app.run(main)
