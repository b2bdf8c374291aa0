"""Benchmarks for incident-bot; see bench/README.md."""
