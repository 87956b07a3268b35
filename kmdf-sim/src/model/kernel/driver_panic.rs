//! A panic in driver code is wdk-panic's bug check 0x52504E43 (guide §4,
//! F112).
//!
//! A panic that starts in driver code (the innermost simulated frame is the
//! driver's) is recorded as that stop by a panic hook, before any unwinding,
//! with the callback it ran in (`echo.sys panicked in EvtIoRead`). The hook
//! returns (std holds its hook lock while a hook runs, so a hook that never
//! returned would leave every later `set_hook`/`take_hook` of the process
//! waiting). In a closure handed to `Machine::run` the panic then unwinds to
//! the machine, which returns the stop. In a driver callback it unwinds to
//! the callback's `extern "C"` frame, where Rust aborts: the abort arrives
//! on the machine's driver stack and halts the driver there
//! (`crate::model::execution`), and the machine returns the stop. Only
//! driver code running off the driver stack (called by a test directly)
//! still ends the process, after the stop is printed on standard error as
//! `!analyze -v` renders it. A panic inside a routine is the simulator's
//! own: `enter` records it as a simulator panic and the hook leaves it
//! alone.

use crate::model::try_with_state;
use std::panic::PanicHookInfo;
use std::sync::Once;

/// Installs the hook once per process; other panics go to the hook that was
/// installed before.
pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !record_driver_panic(info) && !halting() {
                previous(info);
            }
        }));
    });
}

/// Whether a panic comes from driver code being halted: on the driver stack
/// after the machine stopped (the panic Rust raises where a recorded panic
/// reaches a callback's `extern "C"` frame, or one in a destructor the
/// unwinding ran). The abort that follows halts the driver and the machine
/// returns its stop, so it is not reported a second time.
fn halting() -> bool {
    crate::model::execution::in_driver_stack() && try_with_state(|s| s.is_stopped()).unwrap_or(false)
}

/// Records a panic of driver code as the machine's stop and prints it;
/// false when the panic is not the driver's (no machine on this thread, the
/// state borrowed by the simulator, a routine's frame innermost, or the
/// machine already stopped).
fn record_driver_panic(info: &PanicHookInfo<'_>) -> bool {
    let message = info.payload_as_str().unwrap_or("non-string panic payload");
    let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
    let rendered = try_with_state(|s| {
        if s.is_stopped() || !s.kernel.frames.driver_on_top() {
            return None;
        }
        let frame = &s.kernel.frames[s.kernel.frames.len() - 1];
        let (image, symbol) = (frame.image.to_string(), frame.symbol.to_string());
        s.rust_panic_stop(format!(
            "{image} panicked in {symbol}{at}: {message} (K5: the driver must return an NTSTATUS instead)"
        ));
        s.stop.as_ref().map(ToString::to_string)
    })
    .flatten();
    let Some(text) = rendered else { return false };
    if crate::model::execution::in_driver_stack() {
        // The machine returns the stop: after the unwinding to a closure's
        // end, or the abort at a callback's `extern "C"` frame.
        return true;
    }
    eprintln!(
        "kmdf-sim: a panic in driver code stopped the machine (bug check 0x52504E43, as wdk-panic raises it). \
         Driver code called off the machine's driver stack cannot be halted: the test process aborts next.\n\
         {text}"
    );
    true
}
