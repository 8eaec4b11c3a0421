"""The long-running and networked CLI commands, one module each."""
