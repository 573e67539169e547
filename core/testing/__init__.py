"""Tools plugin authors use to build API simulators (real HTTP servers) for tests, benchmarks and demos.

Plugins may import from ``core``, never from each other: what two simulators share lives here.
"""
