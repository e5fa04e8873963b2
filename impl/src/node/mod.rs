//! The distributed node: a sans-IO core that plays Coordinator, BaseReplica and ViewReplica.
