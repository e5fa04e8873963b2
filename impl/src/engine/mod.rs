//! One node's storage engine, view maintenance and statement executor.
