"""Test support shipped with the package: the backend conformance suite, a loopback server.

``conformance`` needs pytest; ``openai_server`` (used by ``agentrun-creds demo``) only the
standard library. The library itself never imports this package.
"""
