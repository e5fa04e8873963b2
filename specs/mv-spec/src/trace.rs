//! The trace schema: model steps recorded by value (see `specs/trace-format.md`).
//!
//! A step names actors as `n0`.. (nodes) and `c0`.. (clients), never by a checker's action
//! index, so a saved path stays meaningful across versions and tools.

use crate::{Msg, Timer};
use serde::{Deserialize, Serialize};

/// One step of a run: one model action, one implementation step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Step {
    /// A message is delivered.
    Deliver {
        /// Sender.
        src: String,
        /// Receiver.
        dst: String,
        /// The message.
        msg: Msg,
    },
    /// A message is lost.
    Drop {
        /// Sender.
        src: String,
        /// Receiver.
        dst: String,
        /// The message.
        msg: Msg,
    },
    /// A timer fires.
    Timeout {
        /// The node.
        node: String,
        /// The timer.
        timer: Timer,
    },
    /// A node crashes.
    Crash {
        /// The node.
        node: String,
    },
    /// A node restarts.
    Recover {
        /// The node.
        node: String,
    },
    /// A node loses its data for good.
    DataLoss {
        /// The node.
        node: String,
    },
}

impl Step {
    /// The step's kind, as ITF's `mbt::actionTaken`.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Deliver { .. } => "Deliver",
            Step::Drop { .. } => "Drop",
            Step::Timeout { .. } => "Timeout",
            Step::Crash { .. } => "Crash",
            Step::Recover { .. } => "Recover",
            Step::DataLoss { .. } => "DataLoss",
        }
    }
}
