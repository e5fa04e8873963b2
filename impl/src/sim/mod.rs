//! Deterministic, seeded simulation of a cluster of nodes.
