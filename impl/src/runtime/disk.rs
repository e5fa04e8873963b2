//! The node's disk: one redb file holding the node's [`DiskImage`] as records, its Lamport
//! clock and step count, and its trace lines.
//!
//! **One step, one transaction.** After a step the host commits, in one redb write
//! transaction, every record the step changed, the clock, the step count and the step's trace
//! line; redb's commit is durable (fsync) and atomic. Only then does the host send the step's
//! messages. So a message never leaves ahead of the commit-log entry, batchlog entry, hint or
//! table row it depends on, whatever order `protocol.md` lists them in (they land together),
//! and a kill -9 at any instant leaves the disk as it was after some step: the crash the
//! simulation models, between two steps. A step cut short by the kill is as if its input
//! never arrived, which the protocol already allows (a crash loses messages in flight to the
//! node; a timer is re-armed by R3).
//!
//! Records are keyed so that byte order is the observation's order (`base/007`,
//! `hint/001/000/003`), and each holds the JSON of one `mv-spec` value. Nothing else is kept:
//! what the simulation's crash keeps, no more.

use crate::node::image::DiskImage;
use mv_spec::obs::{BaseHint, BatchlogEntry, CommitLogEntry, CoordBatchlogEntry, Hint};
use mv_spec::{BaseRow, Key, ViewKey, ViewRow};
use redb::{Database, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const TRACE: TableDefinition<u64, &[u8]> = TableDefinition::new("trace");

/// Who a data directory belongs to: a node refuses a directory written by another node or
/// for another ring or variant, since its records would mean something else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `n<i>`.
    pub node: String,
    /// Variant name.
    pub variant: String,
    /// Ring size.
    pub nodes: u8,
    /// Replication factor.
    pub rf: u8,
    /// Pairing rule.
    pub pairing: String,
}

/// What a restart finds on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    /// The node's durable state.
    pub image: DiskImage,
    /// The Lamport clock after the last committed step.
    pub clock: u64,
    /// The number of the last committed step.
    pub seq: u64,
    /// Whether the node was up after that step (false when the last line is a `Crash`).
    pub up: bool,
}

/// The open disk.
pub struct NodeDisk {
    db: Database,
    /// The records as last committed, to write only what a step changed.
    records: BTreeMap<String, Vec<u8>>,
}

fn db_err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    // mv-spec values are records of numbers and strings: they always serialize.
    serde_json::to_vec(v).expect("disk records serialize to JSON")
}

/// The image as records: key, JSON.
pub fn records(image: &DiskImage) -> BTreeMap<String, Vec<u8>> {
    let mut r = BTreeMap::new();
    for (k, row) in &image.base {
        r.insert(format!("base/{k:03}"), json(&(k, row)));
    }
    for (key, row) in &image.view {
        r.insert(format!("view/{:03}/{:03}", key.v, key.k), json(&(key, row)));
    }
    for e in &image.commitlog {
        r.insert(format!("commitlog/{:03}", e.write.0), json(e));
    }
    for e in &image.batchlog {
        r.insert(format!("batchlog/{:03}/{:03}", e.batch.origin.0, e.batch.seq), json(e));
    }
    r.insert("next_batch".into(), json(&image.next_batch));
    r.insert("now".into(), json(&image.now));
    for h in &image.hints {
        let key = format!("hint/{:03}/{:03}/{:03}", h.target.0, h.batch.origin.0, h.batch.seq);
        r.insert(key, json(h));
    }
    for h in &image.base_hints {
        r.insert(format!("basehint/{:03}/{:03}", h.target.0, h.write.0), json(h));
    }
    for e in &image.coord_batchlog {
        r.insert(format!("coordbatchlog/{:03}", e.write.0), json(e));
    }
    r
}

/// The image the records describe; an error names the record that does not parse.
pub fn image_of(records: &BTreeMap<String, Vec<u8>>) -> Result<DiskImage, String> {
    fn parse<'a, T: Deserialize<'a>>(key: &str, bytes: &'a [u8]) -> Result<T, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("record {key:?} is damaged: {e}"))
    }
    let mut image = DiskImage::default();
    for (key, bytes) in records {
        let kind = key.split('/').next().unwrap_or_default();
        match kind {
            "base" => {
                let (k, row): (Key, BaseRow) = parse(key, bytes)?;
                image.base.insert(k, row);
            }
            "view" => {
                let (k, row): (ViewKey, ViewRow) = parse(key, bytes)?;
                image.view.insert(k, row);
            }
            "commitlog" => image.commitlog.push(parse::<CommitLogEntry>(key, bytes)?),
            "batchlog" => image.batchlog.push(parse::<BatchlogEntry>(key, bytes)?),
            "next_batch" => image.next_batch = parse(key, bytes)?,
            "now" => image.now = parse(key, bytes)?,
            "hint" => image.hints.push(parse::<Hint>(key, bytes)?),
            "basehint" => image.base_hints.push(parse::<BaseHint>(key, bytes)?),
            "coordbatchlog" => image.coord_batchlog.push(parse::<CoordBatchlogEntry>(key, bytes)?),
            _ => return Err(format!("record {key:?} is of no kind this build knows")),
        }
    }
    Ok(image)
}

fn u64_of(key: &str, bytes: &[u8]) -> Result<u64, String> {
    let b: [u8; 8] = bytes
        .try_into()
        .map_err(|_| format!("meta {key:?} is damaged: {} bytes, expected 8", bytes.len()))?;
    Ok(u64::from_be_bytes(b))
}

impl NodeDisk {
    /// Opens (or creates) `dir/node.redb`. A fresh directory is stamped with `identity`; an
    /// existing one must carry the same, and its state comes back as [`Saved`].
    pub fn open(dir: &Path, identity: &Identity) -> Result<(NodeDisk, Option<Saved>), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))?;
        let path = dir.join("node.redb");
        let db = Database::create(&path).map_err(db_err(&format!("cannot open {}", path.display())))?;
        let mut disk = NodeDisk {
            db,
            records: BTreeMap::new(),
        };
        let read = disk.db.begin_read().map_err(db_err("read"))?;
        let stamped = match read.open_table(META) {
            Ok(meta) => match meta.get("identity").map_err(db_err("read identity"))? {
                Some(v) => Some(
                    serde_json::from_slice::<Identity>(v.value())
                        .map_err(|e| format!("{}: identity record is damaged: {e}", path.display()))?,
                ),
                None => None,
            },
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let Some(stamped) = stamped else {
            drop(read);
            let tx = disk.db.begin_write().map_err(db_err("write"))?;
            {
                let mut meta = tx.open_table(META).map_err(db_err("meta"))?;
                meta.insert("identity", json(identity).as_slice())
                    .map_err(db_err("meta"))?;
                // A fresh node is up: killed before its first step, it restarts with a crash.
                for (k, v) in [("clock", 0u64), ("seq", 0), ("up", 1)] {
                    meta.insert(k, v.to_be_bytes().as_slice()).map_err(db_err("meta"))?;
                }
                tx.open_table(RECORDS).map_err(db_err("records"))?;
                tx.open_table(TRACE).map_err(db_err("trace"))?;
            }
            tx.commit().map_err(db_err("commit"))?;
            return Ok((disk, None));
        };
        if stamped != *identity {
            return Err(format!(
                "{} belongs to {} of a {}-node ring (rf {}, {}, {}), not to {} of a {}-node ring (rf {}, {}, {})",
                path.display(),
                stamped.node,
                stamped.nodes,
                stamped.rf,
                stamped.pairing,
                stamped.variant,
                identity.node,
                identity.nodes,
                identity.rf,
                identity.pairing,
                identity.variant
            ));
        }
        let meta = read.open_table(META).map_err(db_err("meta"))?;
        let get = |key: &str| -> Result<u64, String> {
            match meta.get(key).map_err(db_err("meta"))? {
                Some(v) => u64_of(key, v.value()),
                None => Ok(0),
            }
        };
        let (clock, seq, up) = (get("clock")?, get("seq")?, get("up")? != 0);
        let table = read.open_table(RECORDS).map_err(db_err("records"))?;
        for entry in table.iter().map_err(db_err("records"))? {
            let (k, v) = entry.map_err(db_err("records"))?;
            disk.records.insert(k.value().to_string(), v.value().to_vec());
        }
        drop((meta, table, read));
        let image = image_of(&disk.records).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((disk, Some(Saved { image, clock, seq, up })))
    }

    /// Commits one step: the records that changed since the last commit, the clock, the step
    /// number, whether the node is up, and the step's trace line. Durable when it returns.
    pub fn commit(&mut self, image: &DiskImage, clock: u64, seq: u64, up: bool, line: &str) -> Result<(), String> {
        self.commit_steps(image, clock, up, &[(seq, line.to_string())])
    }

    /// Commits a group of steps in one transaction: the records as `image` holds them after
    /// the last, that step's clock, whether the node is up, and every step's (seq, trace
    /// line). Durable when it returns; a crash before leaves none of them.
    pub fn commit_steps(
        &mut self,
        image: &DiskImage,
        clock: u64,
        up: bool,
        lines: &[(u64, String)],
    ) -> Result<(), String> {
        let Some(&(seq, _)) = lines.last() else {
            return Ok(());
        };
        let now = records(image);
        let tx = self.db.begin_write().map_err(db_err("write"))?;
        {
            let mut table = tx.open_table(RECORDS).map_err(db_err("records"))?;
            for (k, v) in &now {
                if self.records.get(k) != Some(v) {
                    table.insert(k.as_str(), v.as_slice()).map_err(db_err("records"))?;
                }
            }
            for k in self.records.keys().filter(|k| !now.contains_key(*k)) {
                table.remove(k.as_str()).map_err(db_err("records"))?;
            }
            let mut meta = tx.open_table(META).map_err(db_err("meta"))?;
            for (k, v) in [("clock", clock), ("seq", seq), ("up", u64::from(up))] {
                meta.insert(k, v.to_be_bytes().as_slice()).map_err(db_err("meta"))?;
            }
            let mut trace = tx.open_table(TRACE).map_err(db_err("trace"))?;
            // An untraced node's steps have empty lines, and nothing is stored for them.
            for (seq, line) in lines.iter().filter(|(_, l)| !l.is_empty()) {
                trace.insert(*seq, line.as_bytes()).map_err(db_err("trace"))?;
            }
        }
        tx.commit().map_err(db_err("commit"))?;
        self.records = now;
        Ok(())
    }

    /// The trace lines committed after step `seq`, in order.
    pub fn trace_after(&self, seq: u64) -> Result<Vec<(u64, String)>, String> {
        let read = self.db.begin_read().map_err(db_err("read"))?;
        let table = read.open_table(TRACE).map_err(db_err("trace"))?;
        let mut out = Vec::new();
        for entry in table.range(seq + 1..).map_err(db_err("trace"))? {
            let (k, v) = entry.map_err(db_err("trace"))?;
            let line = String::from_utf8(v.value().to_vec())
                .map_err(|e| format!("trace line {} is damaged: {e}", k.value()))?;
            out.push((k.value(), line));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{Node, Switches};
    use crate::sim::{self, ClusterConfig, SimOptions};
    use mv_spec::variant::Variant;

    fn identity(node: &str) -> Identity {
        Identity {
            node: node.into(),
            variant: "cassandra-4.0".into(),
            nodes: 2,
            rf: 1,
            pairing: "self-first".into(),
        }
    }

    /// Each step's image goes in; reopening gives back the last one committed, clock and
    /// trace included.
    #[test]
    fn what_is_committed_comes_back_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (mut disk, saved) = NodeDisk::open(dir.path(), &identity("n0")).unwrap();
        assert!(saved.is_none(), "a fresh directory");
        let mut cfg = ClusterConfig::for_variant(Variant::Cassandra40Cbl);
        cfg.crashes = 1;
        let mut last = None;
        for (i, steps) in [2, 5, 9, 14, 30].into_iter().enumerate() {
            let run = sim::run(cfg.clone(), &SimOptions::new(3, steps)).unwrap();
            let image = run.cluster.nodes()[0].disk_image();
            let seq = i as u64 + 1;
            disk.commit(&image, 10 * seq, seq, true, &format!("line {seq}"))
                .unwrap();
            last = Some(image);
        }
        drop(disk);
        let (disk, saved) = NodeDisk::open(dir.path(), &identity("n0")).unwrap();
        let saved = saved.expect("a restart");
        assert_eq!(Some(&saved.image), last.as_ref());
        assert_eq!((saved.clock, saved.seq, saved.up), (50, 5, true));
        let lines = disk.trace_after(3).unwrap();
        assert_eq!(lines, vec![(4, "line 4".to_string()), (5, "line 5".to_string())]);
        let node = Node::recover(
            mv_spec::NodeId(0),
            cfg.ring,
            Switches::from(cfg.variant.design()),
            &saved.image,
        )
        .unwrap();
        assert_eq!(node.disk_image(), saved.image);
        drop(disk);
        let e = NodeDisk::open(dir.path(), &identity("n1")).err().unwrap();
        assert!(e.contains("belongs to n0") && e.contains("not to n1"), "{e}");
    }

    /// A group of steps commits as one: every line, the last step's number and clock, the
    /// image after the last step. An empty group commits nothing.
    #[test]
    fn a_group_of_steps_commits_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let (mut disk, _) = NodeDisk::open(dir.path(), &identity("n0")).unwrap();
        let cfg = ClusterConfig::for_variant(Variant::Cassandra40);
        let image = sim::run(cfg.clone(), &SimOptions::new(1, 12)).unwrap().cluster.nodes()[0].disk_image();
        disk.commit_steps(&DiskImage::default(), 1, true, &[(1, "a".into())])
            .unwrap();
        let group: Vec<(u64, String)> = (2..=4).map(|s| (s, format!("step {s}"))).collect();
        disk.commit_steps(&image, 9, true, &group).unwrap();
        disk.commit_steps(&DiskImage::default(), 99, false, &[]).unwrap();
        drop(disk);
        let (disk, saved) = NodeDisk::open(dir.path(), &identity("n0")).unwrap();
        let saved = saved.unwrap();
        assert_eq!((saved.clock, saved.seq, saved.up), (9, 4, true));
        assert_eq!(saved.image, image);
        assert_eq!(disk.trace_after(1).unwrap(), group);
    }

    #[test]
    fn a_damaged_record_is_named() {
        let mut r = records(&DiskImage::default());
        r.insert("base/001".into(), b"{oops".to_vec());
        let e = image_of(&r).unwrap_err();
        assert!(e.contains("record \"base/001\" is damaged"), "{e}");
        let mut r = records(&DiskImage::default());
        r.insert("mystery/1".into(), b"1".to_vec());
        assert!(image_of(&r).unwrap_err().contains("no kind"));
    }
}
