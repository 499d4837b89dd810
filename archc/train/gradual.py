"""Placeholder replaced below."""
def train_grouped(*a, **k):
    raise NotImplementedError
