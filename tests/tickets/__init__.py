"""Tests of the patient ticket page and the printed ticket."""
