"""The trainer's data layer: streaming readers (formats), stage subsets (sampling), batches (pipeline).

``formats`` and ``sampling`` are pure Python (no torch); ``pipeline`` needs torch.
"""
