"""Delegation: the capability algebra (``capabilities``) and chain verification (``chain``)."""
