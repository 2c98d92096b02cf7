"""Compiling and running rulesets: evaluate, replay, the downstream runtime."""
