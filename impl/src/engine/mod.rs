//! One node's storage engine, view maintenance and statement executor.
//!
//! * [`value`]: CQL values and types, their order, serialization, and display forms.
//! * [`data`]: cells, row markers, deletions, rows and partitions with Cassandra's
//!   reconciliation (reference note §1, §7).
//! * [`schema`]: table and view definitions.
//! * [`view`]: view maintenance on values: read-before-write and `ViewUpdateGenerator`'s
//!   decision (§2-§4, §9), callable without CQL.

pub mod data;
pub mod schema;
pub mod value;
pub mod view;

pub use data::{Cell, ClusteringKey, DeletionTime, Liveness, Partition, PartitionKey, Row, Ts};
pub use schema::{ColumnDef, ColumnKind, TableSchema, ViewDef};
pub use value::{DataType, Decimal, Value};
pub use view::{DeletionStyle, ViewMutation, ViewRules};
