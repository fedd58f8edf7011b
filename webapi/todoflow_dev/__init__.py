"""Developer tooling that never ships in an image: the local stack (`devstack`) and the benchmarks (`bench`)."""
