"""soap-mtom's example MTOM service (not an adapter): :mod:`mtom_demo.service`.

A Spyne service built on :mod:`spyne_mtom` — the W3C MTOM interop echo plus an
upload/download pair — that the README demo, the deployment page, the interop
suite and the benchmarks serve. ``python -m mtom_demo.service --port 8080``
serves it with waitress on 127.0.0.1 (it needs the ``spyne`` extra).
"""
