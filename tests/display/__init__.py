"""Tests of the waiting-room display."""
