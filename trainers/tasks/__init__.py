"""Task adapters for :func:`trainers.fit.fit`: data, model, collate and evaluate per family.

``base`` (what an adapter provides, the one evaluation gather), ``labels`` (classification,
pair, multilabel, ner), ``seq2seq`` (generation), ``span`` (extractive QA).
"""
