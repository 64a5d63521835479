"""The trainer's data layer: ``formats`` (streaming readers), ``sampling`` (stage subsets),
``pipeline`` (label maps, tokenize-once cache, batches), ``splits`` (the train / eval examples
of the label tasks), ``pairs`` (seq2seq pairs), ``squad`` (span questions and windows),
``skew`` (label skew said out loud).

``formats`` and ``sampling`` are pure Python (no torch); ``pipeline`` needs torch.
"""
