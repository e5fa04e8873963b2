//! What a materialized view costs on one node, against the alternative the seeds describe:
//! the application denormalizing by hand, writing the same data into k+1 tables in one logged
//! batch.
//!
//! * `write/views/k`: one INSERT into a base table that has k views (k = 0, 1, 2, 5), each
//!   keyed by a different base regular column. The engine reads the base row before the write
//!   and derives every view's row from that one read (seed 003: "this cost is only paid once
//!   and does not depend on the number of views").
//! * `write/batch/k`: the same data as one logged batch into the base table and k tables
//!   keyed like the views (no views anywhere).
//! * `switch/views/k` and `switch/read+batch/k` (k = 1, 2, 5): every write changes the value of
//!   every view key column, so each view does SWITCH_ENTRY (a new view row, and the old one
//!   killed). The correct hand-written equivalent must know the old values: the client reads
//!   the base row, then sends one logged batch that deletes the k old rows and writes the k+1
//!   new ones (seed 003's "DELETE + INSERT per view").
//! * `read/base` and `read/view`: a SELECT of one row by its key, from the base, and from a
//!   view by the view's key.
//!
//! Every write overwrites a row that exists (the key space is written once before measuring).
//! In `write/*` only the columns outside the view keys change: the steady state of an
//! update-heavy table, where each view does UPDATE_EXISTING and the batch rewrites k+1 rows.
//! Statements are parsed once, outside the measurement: this measures the engine, not the
//! parser. Run with
//!
//! ```sh
//! cargo bench -p mv-impl --bench write_path
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mv_impl::cql::{self, ast::Stmt};
use mv_impl::engine::{Engine, EngineConfig, QueryResult, ViewRules};
use std::hint::black_box;
use std::time::Duration;

/// Distinct base rows written in turn; large enough that the partitions do not all sit in
/// cache lines, small enough to write once before measuring.
const KEYS: u32 = 4096;
/// The view counts the issue asks about.
const VIEW_COUNTS: [usize; 4] = [0, 1, 2, 5];
/// Start of the (manual, never advanced) clock.
const START_MICROS: i64 = 1_767_225_600_000_000;

fn engine() -> Engine {
    Engine::new(EngineConfig {
        rules: ViewRules::current(),
        now_micros: START_MICROS,
        ..Default::default()
    })
}

fn run(engine: &mut Engine, src: &str) {
    for (i, r) in engine.execute_script(src).into_iter().enumerate() {
        if let Err(e) = r {
            panic!("setup statement {} of {src:?} failed: {} {}", i + 1, e.kind, e.message);
        }
    }
}

fn parse(src: &str) -> Stmt {
    cql::parse_statement(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// The base table: a key, five columns that views may be keyed by, and a payload.
const BASE: &str = "CREATE TABLE base (id int PRIMARY KEY, v0 int, v1 int, v2 int, v3 int, v4 int, payload text)";

/// Row `id` in generation `gen`, into `table`. The view key columns v0..v4 depend on the id
/// and on `key_gen` (so that `write/*` keeps every view entry and `switch/*` moves them all);
/// the payload changes with `gen`.
fn insert_into(table: &str, id: u32, gen: u32, key_gen: u32) -> String {
    let v = |i: u32| id + i * 1_000_000 + key_gen * 100_000_000;
    format!(
        "INSERT INTO {table} (id, v0, v1, v2, v3, v4, payload) VALUES ({id}, {}, {}, {}, {}, {}, 'payload-{id}-{gen}')",
        v(1),
        v(2),
        v(3),
        v(4),
        v(5)
    )
}

fn insert_base(id: u32, gen: u32) -> String {
    insert_into("base", id, gen, 0)
}

/// A node with the base table and `k` views on it.
fn with_views(k: usize) -> Engine {
    let mut e = engine();
    run(&mut e, BASE);
    for i in 0..k {
        run(
            &mut e,
            &format!(
                "CREATE MATERIALIZED VIEW base_by_v{i} AS SELECT * FROM base \
                 WHERE v{i} IS NOT NULL AND id IS NOT NULL PRIMARY KEY (v{i}, id)"
            ),
        );
    }
    e
}

/// A node with the base table and `k` hand-made copies keyed like the views.
fn with_copies(k: usize) -> Engine {
    let mut e = engine();
    run(&mut e, BASE);
    for i in 0..k {
        run(
            &mut e,
            &format!(
                "CREATE TABLE base_by_v{i} (id int, v0 int, v1 int, v2 int, v3 int, v4 int, payload text, \
                 PRIMARY KEY (v{i}, id))"
            ),
        );
    }
    e
}

/// The hand-written denormalization of row `id`: one logged batch into k+1 tables.
fn batch(k: usize, id: u32, gen: u32) -> String {
    let mut src = String::from("BEGIN BATCH\n");
    src.push_str(&insert_base(id, gen));
    src.push_str(";\n");
    for i in 0..k {
        src.push_str(&insert_into(&format!("base_by_v{i}"), id, gen, 0));
        src.push_str(";\n");
    }
    src.push_str("APPLY BATCH");
    src
}

/// The hand-written key switch of row `id` from key generation `old` to `new`: the client's
/// read of the old values, and one logged batch deleting the k old rows and writing k+1.
fn read_and_switch_batch(k: usize, id: u32, old: u32, new: u32) -> (String, String) {
    let read = format!("SELECT v0, v1, v2, v3, v4 FROM base WHERE id = {id}");
    let mut src = String::from("BEGIN BATCH\n");
    src.push_str(&insert_into("base", id, new, new));
    src.push_str(";\n");
    for i in 0..k {
        let old_key = id + (i as u32 + 1) * 1_000_000 + old * 100_000_000;
        src.push_str(&format!(
            "DELETE FROM base_by_v{i} WHERE v{i} = {old_key} AND id = {id};\n"
        ));
        src.push_str(&insert_into(&format!("base_by_v{i}"), id, new, new));
        src.push_str(";\n");
    }
    src.push_str("APPLY BATCH");
    (read, src)
}

/// Executes `stmts` round-robin, one per iteration.
fn cycle(engine: &mut Engine, stmts: &[Stmt], next: &mut usize) {
    let stmt = &stmts[*next % stmts.len()];
    *next += 1;
    black_box(engine.execute(black_box(stmt)).expect("benchmark statement succeeds"));
}

fn writes(c: &mut Criterion) {
    let mut group = c.benchmark_group("write");
    group.throughput(Throughput::Elements(1));
    for k in VIEW_COUNTS {
        let mut e = with_views(k);
        for id in 0..KEYS {
            run(&mut e, &insert_base(id, 0));
        }
        let stmts: Vec<Stmt> = (0..KEYS).map(|id| parse(&insert_base(id, 1))).collect();
        let mut next = 0;
        group.bench_with_input(BenchmarkId::new("views", k), &k, |b, _| {
            b.iter(|| cycle(&mut e, &stmts, &mut next))
        });

        let mut e = with_copies(k);
        for id in 0..KEYS {
            run(&mut e, &batch(k, id, 0));
        }
        let stmts: Vec<Stmt> = (0..KEYS).map(|id| parse(&batch(k, id, 1))).collect();
        let mut next = 0;
        group.bench_with_input(BenchmarkId::new("batch", k), &k, |b, _| {
            b.iter(|| cycle(&mut e, &stmts, &mut next))
        });
    }
    group.finish();
}

/// Key generations alternate 1, 0, 1, 0... per pass over the keys, so every write switches.
fn switches(c: &mut Criterion) {
    let mut group = c.benchmark_group("switch");
    group.throughput(Throughput::Elements(1));
    for k in [1, 2, 5] {
        let mut e = with_views(k);
        for id in 0..KEYS {
            run(&mut e, &insert_base(id, 0));
        }
        let stmts: Vec<Stmt> = [1, 0]
            .iter()
            .flat_map(|g| (0..KEYS).map(move |id| parse(&insert_into("base", id, *g, *g))))
            .collect();
        let mut next = 0;
        group.bench_with_input(BenchmarkId::new("views", k), &k, |b, _| {
            b.iter(|| cycle(&mut e, &stmts, &mut next))
        });

        let mut e = with_copies(k);
        for id in 0..KEYS {
            run(&mut e, &batch(k, id, 0));
        }
        let pairs: Vec<(Stmt, Stmt)> = [(0, 1), (1, 0)]
            .iter()
            .flat_map(|(old, new)| {
                (0..KEYS).map(move |id| {
                    let (read, write) = read_and_switch_batch(k, id, *old, *new);
                    (parse(&read), parse(&write))
                })
            })
            .collect();
        let mut next = 0;
        group.bench_with_input(BenchmarkId::new("read+batch", k), &k, |b, _| {
            b.iter(|| {
                let (read, write) = &pairs[next % pairs.len()];
                next += 1;
                black_box(e.execute(black_box(read)).expect("client read succeeds"));
                black_box(e.execute(black_box(write)).expect("batch succeeds"));
            })
        });
    }
    group.finish();
}

fn reads(c: &mut Criterion) {
    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Elements(1));
    let mut e = with_views(1);
    for id in 0..KEYS {
        run(&mut e, &insert_base(id, 0));
    }
    let by_base: Vec<Stmt> = (0..KEYS)
        .map(|id| parse(&format!("SELECT * FROM base WHERE id = {id}")))
        .collect();
    let by_view: Vec<Stmt> = (0..KEYS)
        .map(|id| parse(&format!("SELECT * FROM base_by_v0 WHERE v0 = {}", id + 1_000_000)))
        .collect();
    // The two reads must find the same row, or the comparison means nothing.
    for (b, v) in by_base.iter().zip(&by_view).take(3) {
        for stmt in [b, v] {
            match e.execute(stmt) {
                Ok(QueryResult::Rows(rows)) => assert_eq!(rows.rows.len(), 1, "{}", stmt.text),
                other => panic!("{}: {other:?}", stmt.text),
            }
        }
    }
    let mut next = 0;
    group.bench_function("base", |b| b.iter(|| cycle(&mut e, &by_base, &mut next)));
    let mut next = 0;
    group.bench_function("view", |b| b.iter(|| cycle(&mut e, &by_view, &mut next)));
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = writes, switches, reads
}
criterion_main!(benches);
