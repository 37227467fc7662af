"""The soap-mtom demo: ``python -m demo`` (or ``bash scripts/demo.sh``)."""
