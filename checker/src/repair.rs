//! `mvcheck repair`: mend a view in place, without dropping it. The view repair of
//! `specs/protocol.md` (rules R6 to R9), run by the reference implementation on a seeded
//! simulated cluster, at the point of the run `mvcheck verify` with the same flags checks.
//!
//! The cluster first settles: the write path finishes what it started, with no fault, so
//! that what is left out of sync is what no message in flight will fix. Each partition
//! whose view disagrees with its base is then repaired from its first base replica, the
//! repair's writes are delivered, and the view-consistency check runs again. `--dry-run`
//! lists the writes instead, with their timestamps, and changes nothing.
//!
//! The repair covers every partition the workload writes, whatever `--view-repairs` allowed
//! the simulated run itself (that budget bounds what a search explores, not an operator).
//!
//! Exit codes: 0 in sync after the repair (or nothing to repair); 12 still out of sync; 3
//! the cluster does not settle within the step limit; 2 bad flags.

use crate::cli::RepairArgs;
use crate::{Exit, Failure};
use mv_impl::sim::Cluster;
use mv_spec::trace::Step;
use mv_spec::verify::classify;
use mv_spec::{Statement, WriteId};

/// The most steps settling may take: far more than any configuration mvcheck accepts needs.
const SETTLE_LIMIT: u64 = 100_000;

/// Runs `mvcheck repair`.
pub fn repair(args: &RepairArgs) -> Result<Exit, Failure> {
    let (what, mut cluster) = crate::verify::simulate(&args.model, &args.sim)?;
    println!("mvcheck repair: {what}");
    let settled = match settle(&mut cluster) {
        Ok(n) => n,
        Err(why) => {
            println!("verdict: NOT SETTLED: {why}; no repair was run");
            return Ok(Exit::Inconclusive);
        }
    };
    println!("settled: {settled} more steps of the write path, no faults");
    // The operator's repair covers every partition, whatever `--view-repairs` allowed the
    // run itself: that budget bounds what a search explores.
    let keys: Vec<mv_spec::Key> = cluster.config().workload.keys(cluster.config().ring.nodes);
    cluster
        .allow_view_repairs(keys.len() as u8)
        .map_err(|e| Failure::Usage(format!("cannot repair {} partitions: {e}", keys.len())))?;
    let mut repaired = 0;
    for &k in &keys {
        let plan = cluster.view_repair_plan(k).map_err(Failure::Internal)?;
        if plan.is_empty() {
            println!("k={k}: in sync, nothing to write");
            continue;
        }
        println!(
            "k={k}: view repair {} from {}{}",
            plan.repair,
            plan.node,
            if args.dry_run { " (dry run: would write)" } else { "" }
        );
        // One line per statement: every base replica gets the same cells in the same step.
        let mut r8: Vec<(WriteId, Statement, Vec<String>)> = Vec::new();
        for &(r, write, stmt) in &plan.base_writes {
            match r8.last_mut() {
                Some((w, s, rs)) if *w == write && *s == stmt => rs.push(r.to_string()),
                _ => r8.push((write, stmt, vec![r.to_string()])),
            }
        }
        for (write, stmt, replicas) in r8 {
            println!("  R8 base cells {write} into {}: {stmt}", replicas.join(", "));
        }
        for (r, m) in &plan.view_mutations {
            println!("  R9 view write to {r}: {m}");
        }
        if args.dry_run {
            continue;
        }
        if let Some(why) = cluster.view_repair_blocked(k) {
            return Err(Failure::Internal(format!(
                "the view repair of k={k} cannot run on a settled cluster: {why}"
            )));
        }
        let node = plan.node.to_string();
        cluster
            .apply(&Step::ViewRepair { node, key: k })
            .map_err(|e| Failure::Internal(format!("the view repair of k={k} failed: {e}")))?;
        repaired += 1;
        // The next partition's repair runs between messages (R6): let this one's land.
        match settle(&mut cluster) {
            Ok(more) => println!("  delivered in {more} steps"),
            Err(why) => {
                println!("verdict: NOT SETTLED after the repair of k={k}: {why}");
                return Ok(Exit::Inconclusive);
            }
        }
    }
    if args.dry_run {
        println!("dry run: nothing was written");
        return Ok(
            if keys
                .iter()
                .all(|&k| cluster.view_repair_plan(k).is_ok_and(|p| p.is_empty()))
            {
                Exit::Ok
            } else {
                Exit::Violation
            },
        );
    }
    let obs = cluster.observe();
    let findings = classify(&obs);
    let what = format!("after {repaired} view repair{}", if repaired == 1 { "" } else { "s" });
    let exit = if findings.is_empty() { Exit::Ok } else { Exit::Violation };
    crate::verify::print_human(&what, &obs, &findings, exit);
    if exit != Exit::Ok {
        println!("the repair did not mend every row: see specs/protocol.md, \"View repair\", what this leaves open");
    }
    Ok(exit)
}

/// Runs the write path to a settled state with no fault and no repair, taking the first
/// enabled step each time; the number of steps taken, or why it could not settle.
fn settle(c: &mut Cluster) -> Result<u64, String> {
    let mut n = 0;
    while !c.settled() {
        if n == SETTLE_LIMIT {
            return Err(format!("the cluster did not settle within {SETTLE_LIMIT} steps"));
        }
        let step = c
            .enabled_steps()
            .into_iter()
            .find(|s| matches!(s, Step::Deliver { .. } | Step::Timeout { .. } | Step::Recover { .. }))
            .ok_or("only a fault or a repair can move the cluster")?;
        c.apply(&step).map_err(|e| format!("settling: {step}: {e}"))?;
        n += 1;
    }
    Ok(n)
}
