"""Tests of the async and sync shells (Cluster, Pool, sessions) against real servers."""
