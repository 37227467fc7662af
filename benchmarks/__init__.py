"""Benchmarks for soap-mtom: ``python -m benchmarks [suite ...]``.

Each suite module defines ``run(args) -> list[Result]``; results print as a
table and can be written as JSON. Targets are checked here, never in tests.
"""
