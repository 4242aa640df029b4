"""Tests of the pgcluster command line."""
