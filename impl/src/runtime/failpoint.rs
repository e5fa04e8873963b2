//! Failpoints: named places in the node's write path where a test makes the process abort,
//! so that recovery is exercised exactly there rather than wherever a SIGKILL happens to land.
//!
//! They are armed only through the environment (`MVCHECK_FAILPOINT=n1:after-commitlog`,
//! several separated by commas), which only tests set: a node started without it has none.
//! A failpoint fires once, in the first step that reaches it, and the process then aborts
//! (SIGABRT: no destructor runs, no buffer is flushed, as with kill -9). A restarted process
//! inherits whatever environment its restarter gives it, so `cluster restart` from a clean
//! environment comes back unarmed.

use mv_spec::rule::{Rule, RuleSet};

/// The environment variable that arms failpoints.
pub const ENV: &str = "MVCHECK_FAILPOINT";

/// Where in a step the process aborts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failpoint {
    /// B2's commit-log entry is durable; the step's messages have not left.
    AfterCommitlog,
    /// B6's local batchlog entry is durable; no view write (B7) has left.
    AfterBatchlogBeforeSend,
    /// The view writes (B7) have left; the base write (B8) has not been applied.
    AfterViewSendBeforeBaseApply,
    /// A coordinator's W3 is durable and one of its base writes has left, to the first other
    /// replica; the rest never leave. The replicas are left apart (known weakness (c)), which
    /// is what `cluster repair` (R4) is for.
    CoordinatorAfterOneBaseWrite,
}

impl Failpoint {
    pub const ALL: [Failpoint; 4] = [
        Failpoint::AfterCommitlog,
        Failpoint::AfterBatchlogBeforeSend,
        Failpoint::AfterViewSendBeforeBaseApply,
        Failpoint::CoordinatorAfterOneBaseWrite,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Failpoint::AfterCommitlog => "after-commitlog",
            Failpoint::AfterBatchlogBeforeSend => "after-batchlog-before-send",
            Failpoint::AfterViewSendBeforeBaseApply => "after-view-send-before-base-apply",
            Failpoint::CoordinatorAfterOneBaseWrite => "coordinator-after-one-base-write",
        }
    }

    /// Whether a step that fired `rules` reaches this failpoint once it is durable (before
    /// its sends).
    pub fn before_sends(self, rules: RuleSet) -> bool {
        match self {
            Failpoint::AfterCommitlog => rules.contains(Rule::B2),
            Failpoint::AfterBatchlogBeforeSend => rules.contains(Rule::B6),
            Failpoint::AfterViewSendBeforeBaseApply | Failpoint::CoordinatorAfterOneBaseWrite => false,
        }
    }

    /// Whether a step that fired `rules` reaches this failpoint once one message is out.
    pub fn after_one_send(self, rules: RuleSet) -> bool {
        self == Failpoint::CoordinatorAfterOneBaseWrite && rules.contains(Rule::W3)
    }

    /// Whether a step that fired `rules` reaches this failpoint once its messages are out.
    pub fn after_sends(self, rules: RuleSet) -> bool {
        self == Failpoint::AfterViewSendBeforeBaseApply && rules.contains(Rule::B7)
    }
}

/// The failpoints `spec` (the variable's value) arms on node `me`; an error names the entry
/// it cannot read.
pub fn armed(spec: &str, me: &str) -> Result<Vec<Failpoint>, String> {
    let mut out = Vec::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (node, name) = entry
            .split_once(':')
            .ok_or_else(|| format!("{ENV}: {entry:?} is not NODE:NAME"))?;
        let fp = Failpoint::ALL.into_iter().find(|f| f.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Failpoint::ALL.iter().map(|f| f.name()).collect();
            format!("{ENV}: no failpoint {name:?}; there are {}", names.join(", "))
        })?;
        if node == me {
            out.push(fp);
        }
    }
    Ok(out)
}

/// The environment variable that seeds a bug in a node process (`n1:ack-before-apply`,
/// several separated by commas), so that a test can show the cluster tests catch it. Only a
/// build with the `seeded-bugs` feature (the test build) honours it; any other refuses to
/// start with it set, rather than run a node that is not what the test thinks.
pub const BUG_ENV: &str = "MVCHECK_SEEDED_BUG";

/// The one bug only a runtime can have: the step's messages leave before its disk records
/// and trace line are durable (the order `host` keeps is commit, then send).
pub const SEND_BEFORE_COMMIT: &str = "send-before-commit";

/// The bugs `spec` (the variable's value) seeds in node `me`: the core's seeded bugs, and
/// whether the runtime sends before it commits.
pub fn seeded(spec: &str, me: &str) -> Result<(crate::node::SeededBugs, bool), String> {
    let mut bugs = crate::node::SeededBugs::default();
    let mut send_before_commit = false;
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (node, name) = entry
            .split_once(':')
            .ok_or_else(|| format!("{BUG_ENV}: {entry:?} is not NODE:NAME"))?;
        let known = name == SEND_BEFORE_COMMIT || core_bug(name)?.is_some();
        if !known {
            return Err(format!("{BUG_ENV}: no seeded bug {name:?}"));
        }
        if node != me {
            continue;
        }
        match core_bug(name)? {
            Some(b) => bugs = bugs.with(b),
            None => send_before_commit = true,
        }
    }
    Ok((bugs, send_before_commit))
}

#[cfg(feature = "seeded-bugs")]
fn core_bug(name: &str) -> Result<Option<crate::node::SeededBugs>, String> {
    Ok(crate::node::SeededBugs::named(name))
}

#[cfg(not(feature = "seeded-bugs"))]
fn core_bug(_: &str) -> Result<Option<crate::node::SeededBugs>, String> {
    Err(format!(
        "{BUG_ENV} is set, but this build has no seeded bugs (it is built without the seeded-bugs feature)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_nodes_entries_are_armed_and_bad_entries_are_named() {
        let spec = "n1:after-commitlog, n2:after-batchlog-before-send";
        assert_eq!(armed(spec, "n1").unwrap(), vec![Failpoint::AfterCommitlog]);
        assert_eq!(armed(spec, "n0").unwrap(), vec![]);
        assert_eq!(armed("", "n0").unwrap(), vec![]);
        let e = armed("n1:after-lunch", "n1").unwrap_err();
        assert!(e.contains("\"after-lunch\"") && e.contains("after-commitlog"), "{e}");
        let e = armed("after-commitlog", "n1").unwrap_err();
        assert!(e.contains("NODE:NAME"), "{e}");
    }

    #[test]
    fn seeded_bugs_are_armed_by_node_and_unknown_ones_named() {
        let (bugs, send_first) = seeded("n1:ack-before-apply, n2:send-before-commit", "n1").unwrap();
        assert!(bugs.ack_before_apply && !bugs.apply_base_before_batchlog && !send_first);
        let (bugs, send_first) = seeded("n1:ack-before-apply, n2:send-before-commit", "n2").unwrap();
        assert!(bugs == crate::node::SeededBugs::default() && send_first);
        let e = seeded("n0:forget-everything", "n1").unwrap_err();
        assert!(e.contains("\"forget-everything\""), "{e}");
    }

    #[test]
    fn each_failpoint_is_reached_by_its_own_rule_only() {
        let set = |r: Rule| {
            let mut s = RuleSet::default();
            s.insert(r);
            s
        };
        assert!(Failpoint::AfterCommitlog.before_sends(set(Rule::B2)));
        assert!(!Failpoint::AfterCommitlog.before_sends(set(Rule::B6)));
        assert!(Failpoint::AfterBatchlogBeforeSend.before_sends(set(Rule::B6)));
        assert!(!Failpoint::AfterBatchlogBeforeSend.after_sends(set(Rule::B6)));
        assert!(Failpoint::AfterViewSendBeforeBaseApply.after_sends(set(Rule::B7)));
        assert!(!Failpoint::AfterViewSendBeforeBaseApply.before_sends(set(Rule::B7)));
        assert!(!Failpoint::AfterViewSendBeforeBaseApply.after_sends(set(Rule::B8)));
    }
}
