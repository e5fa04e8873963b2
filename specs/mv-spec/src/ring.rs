//! The ring: which nodes replicate a base partition or a view partition, and the
//! paired-view-replica rule.
//!
//! A single datacenter with a static ring of `nodes` nodes, one token each, and
//! SimpleStrategy placement: the replicas of a partition are the `rf` nodes met walking the
//! ring from the partition's token. Tokens are a fixed function of the key so that runs are
//! reproducible: base partition `k` starts at node `k mod nodes`, view partition `v` at node
//! `v mod nodes` (the view's partition key is `v` alone; `k` is its clustering column). Different view-key values therefore land on
//! differently ordered replica lists, which is what makes pairing interesting.

use crate::{Key, NodeId, ViewKey};
use serde::{Deserialize, Serialize};

/// How a base replica picks the view replica it sends a view update to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pairing {
    /// Seed 003's rule: the i-th base replica of the partition pairs with the i-th view
    /// replica of the view key. A base replica is its own pair only when it holds the same
    /// position in both lists.
    Positional,
    /// Cassandra's `ViewUtils.getViewNaturalEndpoint`: a base replica that also replicates
    /// the view partition pairs with itself; the others drop the nodes common to both lists
    /// and pair by position in what remains.
    SelfFirst,
}

/// A static ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Ring {
    /// Number of nodes, `n0 .. n{nodes-1}`.
    pub nodes: u8,
    /// Replication factor of the keyspace (base and view share it).
    pub rf: u8,
    /// The pairing rule.
    pub pairing: Pairing,
}

impl Ring {
    fn walk(&self, start: u8) -> Vec<NodeId> {
        (0..self.rf).map(|i| NodeId((start + i) % self.nodes)).collect()
    }

    /// The replicas of base partition `k`, in ring order.
    pub fn base_replicas(&self, k: Key) -> Vec<NodeId> {
        self.walk(k % self.nodes)
    }

    /// The replicas of the view partition holding view row `key`, in ring order.
    pub fn view_replicas(&self, key: ViewKey) -> Vec<NodeId> {
        self.walk(key.v % self.nodes)
    }

    /// The paired view replica of base replica `node` for a base row `k` and a view row
    /// `view_key`, or `None` if `node` does not replicate `k`.
    pub fn paired_view_replica(&self, node: NodeId, k: Key, view_key: ViewKey) -> Option<NodeId> {
        let base = self.base_replicas(k);
        let view = self.view_replicas(view_key);
        match self.pairing {
            Pairing::Positional => base.iter().position(|&n| n == node).map(|i| view[i]),
            Pairing::SelfFirst => {
                if !base.contains(&node) {
                    return None;
                }
                if view.contains(&node) {
                    return Some(node);
                }
                let base: Vec<_> = base.iter().filter(|n| !view.contains(n)).collect();
                let view: Vec<_> = view.iter().filter(|n| !self.base_replicas(k).contains(n)).collect();
                base.iter().position(|&&n| n == node).map(|i| *view[i])
            }
        }
    }

    /// The nodes that hold a coordinator batchlog entry for a write coordinated by
    /// `coordinator`. Cassandra picks up to two live nodes of the local datacenter other than
    /// the coordinator (from different racks where it can), and the coordinator itself only
    /// in a single-node datacenter; the batchlog write then needs every chosen node (CL ONE
    /// for one node, TWO for two). With one datacenter and one rack, "which two" is a random
    /// pick in Cassandra; here it is the two nodes that follow the coordinator on the ring,
    /// so that model and implementation agree on it.
    pub fn batchlog_nodes(&self, coordinator: NodeId) -> Vec<NodeId> {
        if self.nodes == 1 {
            return vec![coordinator];
        }
        let others = (self.nodes - 1).min(2);
        (1..=others).map(|i| NodeId((coordinator.0 + i) % self.nodes)).collect()
    }

    /// R5: the replica a replacement node `me` streams one partition from, among that
    /// partition's `replicas`: the first one in ring order, other than `me`, that is `up`.
    /// Cassandra streams each range from a single source, the closest live one by the snitch;
    /// in one datacenter and one rack every candidate is as close, so ring order decides, and
    /// model and implementation agree. `None` when no other replica is up: the partition
    /// stays empty on the replacement until repair.
    pub fn stream_source(replicas: &[NodeId], me: NodeId, up: impl Fn(NodeId) -> bool) -> Option<NodeId> {
        replicas.iter().copied().find(|&r| r != me && up(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seed 003's worked example: ring A, B, C; base token T1 owned A, B, C; view token T3
    /// owned C, A, B. A pairs with C, B with A and C with B.
    #[test]
    fn positional_pairing_matches_seed_003() {
        let ring = Ring {
            nodes: 3,
            rf: 3,
            pairing: Pairing::Positional,
        };
        let (a, b, c) = (NodeId(0), NodeId(1), NodeId(2));
        // Base key 0 starts at A; view partition v=2 starts at C.
        let vk = ViewKey { v: 2, k: 0 };
        assert_eq!(ring.base_replicas(0), vec![a, b, c]);
        assert_eq!(ring.view_replicas(vk), vec![c, a, b]);
        assert_eq!(ring.paired_view_replica(a, 0, vk), Some(c));
        assert_eq!(ring.paired_view_replica(b, 0, vk), Some(a));
        assert_eq!(ring.paired_view_replica(c, 0, vk), Some(b));
    }

    #[test]
    fn self_first_pairing_prefers_local_view_replica() {
        let ring = Ring {
            nodes: 3,
            rf: 3,
            pairing: Pairing::SelfFirst,
        };
        let vk = ViewKey { v: 2, k: 0 };
        for n in 0..3 {
            assert_eq!(ring.paired_view_replica(NodeId(n), 0, vk), Some(NodeId(n)));
        }
        // With RF 1 on 3 nodes, base k=0 lives on n0 and view (2,0) on n2: n0 pairs with n2.
        let ring = Ring {
            nodes: 3,
            rf: 1,
            pairing: Pairing::SelfFirst,
        };
        assert_eq!(ring.paired_view_replica(NodeId(0), 0, vk), Some(NodeId(2)));
        assert_eq!(ring.paired_view_replica(NodeId(1), 0, vk), None);
    }

    /// Pairing is a bijection between base and view replicas, whatever the keys: every view
    /// replica receives the view update from exactly one base replica.
    #[test]
    fn pairing_is_one_to_one() {
        for pairing in [Pairing::Positional, Pairing::SelfFirst] {
            for nodes in 1..=5u8 {
                for rf in 1..=nodes {
                    let ring = Ring { nodes, rf, pairing };
                    for k in 0..3 {
                        for v in 0..4 {
                            let vk = ViewKey { v, k };
                            let mut targets: Vec<_> = ring
                                .base_replicas(k)
                                .into_iter()
                                .map(|n| ring.paired_view_replica(n, k, vk).expect("a base replica always pairs"))
                                .collect();
                            targets.sort();
                            let mut view = ring.view_replicas(vk);
                            view.sort();
                            assert_eq!(targets, view, "nodes={nodes} rf={rf} k={k} v={v} {pairing:?}");
                        }
                    }
                }
            }
        }
    }

    /// Every ring the model accepts (up to 7 nodes), every key and view key of the tiny
    /// domains: the replica lists and the self-first rule stated as properties, because both
    /// the model and the implementation call this code and conformance cannot see a bug in it.
    #[test]
    fn replica_lists_and_self_first_pairing_on_every_small_ring() {
        for nodes in 1..=7u8 {
            for rf in 1..=nodes {
                let ring = Ring {
                    nodes,
                    rf,
                    pairing: Pairing::SelfFirst,
                };
                for k in 0..8u8 {
                    let base = ring.base_replicas(k);
                    assert_eq!(base.len(), rf as usize);
                    assert_eq!(base[0], NodeId(k % nodes), "the walk starts at the key's token");
                    let mut distinct = base.clone();
                    distinct.dedup();
                    distinct.sort();
                    distinct.dedup();
                    assert_eq!(distinct.len(), base.len(), "replicas are distinct nodes");
                    for v in 0..8u8 {
                        let vk = ViewKey { v, k };
                        let view = ring.view_replicas(vk);
                        assert_eq!(view[0], NodeId(v % nodes));
                        let base_only: Vec<NodeId> = base.iter().copied().filter(|n| !view.contains(n)).collect();
                        let view_only: Vec<NodeId> = view.iter().copied().filter(|n| !base.contains(n)).collect();
                        for n in 0..nodes {
                            let node = NodeId(n);
                            let got = ring.paired_view_replica(node, k, vk);
                            let want = if !base.contains(&node) {
                                None
                            } else if view.contains(&node) {
                                Some(node)
                            } else {
                                // The i-th base replica that is not a view replica pairs with
                                // the i-th view replica that is not a base replica.
                                let i = base_only.iter().position(|&b| b == node).unwrap();
                                Some(view_only[i])
                            };
                            assert_eq!(got, want, "nodes={nodes} rf={rf} k={k} v={v} node={node}");
                        }
                    }
                }
            }
        }
    }

    /// Every replica list of every small ring, every replacement and every set of live
    /// nodes: the source is a live replica other than the replacement, the first such in ring
    /// order, and there is none exactly when every other replica is down.
    #[test]
    fn stream_source_on_every_small_ring() {
        for nodes in 1..=5u8 {
            for rf in 1..=nodes {
                let ring = Ring {
                    nodes,
                    rf,
                    pairing: Pairing::SelfFirst,
                };
                for k in 0..nodes {
                    let replicas = ring.base_replicas(k);
                    for me in 0..nodes {
                        let me = NodeId(me);
                        for up_mask in 0..(1u32 << nodes) {
                            let up = |n: NodeId| up_mask & (1 << n.0) != 0;
                            let got = Ring::stream_source(&replicas, me, up);
                            let candidates: Vec<NodeId> =
                                replicas.iter().copied().filter(|&r| r != me && up(r)).collect();
                            assert_eq!(got, candidates.first().copied(), "nodes={nodes} rf={rf} k={k} me={me}");
                            if let Some(src) = got {
                                assert!(src != me && up(src) && replicas.contains(&src));
                                let before = replicas.iter().position(|&r| r == src).unwrap();
                                assert!(
                                    replicas[..before].iter().all(|&r| r == me || !up(r)),
                                    "first in ring order"
                                );
                            } else {
                                assert!(replicas.iter().all(|&r| r == me || !up(r)));
                            }
                        }
                    }
                }
            }
        }
    }

    /// The coordinator batchlog goes to two distinct nodes other than the coordinator (one on
    /// a 2-node ring), walking the ring after it; the coordinator holds it only when it is
    /// the only node.
    #[test]
    fn batchlog_nodes_on_every_small_ring() {
        for nodes in 1..=7u8 {
            let ring = Ring {
                nodes,
                rf: 1,
                pairing: Pairing::SelfFirst,
            };
            for c in 0..nodes {
                let b = ring.batchlog_nodes(NodeId(c));
                let expected_len = match nodes {
                    1 => 1,
                    2 => 1,
                    _ => 2,
                };
                assert_eq!(b.len(), expected_len, "nodes={nodes} c={c}");
                let mut d = b.clone();
                d.sort();
                d.dedup();
                assert_eq!(d.len(), b.len(), "distinct");
                assert_eq!(b[0], NodeId((c + 1) % nodes));
                assert_eq!(b.contains(&NodeId(c)), nodes == 1, "nodes={nodes} c={c}");
            }
        }
    }
}
