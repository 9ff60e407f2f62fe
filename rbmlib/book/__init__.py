"""The course book's glue: its models and cached results (:mod:`~rbmlib.book.zoo`),
notebook helpers (:mod:`~rbmlib.book.nbtools`) and tables (:mod:`~rbmlib.book.tables`).

Top layer: it imports the core and the evaluation kit; nothing imports it.
"""
