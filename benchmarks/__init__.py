"""The course's benchmarks: each module prints its measurements and returns summary rows
``(name, figure, anchor)``; ``python -m benchmarks`` runs them all (docs/benchmarks.md)."""
