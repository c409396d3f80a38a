"""The stages of the independent vector checker; ``spec/verify/verify_vectors.py`` is its entry point.

Like the entry point, nothing here imports m2mauth: the standard library and ``cryptography``
only (``jsonschema`` when importable), so the vectors are checked by a second implementation.
"""
