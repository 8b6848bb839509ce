"""Benchmarks: `make bench`. Figures are printed and saved to bench/results/, never asserted."""
