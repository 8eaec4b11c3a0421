"""Test-suite configuration: pytester for testing the plugin the way pytest runs it."""

pytest_plugins = ["pytester"]
