//! The simulated thread: its call stack (the frames `!analyze` prints and
//! blames from), the process it runs in and its IRQL.

use crate::model::{FRAMEWORK_MODULE, IN_DRIVER, IrqlVerdict, KERNEL_MODULE, Name, State, with_state};
use std::borrow::Cow;

/// One frame of the simulated call stack.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// Image name, e.g. `Wdf01000.sys`.
    pub image: Name,
    /// Symbol as the debugger prints it, e.g. `Wdf01000!imp_WdfRegistryClose`.
    pub symbol: Name,
    /// `image` is a driver's, not the framework's or the kernel's.
    driver: bool,
}

impl Frame {
    pub(crate) fn new(image: Name, symbol: Name) -> Frame {
        let driver = !system_image(&image);
        Frame { image, symbol, driver }
    }

    /// A frame of KMDF's stub code linked into a driver's image
    /// (`FxStubDriverUnload`, F126): named as the driver's, but the
    /// framework's code — it reads no driver memory and allocates nothing,
    /// so returning to it is not driver code running (no seal of special
    /// pool's frees, F85; no allocation counted as the driver's).
    pub(crate) fn stub(image: Name, symbol: Name) -> Frame {
        Frame { image, symbol, driver: false }
    }
}

/// Whether `image` is the framework's or the kernel's (the images of every
/// DDI's own frame): the constants' own texts are recognised by address
/// first, any other text by comparison.
#[inline]
fn system_image(image: &str) -> bool {
    std::ptr::eq(image, FRAMEWORK_MODULE)
        || std::ptr::eq(image, KERNEL_MODULE)
        || image == FRAMEWORK_MODULE
        || image == KERNEL_MODULE
}

/// The simulated call stack.
#[derive(Debug, Default)]
pub(crate) struct Frames(Vec<Frame>);

impl Frames {
    pub(crate) fn push(&mut self, frame: Frame) {
        self.0.push(frame);
    }

    pub(crate) fn pop(&mut self) -> Option<Frame> {
        self.0.pop()
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// Whether the innermost frame is a driver's (not the framework's or the kernel's).
    pub(crate) fn driver_on_top(&self) -> bool {
        self.0.last().is_some_and(|f| f.driver)
    }

    /// Whether any frame is a driver's: driver code is running or will run
    /// again when the calls above it return.
    pub(crate) fn driver_below(&self) -> bool {
        self.0.iter().any(|f| f.driver)
    }
}

/// Text of a frame: a `&'static str` or a [`Name`] is kept as it is (no
/// copy), an owned `Cow` moved in, a borrowed `String` copied.
pub(crate) trait FrameText {
    /// The text as the frame keeps it.
    fn into_frame_text(self) -> Name;
}

impl FrameText for &'static str {
    fn into_frame_text(self) -> Name {
        Name::from(self)
    }
}

impl FrameText for Name {
    fn into_frame_text(self) -> Name {
        self
    }
}

impl FrameText for &Name {
    fn into_frame_text(self) -> Name {
        self.clone()
    }
}

impl FrameText for Cow<'static, str> {
    fn into_frame_text(self) -> Name {
        match self {
            Cow::Borrowed(s) => Name::from(s),
            Cow::Owned(s) => Name::from(s),
        }
    }
}

impl FrameText for &String {
    fn into_frame_text(self) -> Name {
        Name::copy_of(self)
    }
}

impl std::ops::Deref for Frames {
    type Target = [Frame];
    fn deref(&self) -> &[Frame] {
        &self.0
    }
}

impl Drop for Frames {
    fn drop(&mut self) {
        let _ = IN_DRIVER.try_with(|c| c.set(false));
    }
}

/// The process whose context code runs in.
#[derive(Debug, Clone)]
pub(crate) struct Process {
    pub(crate) name: String,
    pub(crate) has_peb: bool,
}

/// How many driver frame names the machine keeps before it starts over.
const FRAME_NAMES_KEPT: usize = 1024;

/// Driver frame names made once: key = the addresses and lengths of the
/// image and callback texts a caller passed; a hit is confirmed by the texts.
pub(crate) type FrameNames = std::collections::HashMap<
    (usize, usize, usize, usize),
    (Name, Name),
    std::hash::BuildHasherDefault<crate::model::name::AddressHasher>,
>;

impl State {
    /// The first frame outside the kernel on the stack: who is acting.
    pub fn site(&self) -> Name {
        self.kernel.frames.iter().rev().find(|f| f.image != KERNEL_MODULE).map(|f| f.symbol.clone()).unwrap_or_default()
    }

    /// The current stack, innermost first, as `module!symbol` lines.
    pub fn stack(&self) -> Vec<String> {
        self.kernel.frames.iter().rev().map(|f| f.symbol.to_string()).collect()
    }

    /// Pushes a frame: `image` (e.g. `Wdf01000.sys`) and `symbol` (e.g.
    /// `Wdf01000!imp_WdfRegistryClose`), each a `&'static str` (kept without
    /// a copy), a `&String` (copied) or a `Cow` (an owned text moved in).
    pub fn push_frame(&mut self, image: impl FrameText, symbol: impl FrameText) {
        self.kernel.frames.push(Frame::new(image.into_frame_text(), symbol.into_frame_text()));
    }

    /// The frame of driver code `image` entered at `name`: the image and
    /// `module!name` (module = image without `.sys`), made once per pair and
    /// shared from then on.
    pub(crate) fn frame_names(&mut self, image: &str, name: &str) -> (Name, Name) {
        let key = (image.as_ptr() as usize, image.len(), name.as_ptr() as usize, name.len());
        if let Some((i, n)) = self.kernel.frame_names.get(&key)
            // The addresses may be of texts that are gone: the texts decide.
            && i.as_str() == image
            && n.len() == image.strip_suffix(".sys").unwrap_or(image).len() + 1 + name.len()
            && n.ends_with(name)
        {
            return (i.clone(), n.clone());
        }
        if self.kernel.frame_names.len() >= FRAME_NAMES_KEPT {
            self.kernel.frame_names.clear();
        }
        let module = image.strip_suffix(".sys").unwrap_or(image);
        let names = (Name::copy_of(image), Name::from(format!("{module}!{name}")));
        self.kernel.frame_names.insert(key, names.clone());
        names
    }

    /// Pushes the frame of driver code `image` entered at `name` (see
    /// [`State::frame_names`]).
    pub(crate) fn push_driver_frame(&mut self, image: &str, name: &str) {
        let (image, symbol) = self.frame_names(image, name);
        self.kernel.frames.push(Frame::new(image, symbol));
    }

    /// Pushes the frame of KMDF's stub code in driver `image` ([`Frame::stub`]).
    pub(crate) fn push_stub_frame(&mut self, image: &str, name: &str) {
        let (image, symbol) = self.frame_names(image, name);
        self.kernel.frames.push(Frame::stub(image, symbol));
    }

    pub fn pop_frame(&mut self) {
        self.kernel.frames.pop();
    }

    /// The image of the caller of the routine at the top of the stack.
    pub fn caller_image(&self) -> Name {
        let n = self.kernel.frames.len();
        if n >= 2 { self.kernel.frames[n - 2].image.clone() } else { KERNEL_MODULE.into() }
    }

    /// Whether code runs in the System process (driver load, unload, work
    /// items) rather than in an application's.
    pub(crate) fn process_name(&self) -> String {
        self.kernel.process.name.clone()
    }

    pub(crate) fn in_system_process(&self) -> bool {
        !self.kernel.process.has_peb
    }
}

impl State {
    /// Driver Verifier's IRQL rule at the call (F66: with the KMDF verifier
    /// off, only Driver Verifier catches a wrong IRQL). ASSUMPTION: reported
    /// as 0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION with Arg1 0x20004 (the DDI
    /// compliance rule ids are not in the facts), Arg2 the IRQL, Arg3 the
    /// maximum.
    pub(crate) fn driver_verifier_irql_check(&mut self, name: &str, max: u8) -> IrqlVerdict {
        if !self.settings.driver_verifier_irql || self.kernel.irql <= max {
            return IrqlVerdict::Proceed;
        }
        // The routine's own frame is not on the stack yet: the innermost
        // frame is its caller's, the driver that made the call.
        let caller = self.kernel.frames.last().map_or_else(|| KERNEL_MODULE.to_string(), |f| f.image.to_string());
        self.bug_check(
            (
                0xC4,
                [0x20004, u64::from(self.kernel.irql), u64::from(max), 0],
                "DRIVER_VERIFIER_DETECTED_VIOLATION",
                [
                    "DDI compliance: a routine was called above its maximum IRQL (rule id ASSUMPTION).".into(),
                    "The current IRQL.".into(),
                    "The highest IRQL the routine allows.".into(),
                    String::new(),
                ],
            ),
            None,
            Some(format!("{caller} called {name} at IRQL {} (its maximum is {max})", self.kernel.irql)),
        );
        IrqlVerdict::Fail
    }
}

/// `PAGED_CODE()` (wdk's `paged_code!` in a debug build): the code must run
/// at or below APC_LEVEL. Above it, the real macro's `debug_assert!` fails
/// and wdk-panic stops the machine (guide §4: bug check 0x52504E43); the
/// simulator records that stop without unwinding through the driver's
/// `extern "C"` frames and halts the driver's code (F110).
pub(crate) fn paged_code_check(file: &str, line: u32) {
    let stopped = with_state(|s| {
        if s.kernel.irql > crate::abi::APC_LEVEL as u8 && !s.is_stopped() {
            let image = s.kernel.frames.last().map_or_else(|| KERNEL_MODULE.to_string(), |f| f.image.to_string());
            let irql = s.kernel.irql;
            s.rust_panic_stop(format!(
                "{image}: paged_code!() at {file}:{line} ran at IRQL {irql} (it allows at most APC_LEVEL)"
            ));
            return true;
        }
        false
    });
    if stopped == Some(true) {
        // No driver code runs after the stop (F110).
        crate::model::execution::halt();
    }
}

/// The IRQL the simulated thread runs at (PASSIVE_LEVEL without a machine).
pub(crate) fn current_irql() -> u8 {
    crate::model::with_state(|s| s.kernel.irql).unwrap_or(0)
}

/// Whether this thread's machine has stopped (false without one).
pub(crate) fn machine_stopped() -> bool {
    crate::model::with_state(|s| s.is_stopped()).unwrap_or(false)
}

/// Pushes a frame of the driver's own (a native image's call site) on the
/// simulated stack; false without a machine.
pub(crate) fn push_call_site(image: String, symbol: String) -> bool {
    use std::borrow::Cow;
    crate::model::with_state(|s| s.push_frame(Cow::Owned(image), Cow::Owned(symbol))).is_some()
}

/// Pops the frame [`push_call_site`] pushed.
pub(crate) fn pop_call_site() {
    crate::model::with_state(|s| s.pop_frame());
}
