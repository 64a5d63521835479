"""expctl: a git-native experiment manager and trainer for deep-learning work.

Importing this package is cheap: nothing heavy (torch, transformers, accelerate, pandas)
is imported here or by the CLI at start-up.
"""

__version__ = "0.1.0"
