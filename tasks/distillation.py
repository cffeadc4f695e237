"""Knowledge distillation of a trained classifier (the teacher) into another (the student).

Hinton, Vinyals & Dean (2015): the student also fits the teacher's class distribution softened by a
temperature τ; Tang et al. (2019): or the teacher's logits, by squared error. The teacher labels the
student's training sentences and, with data.distill_corpus, unlabeled text (which has no hard label).

The teacher's logits are computed once, before training, and kept in a cache keyed by what decides them (the
teacher's workdir and parameters' step, the texts; by default in the teacher's workdir): a student's step then
costs what it costs without a teacher, and every student of one teacher shares one labeling pass.
"""
import hashlib
import json
import os
import uuid

import jax
import jax.numpy as jnp
import numpy as np
import optax

from data import labeled

LOSSES = ('ce', 'mse')


def soft_loss(student_BK, teacher_BK, kind: str, temperature: float):
  """(B,) the soft term per example. 'ce': τ² · H(softmax(teacher/τ), softmax(student/τ)), the cross-entropy
  to the teacher's softened distribution (its gradient is the KL divergence's; τ² keeps its size as τ grows,
  Hinton et al. section 2); 'mse': the mean over classes of (student - teacher)² of the logits."""
  if kind == 'mse':
    return jnp.mean((student_BK - teacher_BK) ** 2, axis=-1)
  targets_BK = jax.nn.softmax(teacher_BK / temperature, axis=-1)
  return temperature ** 2 * optax.softmax_cross_entropy(student_BK / temperature, targets_BK)


def distillation_loss(student_BK, labels_B, teacher_BK, has_label_B, weight_B, kind: str, alpha: float,
                      temperature: float):
  """α × the hard labels' mean cross-entropy (over the labeled rows) + (1 - α) × the mean soft term (over every
  real row), and (hard sum, labeled rows), (soft sum, rows) for the metrics."""
  hard_B = optax.softmax_cross_entropy_with_integer_labels(student_BK, labels_B)
  labeled_B = has_label_B * weight_B
  hard_sum, num_labeled = jnp.sum(hard_B * labeled_B), jnp.sum(labeled_B)
  soft_sum, num_rows = jnp.sum(soft_loss(student_BK, teacher_BK, kind, temperature) * weight_B), jnp.sum(weight_B)
  total = alpha * hard_sum / jnp.maximum(num_labeled, 1.0) + (1.0 - alpha) * soft_sum / jnp.maximum(num_rows, 1.0)
  return total, (hard_sum, num_labeled), (soft_sum, num_rows)


def unlabeled_texts(data_config) -> list:
  """The texts of data.distill_corpus (entries as data.pretrain_corpus's, data.pretrain_exclude applied),
  normalized as the student reads its data; at most data.distill_max_texts of them, a subset fixed by the
  texts alone (not the run's seed), so every seed's student sees the same ones."""
  corpus = data_config.get('distill_corpus', '')
  if not corpus:
    return []
  texts, _ = labeled.pretraining_texts(data_config, corpus=corpus)
  limit = data_config.get('distill_max_texts', 0)
  if limit and len(texts) > limit:
    keep = np.sort(np.random.RandomState(0).permutation(len(texts))[:limit])
    texts = [texts[i] for i in keep]
  return texts


def _cache_key(teacher_workdir: str, step: int, texts: list) -> str:
  digest = hashlib.sha256()
  digest.update(json.dumps([os.path.realpath(teacher_workdir), step]).encode())
  for text in texts:
    digest.update(text.encode('utf-8') + b'\n')
  return digest.hexdigest()[:20]


def teacher_logits(teacher_workdir: str, texts: list, cache_dir: str, batch_size: int = 64) -> np.ndarray:
  """float32 (len(texts), K): the teacher's logits of each text (read as the teacher reads its data: its
  normalizer, vocabulary and max_len), from its best validation parameters, as its results.json scored."""
  from training import restore  # pylint: disable=import-outside-toplevel  (restore imports the tasks)
  from tasks import classification  # pylint: disable=import-outside-toplevel
  config, model, params, vocab, step = restore.load_classifier(teacher_workdir)
  path = os.path.join(cache_dir, f'teacher_{_cache_key(teacher_workdir, step, texts)}.npy')
  if os.path.exists(path):
    return np.load(path)
  ids = classification.encode_as_read(config.data, vocab, texts)
  logits_RK = classification.predict_rows(model, params, ids, batch_size, config.data, softmax=False,
                                          progress='teacher labels')
  os.makedirs(cache_dir, exist_ok=True)
  temporary = f'{path}.{uuid.uuid4().hex}.tmp.npy'  # Unique: two seeds of a sweep may label at once.
  np.save(temporary, logits_RK)
  os.replace(temporary, path)
  return logits_RK
