"""Tests of pgcluster._core: the pure logic, no server, no I/O."""
