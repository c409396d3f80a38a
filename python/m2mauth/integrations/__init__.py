"""Adapters that put a TokenSource's token on HTTP requests: requests (AuthBase, Session) and httpx."""
