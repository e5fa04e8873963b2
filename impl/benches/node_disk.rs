//! What a node process pays per step for durability: one redb transaction holding the step's
//! changed records, the clock and the trace line, committed with fsync before any message
//! leaves (`mv_impl::runtime::disk`). And what a restart pays to read it all back.
//!
//! The steps are a real node's: one node of a one-node ring takes client writes (W1), its own
//! base writes (B2), their view-update steps (B3-B7), applies (B8) and acks (W4, W5), so each
//! commit carries what such a step changes, with its full trace line. Run with
//!
//! ```sh
//! cargo bench -p mv-impl --bench node_disk [-- --steps 3000]
//! ```
//!
//! Measured (release build, 2 shared cores, ext4 on a virtual disk, other builds running,
//! load average about 6. A scratch commit of four small records took 4.0 ms p50 at that moment
//! and 0.14 ms at a quieter one: the fsync is the cost, and it is the machine's):
//!
//! | steps | commit p50 | commit p99 | mean | file | reopen + rebuild |
//! |---|---|---|---|---|---|
//! | 3,000 | 3.97 ms | 7.6 ms | 3.6 ms | 6.9 MB | 11.9 ms |
//!
//! Criterion is not used: each sample is one commit on a growing file, and the figures wanted
//! are its distribution and the restart cost at the end.

use mv_impl::node::{Addr, Input, Node, Output, Switches};
use mv_impl::runtime::disk::{Identity, NodeDisk};
use mv_spec::variant::Variant;
use mv_spec::{Assign, Cl, Msg, NodeId, Pairing, Ring, Statement, Timer, WriteId};
use std::collections::VecDeque;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let steps: usize = args
        .iter()
        .position(|a| a == "--steps")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(3000);
    let ring = Ring {
        nodes: 1,
        rf: 1,
        pairing: Pairing::SelfFirst,
    };
    let sw = Switches::from(Variant::Cassandra40.design());
    let dir = tempfile::tempdir().expect("a temp dir");
    let identity = Identity {
        node: "n0".into(),
        variant: "cassandra-4.0".into(),
        nodes: 1,
        rf: 1,
        pairing: "self-first".into(),
    };
    let (mut disk, _) = NodeDisk::open(dir.path(), &identity).expect("opens");
    let mut lat = Vec::with_capacity(steps);
    let mut seq = 0u64;
    let mut node = Node::new(NodeId(0), ring, sw);
    let mut write = 0u8;
    while lat.len() < steps {
        // w1..w31 over and over, on a fresh node each round (write ids are u8s).
        write = if write == 31 { 1 } else { write + 1 };
        if write == 1 {
            node = Node::new(NodeId(0), ring, sw);
        }
        let stmt = Statement::update(write % 4, Assign::Set(write % 3 + 1), Assign::Set(write), write);
        let mut inputs = VecDeque::from([Input::Deliver {
            from: Addr::Client(0),
            msg: Msg::Write {
                write: WriteId(write),
                stmt,
                cl: Cl::One,
            },
        }]);
        while let Some(input) = inputs.pop_front() {
            let fx = node.step(input);
            if !fx.taken {
                continue;
            }
            seq += 1;
            let line = serde_json::to_string(&node.observe()).expect("serializes");
            let t = Instant::now();
            disk.commit(&node.disk_image(), seq, seq, true, &line).expect("commits");
            lat.push(t.elapsed().as_secs_f64() * 1e6);
            for o in fx.outputs {
                match o {
                    Output::Send { to: Addr::Node(_), msg } => inputs.push_back(Input::Deliver {
                        from: Addr::Node(NodeId(0)),
                        msg,
                    }),
                    Output::SetTimer(t @ (Timer::Generate(_) | Timer::ApplyBase(_))) => {
                        inputs.push_back(Input::Fire(t))
                    }
                    _ => {}
                }
            }
        }
    }
    lat.sort_by(f64::total_cmp);
    let n = lat.len();
    let mean = lat.iter().sum::<f64>() / n as f64;
    let size = std::fs::metadata(dir.path().join("node.redb")).map_or(0, |m| m.len());
    drop(disk);
    let t = Instant::now();
    let (_, saved) = NodeDisk::open(dir.path(), &identity).expect("reopens");
    let saved = saved.expect("a restart");
    let node = Node::recover(NodeId(0), ring, sw, &saved.image).expect("rebuilds");
    let reopen = t.elapsed();
    assert_eq!(node.disk_image(), saved.image);
    println!(
        "{n} commits: p50 {:.0} us, p99 {:.0} us, max {:.0} us, mean {mean:.0} us; file {:.1} MB; reopen + rebuild {:.1} ms",
        lat[n / 2],
        lat[n * 99 / 100],
        lat[n - 1],
        size as f64 / 1e6,
        reopen.as_secs_f64() * 1e3
    );
}
