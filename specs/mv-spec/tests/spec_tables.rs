//! The variant tables of `specs/protocol.md` and `specs/properties.md` say what
//! `mv_spec::variant` says. The documents are what a reader trusts and the table in the code
//! is what runs, so an edit to one side alone fails here.

use mv_spec::props::PROPERTIES;
use mv_spec::variant::{DeletionStyle, Design, RepairStyle, Variant};
use mv_spec::workload::Workload;
use mv_spec::Pairing;
use std::collections::BTreeMap;

fn spec(file: &str) -> String {
    let path = format!("{}/../{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The cells of the first markdown table after the line containing `marker`, header first,
/// without the separator row. Cells are trimmed and keep their markup.
fn table_after(doc: &str, marker: &str) -> Vec<Vec<String>> {
    let rows: Vec<Vec<String>> = doc
        .lines()
        .skip_while(|l| !l.contains(marker))
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .filter(|cells: &Vec<String>| !cells.iter().all(|c| c.chars().all(|ch| ch == '-' || ch == ':')))
        .collect();
    assert!(rows.len() > 1, "no table after {marker:?}");
    rows
}

fn bold(cell: &str) -> bool {
    cell.starts_with("**") && cell.ends_with("**")
}

/// A cell without its markup.
fn plain(cell: &str) -> String {
    cell.replace("**", "").replace('`', "")
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn workload_cell(w: Workload) -> String {
    match w {
        Workload::Concurrent { writes, keys } => format!("concurrent {writes}/{keys}"),
        w => w.name().to_string(),
    }
}

/// Compares a document's table with the code's, row by row, and lists every difference.
fn assert_same(what: &str, doc: &BTreeMap<String, Vec<String>>, code: &BTreeMap<String, Vec<String>>) {
    let mut diffs = Vec::new();
    for (row, want) in code {
        match doc.get(row) {
            None => diffs.push(format!("row {row:?} is missing from the document")),
            Some(got) if got != want => diffs.push(format!("row {row:?}: document {got:?}, code {want:?}")),
            Some(_) => {}
        }
    }
    for row in doc.keys().filter(|r| !code.contains_key(*r)) {
        diffs.push(format!("row {row:?} of the document is nothing the code knows"));
    }
    assert!(
        diffs.is_empty(),
        "{what} disagrees with mv_spec::variant:\n{}",
        diffs.join("\n")
    );
}

/// `specs/properties.md`, "Expected verdicts": one column per variant, the default
/// configuration's rows, then one row per property.
#[test]
fn expected_verdicts_table_matches_the_variant_table() {
    let doc = spec("properties.md");
    let table = table_after(&doc, "## Expected verdicts");
    let columns: Vec<String> = table[0][1..].iter().map(|c| plain(c)).collect();
    let names: Vec<String> = Variant::ALL.iter().map(|v| v.name().to_string()).collect();
    assert_eq!(columns, names, "the columns are the variants, in order");

    let doc_rows: BTreeMap<String, Vec<String>> = table[1..]
        .iter()
        .map(|r| (plain(&r[0]), r[1..].iter().map(|c| plain(c)).collect()))
        .collect();
    let per_variant = |cell: &dyn Fn(Variant) -> String| Variant::ALL.into_iter().map(cell).collect::<Vec<_>>();
    let mut code_rows = BTreeMap::new();
    code_rows.insert(
        "nodes, rf".to_string(),
        per_variant(&|v| format!("{}, {}", v.defaults().nodes, v.defaults().rf)),
    );
    code_rows.insert("cl".to_string(), per_variant(&|v| v.defaults().cl.name().to_string()));
    code_rows.insert(
        "workload".to_string(),
        per_variant(&|v| workload_cell(v.defaults().workload)),
    );
    code_rows.insert(
        "crashes, data-loss, lossy".to_string(),
        per_variant(&|v| {
            let d = v.defaults();
            format!("{}, {}, {}", d.crashes, d.data_loss, yes_no(d.lossy))
        }),
    );
    code_rows.insert(
        "view repairs".to_string(),
        per_variant(&|v| {
            let d = v.defaults();
            match (d.view_repairs, d.view_repair_anytime) {
                (0, _) => "0".to_string(),
                (n, false) => n.to_string(),
                (n, true) => format!("{n}, anytime"),
            }
        }),
    );
    for p in PROPERTIES {
        code_rows.insert(
            p.id.to_string(),
            per_variant(&|v| v.expected(p.id, p.kind).label().to_string()),
        );
    }
    assert_same("specs/properties.md, \"Expected verdicts\"", &doc_rows, &code_rows);

    // The table has no pairing row because the text above it speaks for every variant.
    let prose = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(prose.contains("Pairing is `self-first` for every variant"));
    for v in Variant::ALL {
        assert_eq!(v.defaults().pairing, Pairing::SelfFirst, "{}", v.name());
    }
    // Bold marks what is not the plain outcome: a violation, a witness not found.
    for (r, row) in table[1..].iter().enumerate() {
        for (c, cell) in row[1..].iter().enumerate() {
            let marked = matches!(plain(cell).as_str(), "violated" | "not found");
            if marked || matches!(plain(cell).as_str(), "holds" | "found") {
                assert_eq!(bold(cell), marked, "row {} column {}: {cell}", r + 1, c + 1);
            }
        }
    }
}

fn deletion_cell(d: DeletionStyle) -> &'static str {
    match d {
        DeletionStyle::Shadowable => "shadowable",
        DeletionStyle::Regular => "regular",
        DeletionStyle::ExpiredLiveness => "expired liveness",
    }
}

fn design_cells(d: Design) -> Vec<String> {
    vec![
        deletion_cell(d.deletion).to_string(),
        if d.single_slot { "1" } else { "2" }.to_string(),
        yes_no(d.strict_liveness).to_string(),
        if d.ties_as_storage { "storage" } else { "arrival" }.to_string(),
        yes_no(d.limit_counts_strictly).to_string(),
        yes_no(d.partition_lock).to_string(),
        yes_no(d.local_batchlog).to_string(),
        yes_no(d.coordinator_batchlog).to_string(),
        yes_no(d.base_hints).to_string(),
        yes_no(d.replay_regenerates).to_string(),
        yes_no(d.batchlog_waits_for_remote).to_string(),
        repair_cell(d.repair).to_string(),
    ]
}

fn repair_cell(r: RepairStyle) -> &'static str {
    match r {
        RepairStyle::Correct => "R6-R9",
        RepairStyle::PruneAtNow => "prune at now",
        RepairStyle::UpsertAtNow => "upsert at now",
        RepairStyle::WithoutLock => "prune, no lock",
        RepairStyle::RegularTombstone => "regular tombstone",
    }
}

/// `specs/protocol.md`, "Design choices per variant": one row per variant, the choice a
/// broken variant takes away from its baseline in bold.
#[test]
fn design_choices_table_matches_the_variant_table() {
    let doc = spec("protocol.md");
    let table = table_after(&doc, "**Design choices per variant**");
    // `no-partition-lock` (A8) names the variant and its anomaly.
    let name = |cell: &str| plain(cell.split(" (").next().unwrap_or(cell));
    let doc_rows: BTreeMap<String, Vec<String>> = table[1..]
        .iter()
        .map(|r| (name(&r[0]), r[1..].iter().map(|c| plain(c)).collect()))
        .collect();
    let code_rows: BTreeMap<String, Vec<String>> = Variant::ALL
        .into_iter()
        .map(|v| (v.name().to_string(), design_cells(v.design())))
        .collect();
    assert_same(
        "specs/protocol.md, \"Design choices per variant\"",
        &doc_rows,
        &code_rows,
    );

    for row in &table[1..] {
        let v = Variant::from_name(&name(&row[0])).expect("checked above");
        let differs: Vec<bool> = match v.baseline() {
            None => vec![false; design_cells(v.design()).len()],
            Some(b) => design_cells(v.design())
                .iter()
                .zip(design_cells(b.design()))
                .map(|(a, b)| *a != b)
                .collect(),
        };
        let marked: Vec<bool> = row[1..].iter().map(|c| bold(c)).collect();
        assert_eq!(
            marked,
            differs,
            "{}: bold marks the choice taken from its baseline",
            v.name()
        );
    }
}

/// `specs/properties.md`: each broken variant and the property its anomaly breaks.
#[test]
fn anomaly_table_matches_the_variant_table() {
    let doc = spec("properties.md");
    let table = table_after(&doc, "violates the property its anomaly is about");
    let doc_rows: BTreeMap<String, Vec<String>> = table[1..]
        .iter()
        .map(|r| {
            let property = r[1].rsplit(" breaks ").next().unwrap_or("").to_string();
            (plain(&r[0]), vec![property])
        })
        .collect();
    let code_rows: BTreeMap<String, Vec<String>> = Variant::ALL
        .into_iter()
        .filter_map(|v| Some((v.name().to_string(), vec![v.anomaly_property()?.to_string()])))
        .collect();
    assert_same("specs/properties.md, the anomaly table", &doc_rows, &code_rows);
}
