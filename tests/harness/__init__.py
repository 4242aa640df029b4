"""Tests of pgcluster.testing: the local and compose backends and the node interface."""
