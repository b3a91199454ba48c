"""Benchmarks: what a simulated day of Tesla API calls costs, HTTP load, command latency.

Run them all with `scripts/bench` (or `python -m bench`); see docs/benchmarks.md.
"""
