"""Event lake, DuckDB warehouse and its data-quality suites.

`lake` writes events as Parquet, `build` turns the lake into a published DuckDB snapshot of
SQL models (`sql/`), `reader` opens the current snapshot read-only, `quality` holds the Great
Expectations suites, `simulate` writes large realistic lakes for benchmarks.
"""
