"""Tests of gyroage.crossmatch, one module per module (a package, so its helpers import relatively)."""
