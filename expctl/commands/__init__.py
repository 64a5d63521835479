"""The click commands, thin: parse options, open the Project, call plain modules, render.

``expctl/cli.py`` loads a module only when its command runs. One module per room: ``init``;
``run`` (run, reproduce); ``runs`` (runs, show, log); ``records`` (note, rm, gc); ``strategy``
(tag, explore, promote, abandon, strategies); ``compare`` (compare, diff); ``sync`` (push,
pull); ``groups`` (sweep, kfold, ensemble); ``cluster`` (``--on slurm``, cancel, wait);
``data`` (data stats, data split); ``cases``; ``plot``; ``report`` (report, export); ``demo``.
"""
