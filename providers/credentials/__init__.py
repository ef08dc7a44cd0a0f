"""Proof-of-age credential verification: ISO mdoc and SD-JWT VC presentations.

Pure functions over bytes and strings: no I/O, no clock of their own (``now`` is passed in).
Every rejection is a ``Rejected`` with a stable reason code and no credential content.
"""
