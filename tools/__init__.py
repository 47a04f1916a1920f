"""Maintainer tooling run from the Makefile and by hand (python tools/<name>.py); not part of gc_helpers."""
