"""``python -m agentrun_creds_plugin``: the same as the ``agentrun-creds`` command."""

from agentrun_creds_plugin.cli import main

main()
