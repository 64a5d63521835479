"""expctl's bundled trainer: ``python -m trainers.text`` (docs/trainer.md).

It never imports expctl: settings come in as a file and the command line, results go out as
files in the run folder. ``api`` is the torch-free part expctl may import. The map:

- entry and flow: ``text`` (the CLI, ``--check``), ``loop`` (accelerate set-up, the task's
  adapter), ``fit`` (the one training flow), ``updates`` (the update loop), ``optim``,
  ``checkpoints``, ``autobatch``, ``runtime`` (outputs, errors), ``tracking`` (TensorBoard);
- settings and metrics (no torch): ``settings``, ``metrics``, ``api``;
- tasks: ``tasks`` (one adapter per family); models: ``modeling`` (tiny BERT, local HF
  folders), ``nets`` (bow, cnn, bilstm), ``crf``;
- data: ``data`` (readers, stage subsets, batches, splits); ``synth`` (generated datasets);
- tricks: ``tricks`` (one module per trick behind one seam); ``distill_data`` (data
  distillation); ``export`` (int8).
"""
