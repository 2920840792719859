"""Benchmarks of the VTN (`make bench`, `make bench-quick`); never part of the test suite."""
