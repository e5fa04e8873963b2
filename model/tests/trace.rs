//! Trace validation, tested with traces the model itself writes (`trace::record`): valid
//! traces pass, and a changed observation, a removed event, a left-over event or an unknown
//! actor is rejected at the right line with the right explanation.

use mv_model::trace::{random_run, record, validate, validate_complete, Options, Reason};
use mv_model::{Action, Expected, MvModel, MvModelCfg, Variant};
use mv_spec::obs::Outcome;
use mv_spec::trace::{self, After, Step, TraceHeader, TraceLine};
use mv_spec::{Cell, Msg};
use stateright::actor::ActorModelAction;
use stateright::{Checker, Model};

const STRICT: Options = Options { partial: None };

/// A configuration with every fault: crashes, data loss and message loss.
/// Three nodes at RF 3 with two concurrent writes: base replicas that can diverge, and every
/// kind of fault.
fn faulty() -> MvModelCfg {
    let mut cfg = MvModelCfg::for_variant(Variant::Cassandra40);
    cfg.ring.nodes = 3;
    cfg.ring.rf = 3;
    cfg.workload = mv_model::Workload::Concurrent { writes: 2, keys: 1 };
    cfg.crashes = 2;
    cfg.data_loss = 1;
    cfg.lossy = true;
    cfg
}

fn trace_of(cfg: MvModelCfg, seed: u64) -> (MvModel, TraceHeader, Vec<TraceLine>) {
    let m = cfg.into_model();
    let run = random_run(&m, seed, 400);
    let (h, lines) = record(&m, &run, Some(seed)).expect("a model run records");
    (m, h, lines)
}

/// The first run, by seed from `from`, whose trace satisfies `pred`: tests say what their run
/// must contain rather than pin a seed (a change of the model reshuffles every seed's run).
fn trace_where(
    cfg: &MvModelCfg,
    from: u64,
    pred: impl Fn(&[TraceLine]) -> bool,
) -> (MvModel, TraceHeader, Vec<TraceLine>) {
    (from..from + 500)
        .map(|seed| trace_of(cfg.clone(), seed))
        .find(|(_, _, lines)| pred(lines))
        .expect("some run of 500 has what the test needs")
}

fn delivers_view_write(lines: &[TraceLine]) -> bool {
    lines.iter().any(|l| {
        matches!(
            &l.step,
            Step::Deliver {
                msg: Msg::ViewWrite { .. },
                ..
            }
        )
    })
}

fn rejected(h: &TraceHeader, lines: &[TraceLine], opts: &Options) -> mv_model::trace::Divergence {
    validate(h, lines, opts).expect_err("the trace must be rejected")
}

#[test]
fn random_runs_of_every_variant_validate() {
    let mut cfgs: Vec<(MvModelCfg, bool)> = Variant::ALL
        .into_iter()
        .map(|v| (MvModelCfg::for_variant(v), true))
        .collect();
    cfgs.push((faulty(), false));
    let mut kinds = std::collections::BTreeSet::new();
    for (cfg, default) in cfgs {
        let name = cfg.variant.name();
        for seed in 0..12 {
            let (_, h, lines) = trace_of(cfg.clone(), seed);
            // A random run stops before its cap only when the model has nothing left to
            // do, which must be a quiescent state.
            let ended = lines.len() < 400;
            let v = validate(&h, &lines, &STRICT).unwrap_or_else(|d| panic!("{name} seed {seed}: {d}"));
            assert_eq!(
                (v.events, v.hidden, v.peak_frontier, v.quiescent),
                (lines.len(), 0, 1, ended),
                "{name} seed {seed}"
            );
            // At a default configuration, a run breaks only what its variant is expected to
            // break there. (Data loss on a lossy network, in the faulty one, is beyond what
            // the write path alone repairs: `specs/protocol.md`, "Known weaknesses".)
            for (p, _) in v.violations.iter().filter(|_| default) {
                let kind = mv_spec::props::property(p).unwrap().kind;
                assert!(
                    !cfg.variant.is_correct() && cfg.variant.expected(p, kind) == Expected::Violated,
                    "{name} seed {seed}: {p} violated"
                );
            }
            // The text form carries everything validation needs.
            let t = trace::read(&trace::to_ndjson(&h, &lines)).unwrap();
            assert!(validate(&t.header, &t.lines, &STRICT).is_ok(), "{name} seed {seed}");
            kinds.extend(lines.iter().map(|l| l.step.kind()));
        }
    }
    let all = [
        "Crash",
        "DataLoss",
        "Deliver",
        "Drop",
        "Recover",
        "Repair",
        "Timeout",
        "ViewRepair",
    ];
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        all,
        "every kind of step is exercised"
    );
}

/// Every broken variant's counterexample validates on its own model, and diverges from the
/// correct model's: validation tells the designs apart, which is what lets it catch an
/// implementation that has one of these bugs. A3 (`non-strict-liveness`) and A17
/// (`limit-counts-expired`) change only how stored view rows *read*: the steps and the stored
/// rows are the same, and what tells the designs apart is each node's observed LIMIT 1 reads.
#[test]
fn counterexamples_of_broken_variants_validate_only_on_their_own_model() {
    for v in Variant::ALL.into_iter().filter(|v| !v.is_correct()) {
        let c = MvModelCfg::for_variant(v).into_model().checker().spawn_bfs().join();
        let m = c.model();
        let prop = v.anomaly_property().expect("a broken variant names its anomaly");
        let path = c.discovery(prop).expect("the anomaly is found");
        let (mut h, lines) = record(m, &path.into_actions(), None).unwrap();
        assert!(validate(&h, &lines, &STRICT).is_ok(), "{}", v.name());
        h.config.variant = Variant::Cassandra40.name().to_string();
        h.variant = h.config.variant.clone();
        let d = validate(&h, &lines, &STRICT).expect_err(v.name());
        assert!(
            matches!(d.reason, Reason::Observation { .. } | Reason::NotEnabled { .. }),
            "{}: {d}",
            v.name()
        );
    }
}

fn first_node_line(lines: &[TraceLine], pred: impl Fn(&mv_spec::obs::NodeObservation) -> bool) -> usize {
    lines
        .iter()
        .position(|l| matches!(&l.after, After::Node(o) if pred(o)))
        .expect("the run has such a line")
}

fn observation_diff(d: &mv_model::trace::Divergence) -> (String, Vec<String>) {
    match &d.reason {
        Reason::Observation { actor, diff } => (actor.clone(), diff.clone()),
        r => panic!("expected an observation divergence, got {r:?}"),
    }
}

/// Traces written before reads were observed have no `limit_reads`: they still validate,
/// while a line that has them is held to them (`mutations`, "limit read").
#[test]
fn lines_without_reads_still_validate() {
    let cfg = MvModelCfg::for_variant(Variant::LimitCountsExpired);
    let (_, h, mut lines) = trace_where(&cfg, 0, |ls| {
        ls.iter()
            .any(|l| matches!(&l.after, After::Node(o) if o.limit_reads.as_ref().is_some_and(|r| !r.is_empty())))
    });
    assert!(validate(&h, &lines, &STRICT).is_ok());
    for l in &mut lines {
        if let After::Node(o) = &mut l.after {
            o.limit_reads = None;
        }
    }
    assert!(validate(&h, &lines, &STRICT).is_ok());
    let json = trace::to_ndjson(&h, &lines);
    assert!(!json.contains("limit_reads"), "an absent field is left out");
}

#[test]
fn a_changed_base_value_is_rejected_at_its_step_with_a_diff() {
    let (_, h, mut lines) = trace_of(MvModelCfg::for_variant(Variant::Cassandra40), 3);
    let i = first_node_line(&lines, |o| o.base.values().any(|r| r.v.is_some()));
    let After::Node(o) = &mut lines[i].after else {
        unreachable!()
    };
    let (k, row) = o.base.iter_mut().find(|(_, r)| r.v.is_some()).unwrap();
    let k = *k;
    let ts = row.v.unwrap().ts;
    row.v = Some(Cell::new(ts, Some(9)));
    let d = rejected(&h, &lines, &STRICT);
    assert_eq!(d.index, i);
    assert_eq!(d.seq, lines[i].seq);
    assert_eq!(d.step.as_ref(), Some(&lines[i].step));
    let (actor, diff) = observation_diff(&d);
    assert_eq!(actor, lines[i].node);
    assert_eq!(diff.len(), 1, "{diff:?}");
    let want = format!("~ {actor} base k={k}: ");
    assert!(diff[0].starts_with(&want), "{diff:?}");
    let (expected, actual) = diff[0].split_once("  =>  ").expect("a ~ line has both sides");
    assert!(!expected.contains("=9") && actual.contains("v=9@"), "{diff:?}");
    let text = d.to_string();
    assert!(text.contains(&format!("longest matched prefix: {i} events")), "{text}");
}

#[test]
fn other_changed_observations_are_rejected_with_a_diff() {
    type Edit = fn(&mut After) -> bool;
    let cases: [(Edit, &str); 4] = [
        (
            |a| match a {
                After::Node(o) if o.up => {
                    o.up = false;
                    true
                }
                _ => false,
            },
            "status: up  =>  DOWN",
        ),
        (
            |a| match a {
                After::Node(o) => {
                    let b = mv_spec::BatchId {
                        origin: mv_spec::NodeId(2),
                        seq: 9,
                    };
                    o.batchlog.push(mv_spec::obs::BatchlogEntry {
                        batch: b,
                        pending: vec![],
                    });
                    true
                }
                _ => false,
            },
            "+ n",
        ),
        (
            |a| match a {
                After::Node(o) if !o.view.is_empty() => {
                    o.view.clear();
                    true
                }
                _ => false,
            },
            "- n",
        ),
        (
            |a| match a {
                After::Client(c) if c.writes[0].outcome == Outcome::Ok => {
                    c.writes[0].outcome = Outcome::Timeout;
                    true
                }
                _ => false,
            },
            "Ok [INSERT",
        ),
    ];
    for (edit, needle) in cases {
        // The first run, by seed, with a line the edit applies to.
        // Timeouts race acks, so under these faults an acknowledged write is rare: look at
        // fault-free runs of the same ring too.
        let quiet = MvModelCfg {
            crashes: 0,
            data_loss: 0,
            lossy: false,
            drops: mv_model::model::DEFAULT_DROPS,
            ..faulty()
        };
        let (h, bad, i) = (0..200)
            .flat_map(|seed| [(faulty(), seed), (quiet.clone(), seed)])
            .find_map(|(cfg, seed)| {
                let (_, h, mut lines) = trace_of(cfg, seed);
                let i = lines.iter_mut().position(|l| edit(&mut l.after))?;
                Some((h, lines, i))
            })
            .unwrap_or_else(|| panic!("no line can be edited for {needle:?}"));
        let d = rejected(&h, &bad, &STRICT);
        assert_eq!(d.index, i, "{d}");
        let (_, diff) = observation_diff(&d);
        assert!(diff.iter().any(|l| l.contains(needle)), "{needle:?} not in {diff:?}");
        // The same edit is caught when steps may be hidden, too.
        assert_eq!(rejected(&h, &bad, &Options { partial: Some(1) }).index, i);
    }
}

/// Applies `f` to a node's observation; false for a client's.
fn on_node(a: &mut After, f: impl FnOnce(&mut mv_spec::obs::NodeObservation) -> bool) -> bool {
    match a {
        After::Node(o) => f(o),
        After::Client(_) => false,
    }
}

/// Applies `f` to a client's observation; false for a node's.
fn on_client(a: &mut After, f: impl FnOnce(&mut mv_spec::trace::ClientObservation) -> bool) -> bool {
    match a {
        After::Client(c) => f(c),
        After::Node(_) => false,
    }
}

/// Adds `x` to an empty list, or takes the last entry off a full one.
fn toggle<T>(v: &mut Vec<T>, x: T) -> bool {
    if v.pop().is_none() {
        v.push(x);
    }
    true
}

type Mutation = (&'static str, fn(&mut After) -> bool);

/// Every way to change one observed value that this test knows; each returns whether it
/// applied to the observation it was given.
fn mutations() -> Vec<Mutation> {
    use mv_spec::obs::{BatchlogEntry, CommitLogEntry, CoordBatchlogEntry, Hint};
    use mv_spec::{BaseRow, BatchId, NodeId, Statement, ViewKey, ViewRow, WriteId};
    const BATCH: BatchId = BatchId {
        origin: NodeId(0),
        seq: 7,
    };
    vec![
        ("up", |a| {
            on_node(a, |o| {
                o.up = !o.up;
                true
            })
        }),
        ("extra base row", |a| {
            on_node(a, |o| o.base.insert(9, BaseRow::default()).is_none())
        }),
        ("base row gone", |a| on_node(a, |o| o.base.pop_first().is_some())),
        ("base marker", |a| {
            on_node(a, |o| {
                o.base.values_mut().next().is_some_and(|r| {
                    r.marker = Some(r.marker.map_or(0, |t| t.wrapping_add(1)));
                    true
                })
            })
        }),
        ("extra view row", |a| {
            on_node(a, |o| {
                o.view.insert(ViewKey { v: 9, k: 9 }, ViewRow::default()).is_none()
            })
        }),
        ("view row gone", |a| on_node(a, |o| o.view.pop_last().is_some())),
        ("view deletion", |a| {
            on_node(a, |o| {
                o.view.values_mut().next().is_some_and(|r| {
                    r.deletion = Some(r.deletion.map_or(0, |t| t.wrapping_add(1)));
                    true
                })
            })
        }),
        ("batchlog", |a| {
            on_node(a, |o| {
                toggle(
                    &mut o.batchlog,
                    BatchlogEntry {
                        batch: BATCH,
                        pending: vec![],
                    },
                )
            })
        }),
        ("hints", |a| {
            on_node(a, |o| {
                toggle(
                    &mut o.hints,
                    Hint {
                        target: NodeId(1),
                        batch: BATCH,
                        mutations: vec![],
                    },
                )
            })
        }),
        ("commitlog", |a| {
            on_node(a, |o| {
                toggle(
                    &mut o.commitlog,
                    CommitLogEntry {
                        write: WriteId(1),
                        stmt: Statement::delete(0, 1),
                        reply_to: NodeId(0),
                    },
                )
            })
        }),
        ("coord_batchlog", |a| {
            on_node(a, |o| {
                toggle(
                    &mut o.coord_batchlog,
                    CoordBatchlogEntry {
                        write: WriteId(1),
                        stmt: Statement::delete(0, 1),
                        coordinator: NodeId(0),
                        pending: vec![],
                    },
                )
            })
        }),
        // The contents of durable log entries, not only their ids.
        ("batchlog mutation gone", |a| {
            on_node(a, |o| {
                o.batchlog
                    .iter_mut()
                    .flat_map(|e| e.pending.iter_mut())
                    .next()
                    .is_some_and(|(_, ms)| ms.pop().is_some())
            })
        }),
        ("hint mutation changed", |a| {
            on_node(a, |o| {
                o.hints.first_mut().is_some_and(|h| {
                    h.mutations.first_mut().is_some_and(|m| {
                        m.key.v = m.key.v.wrapping_add(1);
                        true
                    })
                })
            })
        }),
        ("limit read", |a| {
            on_node(a, |o| {
                o.limit_reads.as_mut().and_then(|r| r.first_mut()).is_some_and(|r| {
                    r.k = if r.k.is_some() { None } else { Some(9) };
                    true
                })
            })
        }),
        ("commitlog reply_to", |a| {
            on_node(a, |o| {
                o.commitlog.first_mut().is_some_and(|e| {
                    e.reply_to = NodeId(e.reply_to.0.wrapping_add(1));
                    true
                })
            })
        }),
        ("commitlog statement", |a| {
            on_node(a, |o| {
                o.commitlog.first_mut().is_some_and(|e| {
                    e.stmt.ts = e.stmt.ts.wrapping_add(1);
                    true
                })
            })
        }),
        ("coord_batchlog pending", |a| {
            on_node(a, |o| {
                o.coord_batchlog.first_mut().is_some_and(|e| {
                    if e.pending.pop().is_none() {
                        e.pending.push(NodeId(9));
                    }
                    true
                })
            })
        }),
        ("outcome", |a| {
            on_client(a, |c| {
                let w = &mut c.writes[0];
                w.outcome = if w.outcome == Outcome::Ok {
                    Outcome::Timeout
                } else {
                    Outcome::Ok
                };
                true
            })
        }),
        ("statement", |a| {
            on_client(a, |c| {
                c.writes[0].stmt.ts = c.writes[0].stmt.ts.wrapping_add(1);
                true
            })
        }),
        ("a write too many", |a| {
            on_client(a, |c| {
                c.writes.push(c.writes[0]);
                true
            })
        }),
        ("observation of the other kind", |a| {
            *a = match a {
                After::Node(_) => After::Client(mv_spec::trace::ClientObservation { writes: vec![] }),
                After::Client(_) => After::Node(Default::default()),
            };
            true
        }),
    ]
}

/// The model's state after each line is determined, and observations are compared exactly:
/// any single change to any line's `after` is rejected at that line, with a diff.
#[test]
fn every_single_changed_value_is_rejected_at_its_line() {
    let mut checked = std::collections::BTreeMap::new();
    let runs = [
        (MvModelCfg::for_variant(Variant::Cassandra40), 1),
        (faulty(), 2),
        (faulty(), 3),
    ]
    .into_iter()
    // Coordinator batchlog entries, and a remote view write's batchlog entry and hint: runs
    // by seed until every mutation has found a line it applies to.
    .chain((4..40).map(|seed| (MvModelCfg::for_variant(Variant::Cassandra40Cbl), seed)));
    for (cfg, seed) in runs {
        if seed >= 4 && checked.len() == mutations().len() {
            break;
        }
        let (_, h, lines) = trace_of(cfg, seed);
        for i in 0..lines.len() {
            for (name, edit) in mutations() {
                let mut bad = lines.clone();
                if !edit(&mut bad[i].after) {
                    continue;
                }
                let d = rejected(&h, &bad, &STRICT);
                assert_eq!(d.index, i, "{name} at line {i}: {d}");
                let (actor, diff) = observation_diff(&d);
                assert_eq!(actor, lines[i].node);
                assert!(!diff.is_empty());
                *checked.entry(name).or_insert(0) += 1;
            }
        }
    }
    assert_eq!(
        checked.len(),
        mutations().len(),
        "every mutation applied somewhere: {checked:?}"
    );
}

#[test]
fn entries_out_of_order_are_named() {
    // Without the partition lock, one node holds two commit-log entries at once.
    for seed in 0..40 {
        let (_, h, mut lines) = trace_of(MvModelCfg::for_variant(Variant::NoPartitionLock), seed);
        let Some(i) = lines
            .iter()
            .position(|l| matches!(&l.after, After::Node(o) if o.commitlog.len() > 1))
        else {
            continue;
        };
        let After::Node(o) = &mut lines[i].after else {
            unreachable!()
        };
        o.commitlog.reverse();
        let d = rejected(&h, &lines, &STRICT);
        assert_eq!(d.index, i);
        let (_, diff) = observation_diff(&d);
        assert!(diff[0].contains("not in the documented order"), "{diff:?}");
        return;
    }
    panic!("no run held two commit-log entries at once");
}

/// Whether `a` delivers the coordinator its client's request.
fn is_request(l: &TraceLine) -> bool {
    matches!(
        &l.step,
        Step::Deliver {
            msg: Msg::Write { .. },
            ..
        }
    )
}

/// Numbers the lines 1.. again, as an emitter that lost a line without knowing would.
fn renumbered(mut lines: Vec<TraceLine>) -> Vec<TraceLine> {
    for (i, l) in lines.iter_mut().enumerate() {
        l.seq = i as u64 + 1;
    }
    lines
}

#[test]
fn a_removed_event_leaves_a_gap_that_strict_validation_names() {
    let (_, h, mut lines) = trace_where(&MvModelCfg::for_variant(Variant::Cassandra40), 6, |l| l.len() >= 8);
    lines.remove(4);
    let d = rejected(&h, &lines, &STRICT);
    assert_eq!((d.index, d.seq, d.reason.clone()), (4, 6, Reason::Missing { gap: 1 }));
    let text = d.to_string();
    assert!(
        text.contains("seq jumps from 4 to 6: 1 step(s) before this one were not recorded"),
        "{text}"
    );
    assert!(
        text.contains("longest matched prefix: 4 events (through seq 4)"),
        "{text}"
    );
}

#[test]
fn a_removed_event_is_rejected_even_when_seq_hides_it() {
    // Removing a client request takes away the messages it sends: the first line that
    // delivers one of them can no longer happen.
    let mut cfg = MvModelCfg::for_variant(Variant::Cassandra40);
    cfg.crashes = 0;
    for seed in 0..10 {
        let (_, h, lines) = trace_of(cfg.clone(), seed);
        for i in lines.iter().enumerate().filter(|(_, l)| is_request(l)).map(|x| x.0) {
            let Step::Deliver {
                msg: Msg::Write { write, .. },
                ..
            } = &lines[i].step
            else {
                unreachable!()
            };
            let consumer = lines[i + 1..]
                .iter()
                .position(
                    |l| matches!(&l.step, Step::Deliver { msg: Msg::BaseWrite { write: w, .. }, .. } if w == write),
                )
                .expect("a complete run delivers the base writes")
                + i;
            let mut cut = lines.clone();
            cut.remove(i);
            let cut = renumbered(cut);
            let d = rejected(&h, &cut, &STRICT);
            assert!(d.index >= i && d.index <= consumer, "seed {seed}, removed {i}: {d}");
            assert!(
                matches!(d.reason, Reason::NotEnabled { .. } | Reason::Observation { .. }),
                "{d}"
            );
            assert_eq!(d.last_matched_seq, d.index.checked_sub(1).map(|j| cut[j].seq));
        }
    }
}

#[test]
fn partial_validation_finds_unrecorded_steps() {
    let (_, h, lines) = trace_of(MvModelCfg::for_variant(Variant::Cassandra40), 11);
    // Every third line unrecorded.
    let gappy: Vec<TraceLine> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 1)
        .map(|(_, l)| l.clone())
        .collect();
    assert!(matches!(
        rejected(&h, &gappy, &STRICT).reason,
        Reason::Missing { gap: 1 }
    ));
    let v = validate(&h, &gappy, &Options { partial: Some(1) }).expect("one hidden step per gap suffices");
    // The validator finds *an* explanation, which may need fewer hidden steps than were cut:
    // a timer that races its ack can stand in for a step that was not recorded.
    assert_eq!(v.events, gappy.len());
    assert!(
        v.hidden >= 1 && v.events + v.hidden <= lines.len(),
        "{} hidden",
        v.hidden
    );
    // Larger gaps need a larger bound.
    let sparse: Vec<TraceLine> = lines.iter().skip(3).step_by(4).cloned().collect();
    assert!(validate(&h, &sparse, &Options { partial: Some(3) }).is_ok());
    let d = rejected(&h, &sparse, &Options { partial: Some(2) });
    assert_eq!((d.index, d.reason), (0, Reason::GapTooLarge { gap: 3, limit: 2 }));
    // A changed observation after a gap is still caught, at its line.
    let mut bad = gappy.clone();
    let i = bad
        .iter()
        .rposition(|l| matches!(&l.after, After::Node(o) if !o.base.is_empty()))
        .unwrap();
    let After::Node(o) = &mut bad[i].after else {
        unreachable!()
    };
    o.base.clear();
    assert_eq!(rejected(&h, &bad, &Options { partial: Some(1) }).index, i);
}

#[test]
fn a_duplicate_delivery_is_accepted_only_if_the_model_would_ignore_it() {
    // Positional pairing sends view writes to other nodes, which ack them.
    let mut cfg = MvModelCfg::for_variant(Variant::Cassandra40);
    cfg.ring.pairing = mv_spec::Pairing::Positional;
    // The first run, by seed, that delivers both a view write's ack and a client request.
    let delivers = |lines: &[TraceLine], pred: fn(&Msg) -> bool| {
        lines
            .iter()
            .any(|l| matches!(&l.step, Step::Deliver { msg, .. } if pred(msg)))
    };
    let is_ack = |m: &Msg| matches!(m, Msg::ViewWriteAck { .. });
    let is_request = |m: &Msg| matches!(m, Msg::Write { .. });
    let (h, lines) = (0..200)
        .map(|seed| trace_of(cfg.clone(), seed))
        .map(|(_, h, lines)| (h, lines))
        .find(|(_, lines)| delivers(lines, is_ack) && delivers(lines, is_request))
        .expect("some run delivers a view write's ack");
    let dup_of = |pred: fn(&Msg) -> bool| {
        let i = lines
            .iter()
            .position(|l| matches!(&l.step, Step::Deliver { msg, .. } if pred(msg)))
            .expect("the run delivers such a message");
        let mut with = lines.clone();
        with.insert(i + 1, lines[i].clone());
        (i + 1, renumbered(with))
    };
    // A second ack changes nothing: the batchlog entry it acknowledges is already gone.
    let (_, acked_twice) = dup_of(is_ack);
    assert!(validate(&h, &acked_twice, &STRICT).is_ok());
    // A second client request would make the coordinator forward the write again.
    let (i, requested_twice) = dup_of(is_request);
    let d = rejected(&h, &requested_twice, &STRICT);
    assert_eq!((d.index, d.reason.clone()), (i, Reason::Redelivered), "{d}");
    assert!(d.to_string().contains("delivers each message once"), "{d}");
}

#[test]
fn left_over_events_are_rejected() {
    let m = MvModelCfg::for_variant(Variant::Cassandra40).into_model();
    let run = random_run(&m, 2, 10_000);
    let (h, mut lines) = record(&m, &run, None).unwrap();
    // The run is complete: nothing is left for the model to do, not even a timer.
    let n = lines.len();
    let step = Step::Timeout {
        node: "n0".into(),
        timer: mv_spec::Timer::ApplyBase(mv_spec::WriteId(1)),
    };
    lines.push(TraceLine {
        seq: lines[n - 1].seq + 1,
        node: "n0".into(),
        step,
        after: lines.iter().rev().find(|l| l.node == "n0").unwrap().after.clone(),
    });
    let d = rejected(&h, &lines, &STRICT);
    assert_eq!(d.index, n);
    assert_eq!(d.reason, Reason::NotEnabled { enabled: vec![] });
    let text = d.to_string();
    assert!(text.contains("nothing (the model run is over)"), "{text}");
    assert!(text.contains(&format!("1 of {} events not matched", n + 1)), "{text}");
    // Claiming unrecorded steps after the end is no better.
    lines[n].seq += 2;
    let d = rejected(&h, &lines, &Options { partial: Some(3) });
    assert_eq!((d.index, d.reason.clone()), (n, Reason::GapUnfillable { gap: 2 }));
    assert!(
        d.to_string().contains("no model run takes 2 more step(s) from here"),
        "{d}"
    );
}

#[test]
fn a_run_that_ended_must_leave_the_model_quiescent() {
    let mut cfg = MvModelCfg::for_variant(Variant::Cassandra40);
    cfg.ring.pairing = mv_spec::Pairing::Positional;
    let (m, _, lines) = trace_where(&cfg, 5, |lines| {
        let m = cfg.clone().into_model();
        delivers_view_write(lines) && validate_complete(&m, lines, &STRICT).is_ok_and(|v| v.quiescent)
    });
    assert!(validate_complete(&m, &lines, &STRICT).unwrap().quiescent);
    // Cut the run where a view write is still on its way: as a prefix it is fine, as a
    // whole run it leaves the model with work the trace never shows.
    let cut = lines
        .iter()
        .rposition(|l| {
            matches!(
                &l.step,
                Step::Deliver {
                    msg: Msg::ViewWrite { .. },
                    ..
                }
            )
        })
        .expect("positional pairing sends view writes");
    let prefix = &lines[..cut];
    let v = validate(&h_of(&m), prefix, &STRICT).unwrap();
    assert!(!v.quiescent);
    let d = validate_complete(&m, prefix, &STRICT).expect_err("work is left");
    assert_eq!((d.index, d.step.clone()), (cut, None));
    let Reason::Incomplete { pending } = &d.reason else {
        panic!("{d}")
    };
    assert!(
        pending
            .iter()
            .any(|p| p.starts_with("can still take: ") && p.contains("ViewWrite")),
        "{pending:?}"
    );
    let text = d.to_string();
    assert!(
        text.starts_with(&format!("end of trace, after event {cut} (seq {cut})")),
        "{text}"
    );
    assert!(
        text.contains("the run ended, but the model still has work to do"),
        "{text}"
    );
}

fn h_of(m: &MvModel) -> TraceHeader {
    mv_model::trace::header(m, None)
}

#[test]
fn an_unknown_actor_is_named() {
    let (_, h, mut lines) = trace_of(MvModelCfg::for_variant(Variant::Cassandra40), 1);
    lines[0].step = Step::Crash { node: "n9".into() };
    lines[0].node = "n9".into();
    let d = rejected(&h, &lines, &STRICT);
    assert_eq!(d.index, 0);
    assert!(matches!(&d.reason, Reason::Unknown(e) if e.contains("\"n9\"")), "{d}");
    assert!(d.to_string().contains("longest matched prefix: none"), "{d}");
}

#[test]
fn a_header_the_model_cannot_build_is_a_config_divergence() {
    let (_, mut h, lines) = trace_of(MvModelCfg::for_variant(Variant::Cassandra40), 1);
    h.config.rf = 7;
    assert!(matches!(rejected(&h, &lines, &STRICT).reason, Reason::Config(e) if e.contains("--rf")));
}

/// Finds a state on a run where delivering some message to an up node changes nothing (a
/// base write waiting for the partition lock), and returns the run up to it and that action.
fn no_op_delivery(m: &MvModel) -> (Vec<Action>, Action) {
    for seed in 0..50 {
        let run = random_run(m, seed, 400);
        let mut s = m.init_states().remove(0);
        for (i, a) in run.iter().enumerate() {
            let mut enabled = Vec::new();
            m.actions(&s, &mut enabled);
            let noop = enabled.into_iter().find(|e| match e {
                ActorModelAction::Deliver { dst, .. } => {
                    !s.crashed[usize::from(*dst)] && m.next_state(&s, e.clone()).is_none()
                }
                _ => false,
            });
            if let Some(noop) = noop {
                return (run[..i].to_vec(), noop);
            }
            s = m.next_state(&s, a.clone()).unwrap();
        }
    }
    panic!("no run meets a delivery that changes nothing");
}

#[test]
fn a_delivery_the_model_ignores_is_a_step_that_changes_nothing() {
    let m = MvModelCfg::for_variant(Variant::Cassandra40).into_model();
    let (prefix, noop) = no_op_delivery(&m);
    let mut actions = prefix.clone();
    actions.push(noop);
    let (h, lines) = record(&m, &actions, None).unwrap();
    assert!(validate(&h, &lines, &STRICT).is_ok());
    // Its observation is the one before it: same actor, unchanged.
    let last = lines.last().unwrap();
    if let Some(before) = lines[..lines.len() - 1].iter().rev().find(|l| l.node == last.node) {
        assert_eq!(before.after, last.after);
    }
    // An implementation that changes state on it diverges.
    let mut bad = lines.clone();
    let After::Node(o) = &mut bad.last_mut().unwrap().after else {
        panic!("deliveries that wait are to nodes")
    };
    o.commitlog.clear();
    o.commitlog.push(mv_spec::obs::CommitLogEntry {
        write: mv_spec::WriteId(9),
        stmt: mv_spec::Statement::delete(0, 9),
        reply_to: mv_spec::NodeId(0),
    });
    assert_eq!(rejected(&h, &bad, &STRICT).index, lines.len() - 1);
}

#[test]
fn a_delivery_to_a_crashed_node_is_not_a_step() {
    let mut cfg = MvModelCfg::for_variant(Variant::Cassandra40);
    cfg.crashes = 1;
    let m = cfg.into_model();
    // Crash the first request's coordinator before it receives the request.
    let s = m.init_states().remove(0);
    let mut enabled = Vec::new();
    m.actions(&s, &mut enabled);
    let request = enabled
        .iter()
        .find(|a| {
            matches!(
                a,
                ActorModelAction::Deliver {
                    msg: Msg::Write { .. },
                    ..
                }
            )
        })
        .unwrap()
        .clone();
    let ActorModelAction::Deliver { dst, .. } = &request else {
        unreachable!()
    };
    let (h, lines) = record(&m, &[ActorModelAction::Crash(*dst)], None).unwrap();
    let mut with_delivery = lines.clone();
    let step = m.to_step(&request);
    with_delivery.push(TraceLine {
        seq: 2,
        node: step.actor().to_string(),
        after: lines[0].after.clone(),
        step,
    });
    let d = rejected(&h, &with_delivery, &STRICT);
    assert_eq!(d.index, 1);
    assert!(matches!(d.reason, Reason::NotEnabled { .. }), "{d}");
}
