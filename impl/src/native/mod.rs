//! The CQL native protocol (v4) over the engine, sans IO: `mvcheck serve` feeds a
//! [`Connection`] the bytes a socket delivered and writes back what it answers.
//!
//! * `wire`: the protocol's notation (`[string]`, `[bytes]`, ...), bounds-checked.
//! * `frame`: frame headers, the decoder that cuts a byte stream into frames and refuses
//!   what must close a connection (another version, an oversized or negative length).
//! * `messages`: request bodies in, response bodies out, Cassandra's error codes.
//! * `types`: type descriptions and values on the wire.
//! * `binds`: prepared statements: bind markers typed at PREPARE, values substituted at
//!   EXECUTE (the engine itself has no bind markers).
//! * `system`: `system.local`, `system.peers(_v2)` and `system_schema`, from the engine's
//!   schema.
//! * `server`: the node shared by all connections and each connection's state; every
//!   statement reaches the engine through `Server::run_statement` (the view-build hook).
//!
//! Why not the `cassandra-protocol` crate (4.0.1): it is written for clients and proxies.
//! Measured against this server's needs, its `Envelope::from_buffer` reads the body length as
//! `i32 as usize`, so a header with a negative length makes it index past its buffer and panic,
//! and a server must survive garbage bytes; it decodes requests into its own value types,
//! which would need a second conversion into the engine's, and it pulls in chrono, time,
//! num-bigint, lz4 and snap for what is a few hundred lines of notation here. So the frames
//! and bodies are written here against the v4 specification, with bounds checks on every read.
//!
//! **Invariant:** no input makes this module panic; a malformed frame becomes a protocol
//! error and a closed connection (`checker/tests/serve_wire.rs` sends random and mutated
//! frames).

mod binds;
pub mod frame;
pub mod messages;
mod server;
pub mod system;
pub mod types;
pub mod wire;

pub use server::{Connection, Output, Server, ServerConfig};
