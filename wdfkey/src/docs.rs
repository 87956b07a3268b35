//! The documents the crate's docs cite, readable where the docs are read:
//! [`invariants`] (K1–K5, the rules the `SAFETY` comments name) and
//! [`facts`] (F1–F77, the KMDF and NT behaviour the code relies on, each with
//! its public source). The same text as `docs/invariants.md` and
//! `docs/facts.md` in the repository (this crate's `docs/` links to them).

/// Ownership invariants K1–K5. Each has an anchor: `crate::docs::invariants#k2`.
pub mod invariants {
    // The document's own references to facts (`[F2]: facts.md#f2`) are
    // defined again here, first, so that in rustdoc they reach
    // `crate::docs::facts` (Markdown uses the first definition of a label).
    #![doc = "\n\n[facts.md]: crate::docs::facts"]
    #![doc = doc_links!()]
    #![doc = include_str!("../docs/invariants.md")]
}

/// Facts about KMDF, the NT kernel and the Windows tooling, F1–F77. Each has
/// an anchor: `crate::docs::facts#f10`.
pub mod facts {
    #![doc = include_str!("../docs/facts.md")]
}
