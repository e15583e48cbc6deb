"""Helpers the tests share: API steps, servers, backends, sample data.

Test modules import helpers from here, never from another test module or a ``conftest.py``
(those hold fixtures only), so a test file can move without breaking its neighbours.
"""
