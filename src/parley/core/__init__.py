"""The shared kernel: app factory, database, key-value store, storage, auth, observability.

Nothing here imports a service package.
"""
