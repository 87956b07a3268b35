//! The triage tests of `wdfkey-diag` read the simulator's renderings of the
//! replayed crash from `diag/fixtures/`; these tests keep those copies equal
//! to what `replay-crash` renders now. After changing the rendering:
//! `UPDATE_FIXTURES=1 cargo test -p wdfkey-harness replay_fixtures`.

use std::path::PathBuf;

/// `(outcome title prefix, fixture file)`.
const FIXTURES: &[(&str, &str)] = &[("1.", "replay-1.txt"), ("2b.", "replay-2b.txt")];

pub(crate) fn triage_fixtures_are_the_current_replay_renderings() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../diag/fixtures");
    let outcomes = crate::replay::replay();
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    for (prefix, file) in FIXTURES {
        let outcome = outcomes.iter().find(|o| o.title.starts_with(prefix)).expect("outcome");
        let text = outcome.text.split(crate::replay::OWNERSHIP_HEADING).next().unwrap_or_default();
        let path = dir.join(file);
        if update {
            std::fs::write(&path, text).expect("fixture written");
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored == text,
            "{} differs from replay outcome {prefix}; rerun with UPDATE_FIXTURES=1 to refresh it",
            path.display()
        );
    }
}
