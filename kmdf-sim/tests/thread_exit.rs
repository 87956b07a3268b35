//! A Machine kept in a thread-local of its own (as a fuzz target keeps one
//! between inputs) is dropped when the thread exits, possibly after the
//! simulator's own state: that must not panic (which would abort the process).

use kmdf_sim::control::{Machine, Settings};
use std::cell::RefCell;

thread_local! {
    static KEPT: RefCell<Option<Machine>> = const { RefCell::new(None) };
}

#[test]
fn a_machine_kept_in_a_thread_local_is_dropped_at_thread_exit() {
    let worker = std::thread::spawn(|| {
        // KEPT is registered first, so it is destroyed after the simulator's state.
        KEPT.with(|kept| *kept.borrow_mut() = Some(Machine::new(Settings::default())));
    });
    assert!(worker.join().is_ok());
    // The thread's machine is gone: a new thread can make one.
    let again = std::thread::spawn(|| drop(Machine::new(Settings::default())));
    assert!(again.join().is_ok());
}
