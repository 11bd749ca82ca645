"""One page model per page: explorer, compare, pitfalls, timing. Pure, cached on small keys."""
