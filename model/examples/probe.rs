use mv_model::{MvModelCfg, Variant};
use stateright::{Checker, Model};
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let v = Variant::from_name(&args[1]).unwrap();
    let mut cfg = MvModelCfg::for_variant(v);
    if let Some(c) = args.get(2) { cfg.crashes = c.parse().unwrap(); }
    if std::env::var("POS").is_ok() { cfg.ring.pairing = mv_spec::Pairing::Positional; }
    let env = |k: &str| std::env::var(k).ok();
    if let Some(x) = env("NODES") { cfg.ring.nodes = x.parse().unwrap(); }
    if let Some(x) = env("RF") { cfg.ring.rf = x.parse().unwrap(); }
    if let Some(x) = env("DL") { cfg.data_loss = x.parse().unwrap(); }
    if env("LOSSY").is_some() { cfg.lossy = true; }
    if let Some(x) = env("CL") { cfg.cl = match x.as_str() { "one" => mv_spec::Cl::One, "all" => mv_spec::Cl::All, _ => mv_spec::Cl::Quorum }; }
    if let Some(x) = env("WRITES") { cfg.workload = mv_model::Workload::Concurrent { writes: x.parse().unwrap(), keys: 1 }; }
    let m = cfg.into_model();
    println!("{}", m.summary());
    let t = Instant::now();
    let secs_lim: u64 = std::env::var("LIM").ok().and_then(|x| x.parse().ok()).unwrap_or(30);
    let c = m.checker().threads(2).timeout(std::time::Duration::from_secs(secs_lim)).spawn_dfs().join();
    let secs = t.elapsed().as_secs_f64();
    println!("states={} unique={} depth={} secs={:.2} rate={:.0}/s", c.state_count(), c.unique_state_count(), c.max_depth(), secs, c.unique_state_count() as f64/secs);
    for p in c.model().properties() {
        match c.discovery(p.name) {
            Some(path) => { println!("{} DISCOVERED len={}", p.name, path.clone().into_actions().len()); if matches!(p.expectation, stateright::Expectation::Always) { for (_s,a) in path.into_vec() { if let Some(a)=a { println!("   {}", c.model().describe(&a)); } } } }
            None => println!("{} none", p.name),
        }
    }
}
