"""Loaders: files in, positioned documents out. They never print and never exit."""
