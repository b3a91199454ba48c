"""pytest plugins of the test suite, loaded by tests/conftest.py through `pytest_plugins`."""
