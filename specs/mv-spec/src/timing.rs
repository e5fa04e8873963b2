//! Time: Cassandra's constants, and the longest a step of each kind waits once enabled.
//!
//! The model has no clock: a timer may fire whenever its guard allows. Time enters in one
//! place, the sync bound. Every step of a run waits, once it is enabled, at most a delay
//! that depends only on its kind ([`Delay`]): a message at most the network's latency, a
//! write timeout exactly `write_request_timeout`, a batchlog replay at most one replay period
//! after the batch is old enough, a hint at most one dispatch period. So between two steps of
//! a run at most the later step's delay passes (it was already enabled at the earlier one),
//! and a run of steps `s1..sn` after the last fault takes at most `delay(s1) + ... +
//! delay(sn)`. T, the sync bound in time, is the longest such sum over the model's
//! fault-free runs (`mv_model::bound`); the simulation (`mv_impl::sim::timed`) waits these
//! delays and measures what it takes.
//!
//! Both sides read these numbers under the same names, so they are vocabulary; each side's
//! scheduling (the model's guards, the simulation's clock) is its own.

use crate::Timer;

/// The kinds of step, by how long they may wait once enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Delay {
    /// A message on the network (a node's message to itself included).
    Message,
    /// Local work on the mutation stage: a base write's view-update step and its apply.
    Local,
    /// A coordinator's write timeout.
    WriteTimeout,
    /// A local batchlog replay, or a coordinator batchlog replay.
    BatchlogReplay,
    /// Hint dispatch.
    HintDispatch,
    /// A node that is down restarting.
    Restart,
    /// Anti-entropy repair of a partition whose replicas differ.
    Repair,
}

impl Delay {
    /// Every kind, in order.
    pub const ALL: [Delay; 7] = [
        Delay::Message,
        Delay::Local,
        Delay::WriteTimeout,
        Delay::BatchlogReplay,
        Delay::HintDispatch,
        Delay::Restart,
        Delay::Repair,
    ];

    /// The kind of a timer's step.
    pub fn of_timer(t: &Timer) -> Delay {
        match t {
            Timer::Generate(_) | Timer::ApplyBase(_) => Delay::Local,
            Timer::WriteTimeout(_) => Delay::WriteTimeout,
            Timer::BatchlogReplay(_) | Timer::CoordBatchlogReplay(_) => Delay::BatchlogReplay,
            Timer::HintDelivery(_) => Delay::HintDispatch,
        }
    }

    /// Its name in reports and in `specs/protocol.md`'s formula.
    pub fn name(self) -> &'static str {
        match self {
            Delay::Message => "message",
            Delay::Local => "local",
            Delay::WriteTimeout => "write-timeout",
            Delay::BatchlogReplay => "batchlog-replay",
            Delay::HintDispatch => "hint-dispatch",
            Delay::Restart => "restart",
            Delay::Repair => "repair",
        }
    }
}

/// The time constants, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// `write_request_timeout` (cassandra.yaml, 2000 ms).
    pub write_request_timeout: u64,
    /// How often the batchlog manager replays (every 10 s in `BatchlogManager`). It replays
    /// batches older than twice `write_request_timeout`.
    pub batchlog_replay_interval: u64,
    /// How often hints are dispatched to live nodes (every 10 s, `HintsDispatchTrigger`).
    pub hint_dispatch_interval: u64,
    /// `max_hint_window` (3 h): no hints are written for a node down longer than this. The
    /// sync bound assumes every outage is shorter.
    pub max_hint_window: u64,
    /// The longest a message is on the network. Not a Cassandra setting: an assumption about
    /// the network, which the bound carries as a parameter.
    pub max_latency: u64,
    /// The longest a local mutation-stage step waits: an assumption about load.
    pub max_local: u64,
    /// The longest a crashed node stays down before it restarts: an assumption about the
    /// operator or the supervisor.
    pub max_restart: u64,
    /// How often anti-entropy repair runs: an operator's schedule (assumed daily). It must
    /// stay under `gc_grace_seconds` (10 days) in Cassandra, or deleted data can come back.
    pub repair_interval: u64,
}

impl Timing {
    /// Cassandra's defaults, with 10 ms for the network, 1 ms for a local step, 60 s for a
    /// restart and a daily repair.
    pub const CASSANDRA: Timing = Timing {
        write_request_timeout: 2_000,
        batchlog_replay_interval: 10_000,
        hint_dispatch_interval: 10_000,
        max_hint_window: 3 * 3_600_000,
        max_latency: 10,
        max_local: 1,
        max_restart: 60_000,
        repair_interval: 24 * 3_600_000,
    };

    /// A batch is replayed once it is older than this (`BATCHLOG_REPLAY_TIMEOUT`).
    pub fn batchlog_timeout(&self) -> u64 {
        2 * self.write_request_timeout
    }

    /// The longest a step of kind `d` waits once enabled. A batch becomes replayable when it
    /// is `batchlog_timeout` old and is replayed at the next replay round; a hint goes at the
    /// next dispatch round.
    pub fn max_delay(&self, d: Delay) -> u64 {
        match d {
            Delay::Message => self.max_latency,
            Delay::Local => self.max_local,
            Delay::WriteTimeout => self.write_request_timeout,
            Delay::BatchlogReplay => self.batchlog_timeout() + self.batchlog_replay_interval,
            Delay::HintDispatch => self.hint_dispatch_interval,
            Delay::Restart => self.max_restart,
            Delay::Repair => self.repair_interval,
        }
    }
}

impl Default for Timing {
    fn default() -> Self {
        Timing::CASSANDRA
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BatchId, NodeId, WriteId};

    /// Every timer has exactly the kind the bound's formula gives it.
    #[test]
    fn every_timer_has_its_delay_kind() {
        let w = WriteId(1);
        let cases = [
            (Timer::Generate(w), Delay::Local),
            (Timer::ApplyBase(w), Delay::Local),
            (Timer::WriteTimeout(w), Delay::WriteTimeout),
            (
                Timer::BatchlogReplay(BatchId {
                    origin: NodeId(0),
                    seq: 0,
                }),
                Delay::BatchlogReplay,
            ),
            (Timer::CoordBatchlogReplay(w), Delay::BatchlogReplay),
            (Timer::HintDelivery(NodeId(1)), Delay::HintDispatch),
        ];
        for (t, d) in cases {
            assert_eq!(Delay::of_timer(&t), d, "{t}");
        }
    }

    #[test]
    fn cassandra_defaults_give_the_documented_delays() {
        let t = Timing::CASSANDRA;
        assert_eq!(t.batchlog_timeout(), 4_000);
        assert_eq!(t.max_delay(Delay::BatchlogReplay), 14_000);
        assert_eq!(t.max_delay(Delay::HintDispatch), 10_000);
        assert_eq!(t.max_delay(Delay::WriteTimeout), 2_000);
    }
}
