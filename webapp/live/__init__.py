"""What the live screens poll: each department's queue version and the renders shared by every
screen (see docs/performance.md)."""
