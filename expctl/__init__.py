"""expctl: a git-native experiment manager and trainer for deep-learning work.

Importing this package is cheap: nothing heavy (torch, transformers, accelerate, pandas)
is imported here or by the CLI at start-up. docs/architecture.md draws the rooms; the map:

- command line: ``cli`` (the lazy command table), ``commands`` (one module per room),
  ``examples`` (help examples), ``docgen`` (docs/cli.md), ``completion``, ``errors`` (exit codes);
- project and settings: ``project`` (the facade a command opens), ``config`` (expctl.toml),
  ``settings`` (``key=value``), ``scaffold`` (``init``, run.sh, the launcher), ``wrapping``
  (``init --command``), ``preflight`` (the program's settings check);
- stages and data: ``runmetrics`` (metric events, stage checks), ``stagedata`` (stage subsets),
  ``datasplit`` (``data split``), ``demodata`` and ``demo``;
- runs and records: ``runner``, ``record`` (the record type), ``records`` (the store),
  ``recordschema``, ``recordindex`` (the listing index), ``finalize`` (dead runs), ``refs``
  (run references), ``fingerprint``, ``envinfo``, ``privacy``, ``outputs``, ``track``, ``live``,
  ``follow``, ``resume``, ``reproduce``, ``notes``, ``removal``, ``ckptgc``, ``hints``, ``fsutil``;
- strategies and results: ``strategies``, ``membership``, ``filters``, ``compare``, ``stats``,
  ``diffing``, ``sync`` (push, pull);
- run groups and executors: ``rungroups`` (the engine), ``sweep``, ``kfold``, ``seeds``,
  ``ensemble``, ``cluster`` and ``slurm`` (Slurm);
- output: ``output`` (the one renderer), ``views`` (what a record looks like), ``api`` (notebooks);
- analysis and pictures: ``analysis`` (cases, curves, data statistics, charts), ``report``;
- the one git boundary: ``gitlayer``.
"""

__version__ = "0.1.0"
