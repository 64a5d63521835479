"""expctl's bundled trainer: ``python -m trainers.text`` (docs/trainer.md).

Modules: ``settings`` (defaults, stages; no torch), ``data.formats`` / ``data.sampling`` (readers
and stage subsets; no torch), ``data.pipeline`` (tokenize-once cache, batches), ``modeling``
(tiny BERT / local HF folders), ``metrics`` (no torch), ``loop`` (the training loop),
``tricks`` (the training tricks behind one seam), ``synth`` (generated datasets).
"""
