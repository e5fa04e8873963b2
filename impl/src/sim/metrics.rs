//! What an operator would watch on a real cluster, measured by the simulation's host, under
//! Cassandra's metric names where Cassandra has one (`ViewReplicasAttempted`,
//! `ViewReplicasSuccess`, `ViewPendingMutations`, `ViewWriteLatency`; per base table there,
//! per node here).
//!
//! The seeded simulation has no clock: there, time is counted in steps (one delivery, timer,
//! crash or restart each). The timed simulation (`timed.rs`) sets the clock to virtual time
//! before every step, and ages and latencies are then in virtual milliseconds. Every
//! printed figure names its unit.

use mv_spec::{BatchId, NodeId};
use std::collections::BTreeMap;
use std::fmt;

/// The host's counters for one run. They observe a run and never steer it: two clusters that
/// differ only in their metrics are the same cluster, so `Debug` (which tests use as a
/// cluster's identity) leaves them out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    /// The clock: steps taken so far, or virtual microseconds once `set_time` is called.
    step: u64,
    /// Whether the clock is virtual time.
    timed: bool,
    /// Per base replica: view mutations sent to a remote paired view replica under a batch,
    /// each (batch, target) counted once however often it is resent.
    attempted: BTreeMap<NodeId, u64>,
    /// Per base replica: view mutations whose (batch, target) was acknowledged.
    succeeded: BTreeMap<NodeId, u64>,
    /// (origin, batch, target) sent and not acknowledged: mutation count and first send step.
    in_flight: BTreeMap<(BatchId, NodeId), (u64, u64)>,
    /// Local batchlog entries held, with the step that wrote each.
    batchlog: BTreeMap<BatchId, u64>,
    /// Steps from a (batch, target)'s first send to its acknowledgement.
    latencies: Vec<u64>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics { .. }")
    }
}

impl Metrics {
    /// One more step was taken.
    pub(crate) fn tick(&mut self) {
        if !self.timed {
            self.step += 1;
        }
    }

    /// From now on the clock is virtual time: `us` microseconds.
    pub(crate) fn set_time(&mut self, us: u64) {
        self.timed = true;
        self.step = us;
    }

    /// A duration on the clock, with its unit.
    fn show(&self, d: u64) -> String {
        if self.timed {
            format!("{:.3} ms", d as f64 / 1000.0)
        } else {
            format!("{d} steps")
        }
    }

    /// `origin` sent `mutations` view mutations of `batch` to `target` (an original view
    /// write or a hint).
    pub(crate) fn sent(&mut self, origin: NodeId, batch: BatchId, target: NodeId, mutations: usize) {
        let step = self.step;
        if let std::collections::btree_map::Entry::Vacant(e) = self.in_flight.entry((batch, target)) {
            e.insert((mutations as u64, step));
            *self.attempted.entry(origin).or_default() += mutations as u64;
        }
    }

    /// `origin` took `target`'s acknowledgement of `batch`.
    pub(crate) fn acked(&mut self, origin: NodeId, batch: BatchId, target: NodeId) {
        if let Some((n, at)) = self.in_flight.remove(&(batch, target)) {
            *self.succeeded.entry(origin).or_default() += n;
            self.latencies.push(self.step - at);
        }
    }

    /// A local batchlog entry was written or removed.
    pub(crate) fn batchlog(&mut self, batch: BatchId, written: bool) {
        if written {
            self.batchlog.insert(batch, self.step);
        } else {
            self.batchlog.remove(&batch);
        }
    }

    /// A node lost its data: what it had sent and logged is gone with it.
    pub(crate) fn forget(&mut self, node: NodeId) {
        self.batchlog.retain(|b, _| b.origin != node);
        self.in_flight.retain(|(b, _), _| b.origin != node);
    }

    /// `ViewPendingMutations` of `node`: attempted minus acknowledged.
    pub fn pending(&self, node: NodeId) -> u64 {
        self.attempted.get(&node).copied().unwrap_or(0) - self.succeeded.get(&node).copied().unwrap_or(0)
    }

    /// The age, in steps, of `node`'s oldest local batchlog entry, if it holds one.
    pub fn oldest_batchlog_age(&self, node: NodeId) -> Option<u64> {
        self.batchlog
            .iter()
            .filter(|(b, _)| b.origin == node)
            .map(|(_, &at)| self.step - at)
            .max()
    }

    /// `ViewWriteLatency` in steps, as (p50, p99, max) over every acknowledged view write.
    pub fn latency(&self) -> Option<(u64, u64, u64)> {
        let mut l = self.latencies.clone();
        if l.is_empty() {
            return None;
        }
        l.sort_unstable();
        let at = |q: usize| l[(l.len() - 1) * q / 100];
        Some((at(50), at(99), l[l.len() - 1]))
    }

    /// A report for `nodes` nodes, one line each, plus the latency line.
    pub fn report(&self, nodes: u8, hints: &dyn Fn(NodeId) -> Vec<(NodeId, usize)>) -> Report<'_> {
        Report {
            metrics: self,
            nodes,
            hints: (0..nodes).map(|n| hints(NodeId(n))).collect(),
        }
    }
}

/// The metrics in words, for `mvcheck impl-sim`.
pub struct Report<'a> {
    metrics: &'a Metrics,
    nodes: u8,
    hints: Vec<Vec<(NodeId, usize)>>,
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.metrics;
        writeln!(
            f,
            "metrics ({}):",
            if m.timed {
                "virtual time"
            } else {
                "time in steps: this simulation has no clock"
            }
        )?;
        for n in 0..self.nodes {
            let id = NodeId(n);
            let age = m.oldest_batchlog_age(id).map_or("-".to_string(), |a| m.show(a));
            let hints: Vec<String> = self.hints[n as usize].iter().map(|(t, k)| format!("{t}:{k}")).collect();
            writeln!(
                f,
                "  {id}: ViewReplicasAttempted={} ViewReplicasSuccess={} ViewPendingMutations={} oldest-batchlog-entry-age={age} hints-pending=[{}]",
                m.attempted.get(&id).copied().unwrap_or(0),
                m.succeeded.get(&id).copied().unwrap_or(0),
                m.pending(id),
                hints.join(" ")
            )?;
        }
        match m.latency() {
            Some((p50, p99, max)) => write!(
                f,
                "  ViewWriteLatency: p50={} p99={} max={}",
                m.show(p50),
                m.show(p99),
                m.show(max)
            ),
            None => write!(f, "  ViewWriteLatency: no view write was acknowledged"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(origin: u8, seq: u8) -> BatchId {
        BatchId {
            origin: NodeId(origin),
            seq,
        }
    }

    #[test]
    fn pending_is_attempted_minus_acknowledged_and_resends_count_once() {
        let mut m = Metrics::default();
        m.sent(NodeId(0), b(0, 0), NodeId(1), 2);
        m.tick();
        m.sent(NodeId(0), b(0, 0), NodeId(1), 2); // a hint resends the same batch
        m.sent(NodeId(0), b(0, 1), NodeId(2), 1);
        assert_eq!(m.pending(NodeId(0)), 3);
        m.tick();
        m.tick();
        m.acked(NodeId(0), b(0, 0), NodeId(1));
        m.acked(NodeId(0), b(0, 0), NodeId(1)); // a duplicate ack counts nothing
        assert_eq!(m.pending(NodeId(0)), 1);
        assert_eq!(m.latency(), Some((3, 3, 3)));
    }

    #[test]
    fn batchlog_age_is_that_of_the_oldest_entry_held() {
        let mut m = Metrics::default();
        m.batchlog(b(0, 0), true);
        m.tick();
        m.batchlog(b(0, 1), true);
        m.tick();
        assert_eq!(m.oldest_batchlog_age(NodeId(0)), Some(2));
        m.batchlog(b(0, 0), false);
        assert_eq!(m.oldest_batchlog_age(NodeId(0)), Some(1));
        m.forget(NodeId(0));
        assert_eq!(m.oldest_batchlog_age(NodeId(0)), None);
        assert_eq!(m.oldest_batchlog_age(NodeId(1)), None);
    }
}
