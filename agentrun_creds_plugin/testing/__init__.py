"""Test support shipped with the package: the backend conformance suite.

Importing it needs pytest; the library itself never imports this package.
"""
