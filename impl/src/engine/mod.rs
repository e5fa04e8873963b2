//! One node's storage engine, view maintenance and statement executor.
//!
//! * [`value`]: CQL values and types, their order, serialization, and display forms.
//! * [`data`]: cells, row markers, deletions, rows and partitions with Cassandra's
//!   reconciliation (`docs/cassandra-semantics.md` §1, §7).
//! * [`schema`]: table and view definitions.
//! * [`view`]: view maintenance on values: read-before-write and `ViewUpdateGenerator`'s
//!   decision (cassandra-semantics §2-§4, §9), callable without CQL (the distributed node uses it directly).
//! * [`Engine`] (`exec.rs`, `write.rs`, `select.rs`): the CQL executor over those layers,
//!   with schema validation in Cassandra's words (cassandra-semantics §10), view builds and their status tables
//!   (cassandra-semantics §11).
//! * [`ScriptHeader`] (`script.rs`): the `-- semantics:` / `-- build-rate:` lines that let a
//!   script carry its own flags.
//! * `describe.rs`: `DESCRIBE` as CQL that recreates the schema.
//! * [`view_check`]: verifying a view against its base and repairing it in place
//!   ([`Engine::verify_view`], [`Engine::repair_view`]).

mod convert;
pub mod data;
mod describe;
mod error;
mod exec;
mod restrict;
pub mod schema;
mod script;
mod select;
pub mod value;
pub mod view;
pub mod view_check;
mod write;

pub use data::{Cell, ClusteringKey, DeletionTime, Liveness, Partition, PartitionKey, Row, Ts};
pub use error::{CqlError, ErrorKind, QueryResult, Rows};
pub use exec::{BuildRate, Engine, EngineConfig, Table, DEFAULT_KEYSPACE, DEFAULT_NOW_MICROS, MAX_TTL, VIEW_WARNING};
pub use schema::{ColumnDef, ColumnKind, TableSchema, ViewDef};
pub use script::{parse_build_rate, rules_named, semantics_name, HeaderError, ScriptHeader};
pub use select::{read_rows, PartitionRead, ReadLiveness, RowLimits};
pub use value::{DataType, Decimal, Value};
pub use view::{DeletionStyle, ViewMutation, ViewRules};
pub use view_check::{RepairWrite, ViewCheck, ViewFinding, ViewRepair};

#[cfg(test)]
mod tests;
