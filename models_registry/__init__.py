"""The model registry: accounts, repositories stored as git + LFS, and the one way to write to them.

This package knows nothing of HTTP. `hub` translates requests into calls here and domain
exceptions (`models_registry.errors`) back into responses.
"""
