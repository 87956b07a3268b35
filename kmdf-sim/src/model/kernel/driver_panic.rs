//! A panic in driver code is wdk-panic's bug check 0x52504E43 (guide §4).
//!
//! A panic that starts in driver code (the innermost simulated frame is the
//! driver's) is recorded as that stop by a panic hook, before any unwinding,
//! with the callback it ran in (`echo.sys panicked in EvtIoRead`). A panic in
//! a closure handed to `Machine::run` then unwinds to the machine, which
//! returns the stop; one in a driver callback cannot unwind through the
//! driver's `extern "C"` frame, so the process aborts next — with the stop,
//! rendered as `!analyze -v` does, on standard error first, never a bare
//! abort. A panic inside a routine is the simulator's own: `enter` records
//! it as a simulator panic and the hook leaves it alone.

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
            if !record_driver_panic(info) {
                previous(info);
            }
        }));
    });
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
    eprintln!(
        "kmdf-sim: a panic in driver code stopped the machine (bug check 0x52504E43, as wdk-panic raises it). \
         Inside a driver callback it cannot unwind through the extern \"C\" frame: the test process aborts next.\n\
         {text}"
    );
    true
}
