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
    /// `image` is the kernel's (`ntoskrnl.exe`): not who acts ([`State::site`]).
    kernel: bool,
}

impl Frame {
    pub(crate) fn new(image: Name, symbol: Name) -> Frame {
        let (driver, kernel) = classify(&image);
        Frame { image, symbol, driver, kernel }
    }

    /// A frame of KMDF's stub code linked into a driver's image
    /// (`FxStubDriverUnload`, F126): named as the driver's, but the
    /// framework's code — it reads no driver memory and allocates nothing,
    /// so returning to it is not driver code running (no seal of special
    /// pool's frees, F85; no allocation counted as the driver's).
    pub(crate) fn stub(image: Name, symbol: Name) -> Frame {
        let kernel = classify(&image).1;
        Frame { image, symbol, driver: false, kernel }
    }
}

/// Whether `image` is a driver's (neither the framework's nor the
/// kernel's, the images of every DDI's own frame), and whether it is the
/// kernel's: the constants' own texts are recognised by address first, any
/// other text by comparison.
#[inline]
fn classify(image: &str) -> (bool, bool) {
    if std::ptr::eq(image, FRAMEWORK_MODULE) {
        (false, false)
    } else if std::ptr::eq(image, KERNEL_MODULE) {
        (false, true)
    } else if image == FRAMEWORK_MODULE {
        (false, false)
    } else if image == KERNEL_MODULE {
        (false, true)
    } else {
        (true, false)
    }
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
    pub(crate) name: Name,
    pub(crate) has_peb: bool,
}

/// Sets of [`FrameNames`]; a power of two.
const FRAME_NAME_SETS: usize = 128;
/// Entries per set of [`FrameNames`].
const FRAME_NAME_WAYS: usize = 2;

/// One remembered driver frame: the texts a caller passed (`name` by its
/// address and length) and the names made from them.
#[derive(Debug, Clone)]
struct FrameNameEntry {
    /// The image, as the frame keeps it.
    image: Name,
    /// Address and length of the `name` text the entry was made for.
    name_at: usize,
    name_len: usize,
    /// `module!name`.
    symbol: Name,
    /// Whether `image` is a driver's ([`classify`]).
    driver: bool,
    kernel: bool,
}

impl FrameNameEntry {
    /// Whether this entry was made for the texts `image` and `name`.
    #[inline]
    fn is_for(&self, image: &str, name: &str) -> bool {
        // The image's own text is held by the entry, so the same address
        // and length is the same text; the name's text is the caller's and
        // may be gone: its text decides (the symbol ends with it).
        name.as_ptr() as usize == self.name_at
            && name.len() == self.name_len
            && (std::ptr::eq(self.image.as_str(), image) || self.image.as_str() == image)
            && self.symbol.as_bytes()[self.symbol.len() - name.len()..] == *name.as_bytes()
    }
}

/// Driver frame names made once, looked up by the addresses of the texts
/// a caller passed: a set-associative table of [`FRAME_NAME_SETS`] sets of
/// [`FRAME_NAME_WAYS`] entries, the most recently made first in its set (an
/// entry pushed out is made again when next needed), so the table is
/// bounded whatever a run calls.
///
/// # Invariants
/// `sets.len() == FRAME_NAME_SETS`; every entry's `symbol` is `module!name`
/// for its `image` (module = image without `.sys`) and the `name` text of
/// `name_len` bytes it was made for; `driver`/`kernel` are
/// [`classify`]`(image)`.
#[derive(Debug)]
pub(crate) struct FrameNames {
    sets: Box<[[Option<FrameNameEntry>; FRAME_NAME_WAYS]]>,
}

impl Default for FrameNames {
    fn default() -> Self {
        FrameNames { sets: (0..FRAME_NAME_SETS).map(|_| Default::default()).collect() }
    }
}

impl FrameNames {
    /// The set the texts at these addresses belong to.
    #[inline]
    fn set_of(image: &str, name: &str) -> usize {
        let key = (image.as_ptr() as u64).rotate_left(21) ^ name.as_ptr() as u64;
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - FRAME_NAME_SETS.trailing_zeros())) as usize
    }

    /// The entry for `image` and `name`, made (and remembered) if needed.
    #[inline(always)]
    fn entry(&mut self, image: &str, name: &str) -> &FrameNameEntry {
        let index = Self::set_of(image, name);
        let set = &mut self.sets[index];
        match set.iter().position(|e| e.as_ref().is_some_and(|e| e.is_for(image, name))) {
            Some(way) if way > 0 => set[..=way].rotate_right(1),
            Some(_) => {}
            None => self.make(index, image, name),
        }
        self.sets[index][0].as_ref().expect("the entry just found or made is first in its set")
    }

    /// Makes the entry for `image` and `name`, first in set `index`.
    #[cold]
    #[inline(never)]
    fn make(&mut self, index: usize, image: &str, name: &str) {
        // An image text some entry already holds is shared, not copied
        // again (so most lookups find the image by its address).
        let held = self.sets.iter().flatten().flatten().find(|e| e.image.as_str() == image).map(|e| e.image.clone());
        let module = image.strip_suffix(".sys").unwrap_or(image);
        let (driver, kernel) = classify(image);
        let made = FrameNameEntry {
            image: held.unwrap_or_else(|| Name::copy_of(image)),
            name_at: name.as_ptr() as usize,
            name_len: name.len(),
            symbol: Name::from(format!("{module}!{name}")),
            driver,
            kernel,
        };
        let set = &mut self.sets[index];
        set.rotate_right(1);
        set[0] = Some(made);
    }
}

impl State {
    /// The first frame outside the kernel on the stack: who is acting.
    pub fn site(&self) -> Name {
        self.kernel.frames.iter().rev().find(|f| !f.kernel).map(|f| f.symbol.clone()).unwrap_or_default()
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
        let e = self.kernel.frame_names.entry(image, name);
        (e.image.clone(), e.symbol.clone())
    }

    /// Pushes the frame of driver code `image` entered at `name` (see
    /// [`State::frame_names`]).
    pub(crate) fn push_driver_frame(&mut self, image: &str, name: &str) {
        let e = self.kernel.frame_names.entry(image, name);
        let frame = Frame { image: e.image.clone(), symbol: e.symbol.clone(), driver: e.driver, kernel: e.kernel };
        self.kernel.frames.push(frame);
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
    pub(crate) fn process_name(&self) -> Name {
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
