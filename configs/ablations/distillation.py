"""Knowledge distillation into small students (Hinton et al. 2015; Tang et al. 2019): bag of embeddings, Kim's
CNN-rand and a BiLSTM, each trained from scratch and distilled from a fine-tuned Transformer, on SST-2 and IMDB.

  make ablate SWEEP=distillation    # 3 seeds per row
  .venv/bin/python bench/inference_speed.py --workdirs=WORKDIR/pretrain/teacher_sst2,WORKDIR/boe_sst2/seed_0,...

The teacher: the masked-LM encoder of pretraining_objectives (configs/pretrain/mlm.py on IMDB's text, its budget
and vocabulary; trained again here, in WORKDIR/pretrain/mlm) fine-tuned on each task (3 epochs at 3e-4; in
WORKDIR/pretrain/teacher_TASK). A distilled student trains on α = 0.5 × the labels' cross-entropy + 0.5 × τ² ×
the cross-entropy to the teacher's softmax at τ = 2, over its training sentences and unlabeled text the teacher
labels once (cached in the teacher's workdir): 100,000 IMDB sentences for SST-2 students, 50,000 IMDB reviews
(training reviews outside valid, and the unlabeled ones) for IMDB students; a student's vocabulary covers them.
Students keep their configs' recipes (IMDB: the first 127 tokens, 3 epochs). Speed: bench/inference_speed.py
(sentences/s on the test split, batched, after compilation), in the write-up.
"""
from configs.ablations import pretraining_objectives as objectives

STUDENTS = {'boe': 'configs/classify/boe.py', 'kim_cnn': 'configs/classify/kim_cnn.py',
            'bilstm': 'configs/classify/bilstm.py'}
DISTILL = {'task.distill_loss': 'ce', 'task.distill_alpha': 0.5, 'task.distill_temperature': 2.0}
UNLABELED = {'sst2': {'data.distill_corpus': 'imdb_sentences', 'data.distill_max_texts': 100_000},
             'imdb': {'data.distill_corpus': 'imdb', 'data.distill_max_texts': 50_000}}
TASKS = {'sst2': {'data.name': 'sst2'}, 'imdb': dict(objectives.IMDB, **{'train.num_epochs': 3})}


def get_sweep():
  config, steps, extra = objectives.PRETRAINING['mlm']
  pretraining = {'mlm': dict(config=config, overrides=dict(objectives.PRETRAINING_OVERRIDES(steps), **extra))}
  for task, data in TASKS.items():
    pretraining[f'teacher_{task}'] = dict(config='configs/classify/transformer.py', init_from='mlm',
                                          overrides=dict(objectives.FINE_TUNE, **data))
  rows = []
  for task, data in TASKS.items():
    for student, path in STUDENTS.items():
      rows.append(dict(name=f'{student}_{task}', group=student, task=task, config=path, overrides=data))
      rows.append(dict(name=f'{student}_distilled_{task}', group=f'{student}_distilled', task=task, config=path,
                       distill_from=f'teacher_{task}', overrides=dict(data, **DISTILL, **UNLABELED[task])))
  return dict(
      seeds=3,
      metrics=('test/accuracy', 'valid/accuracy', 'model/params', 'train/seconds'),
      reference_metric='test/accuracy',
      reference_source='no reference column: each distilled student is compared with its from-scratch twin',
      pretraining=pretraining,
      rows=rows,
  )
