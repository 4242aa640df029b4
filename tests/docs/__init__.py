"""The documentation checked against the code, and its examples run."""
