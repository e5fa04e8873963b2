//! Variants: the correct designs and the broken ones.
//!
//! What a variant is (its name, its [`Design`], its default configuration and its expected
//! verdicts) is shared vocabulary and lives in [`mv_spec::variant`], so that the model and
//! the implementation cannot disagree about it. What the model does with a design choice is
//! written in [`crate::actor`] and [`crate::storage`].

pub use mv_spec::variant::{validate, Defaults, DeletionStyle, Design, Expected, Variant};

/// The design choices, under the name the model's step logic reads them by.
pub type Rules = Design;
