"""Recommenders: data prep, models, offline evaluation, tuning, registry and benchmarks.

Every model honours the small interface in :mod:`models.base` (``fit``, batched ``recommend``,
``similar_items``, a seeded ``random_state``), and every metric is a plain function over
ranked id arrays (:mod:`models.metrics`), so any model is evaluated the same way.
"""
