"""Rampart benchmarks: `python -m bench` (or `./rampart bench`). See bench/README.md."""
