"""Benchmarks (`make bench`): each module measures one part and returns a Markdown section."""
