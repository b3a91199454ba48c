"""Tests of the Fleet API simulator, driven through the real tesla-fleet-api library."""
