"""Analysis of runs and data: case studies, curves, data statistics.

Plain modules that a test can call without the CLI; the click commands in
``expctl/commands`` only parse, call one function here and print through the one
renderer (:mod:`expctl.output`). Nothing heavy is imported at module level (no pandas,
torch, transformers or matplotlib).

Modules:

- :mod:`~expctl.analysis.sources` -- finding a run's file (a path, a run folder, or a run id
  / tag / branch through the records) and reading JSON lines;
- :mod:`~expctl.analysis.cases` -- case study of a run's predictions (``expctl cases``);
- :mod:`~expctl.analysis.datastats` -- statistics of data files (``expctl data stats``);
- :mod:`~expctl.analysis.curvegroups` -- a run's curves, and runs differing only by seed as one;
- :mod:`~expctl.analysis.plot` -- terminal charts, the diagnosis, the PNG (``expctl plot``);
- :mod:`~expctl.analysis.svgchart` -- line charts as inline SVG (``expctl report``);
- :mod:`~expctl.analysis.export` -- recorded curves as TensorBoard events and a tidy CSV (``expctl export``).
"""
