"""Encoder-decoders on Multi30k task 1, German to English: test BLEU (sacrebleu, cased, detokenized) with
beam 5 and greedy, teacher-forced perplexity, parameters and training time.

  make ablate SWEEP=mt_multi30k            # 1 seed per row; --seeds=3 where time allows

Rows, each configs/mt/NAME.py with the changes named:
  transformer      3+3 layers, width 256, 8 heads, feed-forward 512, label smoothing 0.1 (Vaswani et al.)
  attention        Bahdanau et al.: bidirectional GRU encoder, additive attention, deep output
  attention_ss     the same, with scheduled sampling (inverse sigmoid, k = 1000, teacher >= 0.75)
  attention_dot    Luong et al.'s dot-product attention (with input feeding and its own output layer, so no
                   deep output) in place of the additive one
  gru_context      Cho et al.: GRU encoder-decoder, the context vector fed to every decoder step
  lstm             Sutskever et al.: 2-layer LSTM encoder-decoder, source reversed
The recurrent rows train 10 epochs at batch 128 with Adam 1e-3; the Transformer 20 (about 4500 steps).
train/seconds is the wall-clock of the training steps (evaluation excluded, compilation included).
"""


def get_sweep():
  return dict(
      seeds=1,
      metrics=('test/bleu', 'test/bleu_greedy', 'valid/bleu', 'test/ppl', 'model/params', 'train/seconds'),
      reference_metric='test/bleu',
      reference_source=('test BLEU of the PyTorch seq2seq tutorials on Multi30k (bentrevett/pytorch-seq2seq): '
                        '3, packed padded sequences, masking (attention) 28.1; 6, Attention Is All You Need '
                        '(transformer) 36.5'),
      rows=[
          dict(name='transformer', config='configs/mt/transformer.py', overrides={}, reference=36.5),
          dict(name='attention', config='configs/mt/attention.py', overrides={}, reference=28.1),
          dict(name='attention_ss', config='configs/mt/attention.py',
               overrides={'task.sampling_schedule': 'inverse_sigmoid', 'task.sampling_k': 1000.0,
                          'task.sampling_min_teacher': 0.75}),
          dict(name='attention_dot', config='configs/mt/attention.py',
               overrides={'model.attention': 'dot', 'model.deep_output': False}),
          dict(name='gru_context', config='configs/mt/gru.py', overrides={}),
          dict(name='lstm', config='configs/mt/lstm.py', overrides={}),
      ],
  )
