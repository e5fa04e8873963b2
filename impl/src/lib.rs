//! `mv-impl`: an independent reference implementation of Cassandra's materialized-view
//! write path.
//!
//! * [`cql`]: the CQL front end: lexer, parser and syntax tree, with positions in errors.
//! * [`engine`]: one node's storage engine (cells, timestamps, row markers, tombstones, TTL),
//!   view maintenance (read-before-write, `ViewUpdateGenerator`'s decision) and the
//!   statement executor, including view builds over existing data and the status tables.
//! * [`node`]: the distributed node as a sans-IO core: `step(input) -> outputs`.
//! * [`sim`]: deterministic, seeded simulation of a cluster of [`node`]s.
//! * `runtime` (cargo feature `runtime`): the node as a process: framed TCP, a durable disk,
//!   real timers and a per-node trace. It is the one part that does I/O, a thin shell around
//!   [`node`].
//!
//! **Architecture Invariant:** the node core does no I/O. Time, randomness, network and disk
//! are inputs and outputs, so a run is a pure function of its inputs and a seed.

pub mod cql;
pub mod engine;
pub mod native;
pub mod node;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod sim;
