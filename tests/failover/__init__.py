"""Failures, failovers and recoveries on fresh clusters of their own."""
