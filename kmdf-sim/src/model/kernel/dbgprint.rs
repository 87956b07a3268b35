//! `DbgPrint` / `DbgPrintEx`: the kernel's printf, with Windows' conversions
//! and sizes (F81), formatted into the machine's debug output.
//!
//! The model parses the format and decides what each conversion takes; where
//! the arguments come from (a C `va_list`) and how a string is read from the
//! driver's memory is the surface's business, behind [`Arguments`].

/// The most a single call transmits (F81): longer output is cut here.
pub(crate) const MAX_OUTPUT: usize = 512;

/// The variadic arguments of one call, taken in order, and the driver memory
/// its string conversions point at.
pub(crate) trait Arguments {
    /// The next argument as a 32-bit integer (`int`, `long`, `char`).
    fn next_u32(&mut self) -> u32;
    /// The next argument as a 64-bit integer or pointer.
    fn next_u64(&mut self) -> u64;
    /// The next argument as a `double`.
    fn next_f64(&mut self) -> f64;
    /// The NUL-terminated narrow string at non-null `p`.
    fn c_string(&mut self, p: u64) -> Vec<u8>;
    /// The NUL-terminated UTF-16 string at non-null `p`.
    fn wide_string(&mut self, p: u64) -> Vec<u16>;
    /// The text of the `ANSI_STRING` at non-null `p` (`Length` bytes).
    fn ansi_string(&mut self, p: u64) -> Vec<u8>;
    /// The text of the `UNICODE_STRING` at non-null `p` (`Length` bytes).
    fn unicode_string(&mut self, p: u64) -> Vec<u16>;
}

impl crate::model::State {
    /// A DbgPrint / DbgPrintEx line (`level`: DbgPrintEx's component and
    /// level). Every level is kept: the machine's log is a debugger with
    /// every component's filter mask on (ASSUMPTION, F81). A Unicode
    /// conversion above PASSIVE_LEVEL is a finding (F81). After a stop
    /// nothing is printed: the machine has halted.
    pub(crate) fn dbg_print(&mut self, text: &str, unicode: bool, level: Option<(u32, u32)>) {
        if self.is_stopped() {
            return;
        }
        if unicode && self.kernel.irql > crate::abi::PASSIVE_LEVEL as u8 {
            let routine = if level.is_some() { "DbgPrintEx" } else { "DbgPrint" };
            let n = self.kernel.frames.len();
            let image = if n > 0 { self.kernel.frames[n - 1].image.to_string() } else { String::new() };
            self.framework.findings.push(format!(
                "{image}: {routine} with a Unicode conversion at IRQL {}: those are allowed at PASSIVE_LEVEL only \
                 (docs/facts.md#f81)",
                self.kernel.irql
            ));
        }
        self.debug_print(text);
    }
}

/// One conversion's flags, width and precision.
#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alternate: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
}

/// The argument size a length prefix gives an integer conversion (F81:
/// `long` is 32 bits on Windows; `I`, `z`, `t` are pointer-sized).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Size {
    Char,
    Short,
    Int,
    Wide64,
}

/// Formats `format` with `args` as the kernel's DbgPrint does (F81): the
/// text, cut at [`MAX_OUTPUT`] bytes, and whether a Unicode conversion was
/// used (those are allowed at PASSIVE_LEVEL only).
pub(crate) fn format(format: &[u8], args: &mut impl Arguments) -> (String, bool) {
    let mut out: Vec<u8> = Vec::with_capacity(format.len() + 16);
    let mut unicode = false;
    let mut i = 0;
    while i < format.len() {
        let c = format[i];
        i += 1;
        if c != b'%' {
            out.push(c);
            continue;
        }
        let start = i - 1;
        let mut spec = Spec::default();
        while let Some(&f) = format.get(i) {
            match f {
                b'-' => spec.left = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                b'#' => spec.alternate = true,
                b'0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        if format.get(i) == Some(&b'*') {
            i += 1;
            let w = args.next_u32() as i32;
            spec.left |= w < 0;
            spec.width = w.unsigned_abs() as usize;
        } else {
            spec.width = digits(format, &mut i);
        }
        if format.get(i) == Some(&b'.') {
            i += 1;
            spec.precision = Some(if format.get(i) == Some(&b'*') {
                i += 1;
                usize::try_from(args.next_u32() as i32).unwrap_or(0)
            } else {
                digits(format, &mut i)
            });
        }
        let (size, wide, narrow) = length(format, &mut i);
        let Some(&conversion) = format.get(i) else {
            out.extend_from_slice(&format[start..]);
            break;
        };
        i += 1;
        match conversion {
            b'%' => out.push(b'%'),
            b'd' | b'i' => {
                let v = signed(args, size);
                let sign = if v < 0 {
                    "-"
                } else if spec.plus {
                    "+"
                } else if spec.space {
                    " "
                } else {
                    ""
                };
                pad_number(&mut out, &spec, sign, v.unsigned_abs().to_string());
            }
            b'u' | b'o' | b'x' | b'X' => {
                let v = unsigned(args, size);
                let (digits, prefix) = match conversion {
                    b'u' => (v.to_string(), ""),
                    b'o' => (format!("{v:o}"), if spec.alternate && v != 0 { "0" } else { "" }),
                    b'x' => (format!("{v:x}"), if spec.alternate && v != 0 { "0x" } else { "" }),
                    _ => (format!("{v:X}"), if spec.alternate && v != 0 { "0X" } else { "" }),
                };
                pad_number(&mut out, &spec, prefix, digits);
            }
            b'p' => {
                let v = args.next_u64();
                pad(&mut out, &spec, format!("{v:016X}").as_bytes());
            }
            b'c' | b'C' => {
                let v = args.next_u32();
                let text = if (conversion == b'C' && !narrow) || wide {
                    unicode = true;
                    String::from_utf16_lossy(&[v as u16])
                } else {
                    String::from_utf8_lossy(&[v as u8]).into_owned()
                };
                pad(&mut out, &spec, text.as_bytes());
            }
            b's' | b'S' | b'Z' => {
                let p = args.next_u64();
                let is_wide = (conversion == b'S' && !narrow) || wide;
                unicode |= is_wide;
                let text = match (p, conversion, is_wide) {
                    (0, ..) => "(null)".to_string(),
                    (_, b'Z', true) => String::from_utf16_lossy(&args.unicode_string(p)),
                    (_, b'Z', false) => String::from_utf8_lossy(&args.ansi_string(p)).into_owned(),
                    (_, _, true) => String::from_utf16_lossy(&args.wide_string(p)),
                    (_, _, false) => String::from_utf8_lossy(&args.c_string(p)).into_owned(),
                };
                let cut = spec.precision.map_or(text.len(), |n| char_boundary(&text, n));
                pad(&mut out, &spec, &text.as_bytes()[..cut]);
            }
            b'e' | b'E' | b'f' | b'F' | b'g' | b'G' | b'a' | b'A' => {
                // F81: DbgPrint has no floating-point conversions; the value
                // is taken and the conversion is shown as written.
                let _ = args.next_f64();
                out.extend_from_slice(&format[start..i]);
            }
            b'n' => {
                // F81: `%n` writes nothing in the kernel; its pointer is taken.
                let _ = args.next_u64();
            }
            _ => out.extend_from_slice(&format[start..i]),
        }
    }
    if out.len() > MAX_OUTPUT {
        out.truncate(MAX_OUTPUT);
    }
    (String::from_utf8_lossy(&out).into_owned(), unicode)
}

/// A decimal number at `format[*i..]`, 0 if there is none.
fn digits(format: &[u8], i: &mut usize) -> usize {
    let mut n = 0usize;
    while let Some(d) = format.get(*i).filter(|d| d.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(usize::from(d - b'0'));
        *i += 1;
    }
    n
}

/// The length prefix at `format[*i..]`: the integer size, whether it makes a
/// character or string conversion wide (`l`, `w`) or narrow (`h`).
fn length(format: &[u8], i: &mut usize) -> (Size, bool, bool) {
    let rest = &format[*i..];
    let (taken, size, wide, narrow) = if rest.starts_with(b"I64") {
        (3, Size::Wide64, false, false)
    } else if rest.starts_with(b"I32") {
        (3, Size::Int, false, false)
    } else if rest.starts_with(b"ll") {
        (2, Size::Wide64, false, false)
    } else if rest.starts_with(b"hh") {
        (2, Size::Char, false, true)
    } else {
        match rest.first() {
            Some(b'I' | b'z' | b't' | b'j') => (1, Size::Wide64, false, false),
            Some(b'l') => (1, Size::Int, true, false),
            Some(b'w') => (1, Size::Int, true, false),
            Some(b'h') => (1, Size::Short, false, true),
            Some(b'L') => (1, Size::Int, false, false),
            _ => (0, Size::Int, false, false),
        }
    };
    *i += taken;
    (size, wide, narrow)
}

fn signed(args: &mut impl Arguments, size: Size) -> i64 {
    match size {
        Size::Wide64 => args.next_u64() as i64,
        Size::Int => i64::from(args.next_u32() as i32),
        Size::Short => i64::from(args.next_u32() as i16),
        Size::Char => i64::from(args.next_u32() as i8),
    }
}

fn unsigned(args: &mut impl Arguments, size: Size) -> u64 {
    match size {
        Size::Wide64 => args.next_u64(),
        Size::Int => u64::from(args.next_u32()),
        Size::Short => u64::from(args.next_u32() as u16),
        Size::Char => u64::from(args.next_u32() as u8),
    }
}

/// The longest prefix of `text` of at most `n` bytes ending on a character.
fn char_boundary(text: &str, n: usize) -> usize {
    (0..=n.min(text.len())).rev().find(|&k| text.is_char_boundary(k)).unwrap_or(0)
}

/// `text` padded to the spec's width with spaces.
fn pad(out: &mut Vec<u8>, spec: &Spec, text: &[u8]) {
    let fill = spec.width.saturating_sub(text.len());
    if !spec.left {
        out.resize(out.len() + fill, b' ');
    }
    out.extend_from_slice(text);
    if spec.left {
        out.resize(out.len() + fill, b' ');
    }
}

/// A number: at least `precision` digits, then the sign or prefix, padded
/// to the width with zeros (flag `0`, no precision, not left-justified) or
/// spaces.
fn pad_number(out: &mut Vec<u8>, spec: &Spec, prefix: &str, mut digits: String) {
    if let Some(p) = spec.precision {
        if p == 0 && digits == "0" {
            digits.clear();
        } else if digits.len() < p {
            digits.insert_str(0, &"0".repeat(p - digits.len()));
        }
    }
    let body = prefix.len() + digits.len();
    if spec.zero && !spec.left && spec.precision.is_none() && spec.width > body {
        out.extend_from_slice(prefix.as_bytes());
        out.resize(out.len() + spec.width - body, b'0');
        out.extend_from_slice(digits.as_bytes());
    } else {
        pad(out, spec, format!("{prefix}{digits}").as_bytes());
    }
}

/// [`crate::model::State::dbg_print`] on this thread's machine; false without one.
pub(crate) fn print(text: &str, unicode: bool, level: Option<(u32, u32)>) -> bool {
    crate::model::with_state(|s| s.dbg_print(text, unicode, level)).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Arguments from a list; strings from a table by address.
    struct List(Vec<u64>, Vec<(u64, &'static str)>);

    impl List {
        fn text(&self, p: u64) -> &'static str {
            self.1.iter().find(|(a, _)| *a == p).map(|(_, t)| *t).expect("a known address")
        }
    }

    impl Arguments for List {
        fn next_u32(&mut self) -> u32 {
            self.0.remove(0) as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0.remove(0)
        }
        fn next_f64(&mut self) -> f64 {
            f64::from_bits(self.0.remove(0))
        }
        fn c_string(&mut self, p: u64) -> Vec<u8> {
            self.text(p).as_bytes().to_vec()
        }
        fn wide_string(&mut self, p: u64) -> Vec<u16> {
            self.text(p).encode_utf16().collect()
        }
        fn ansi_string(&mut self, p: u64) -> Vec<u8> {
            self.c_string(p)
        }
        fn unicode_string(&mut self, p: u64) -> Vec<u16> {
            self.wide_string(p)
        }
    }

    fn f(fmt: &str, args: &[u64]) -> String {
        format(fmt.as_bytes(), &mut List(args.to_vec(), vec![(0x10, "abc"), (0x20, "wide")])).0
    }

    #[test]
    fn integers_take_windows_sizes() {
        assert_eq!(f("%d|%i|%u", &[u64::from(-5_i32 as u32), 7, 0xFFFF_FFFF]), "-5|7|4294967295");
        // `l` is 32 bits on Windows; `ll`, `I64`, `I`, `z` are 64.
        assert_eq!(
            f("%lu %llu %I64x %Ix %zu", &[1, 1 << 40, 1 << 36, 0xABCDEF0123, 9]),
            "1 1099511627776 1000000000 abcdef0123 9"
        );
        assert_eq!(f("%hd %hhu", &[0x1_8000, 0x1FF]), "-32768 255");
        assert_eq!(
            f("%08X|%-4d|%4d|%+d|%#x|%.3d|%5.2x", &[0xBEEF, 3, 3, 3, 255, 7, 1]),
            "0000BEEF|3   |   3|+3|0xff|007|   01"
        );
        assert_eq!(f("%*d|%.*u", &[5, 42, 4, 9]), "   42|0009");
    }

    #[test]
    fn pointers_strings_and_characters() {
        assert_eq!(f("%p", &[0xFFFF_B000_0000_0010]), "FFFFB00000000010");
        assert_eq!(
            f("[%s] [%ws] [%S] [%ls] [%Z] [%wZ]", &[0x10, 0x20, 0x20, 0x20, 0x10, 0x20]),
            "[abc] [wide] [wide] [wide] [abc] [wide]"
        );
        assert_eq!(f("%s %wZ", &[0, 0]), "(null) (null)");
        assert_eq!(f("%.2s|%5s|%-5s|", &[0x10, 0x10, 0x10]), "ab|  abc|abc  |");
        assert_eq!(f("%c%wc%C", &[u64::from(b'x'), 0x263A, u64::from(b'y')]), "x\u{263A}y");
        let (_, unicode) = format(b"%s", &mut List(vec![0x10], vec![(0x10, "a")]));
        assert!(!unicode);
        let (_, unicode) = format(b"%wZ", &mut List(vec![0x10], vec![(0x10, "a")]));
        assert!(unicode, "a Unicode conversion is reported (PASSIVE_LEVEL only)");
    }

    #[test]
    fn what_dbgprint_does_not_convert_is_shown_as_written() {
        assert_eq!(f("100%% %f %q|", &[1.5_f64.to_bits()]), "100% %f %q|");
        assert_eq!(f("%n|end %", &[0x10]), "|end %");
        let long = "x".repeat(600);
        assert_eq!(f(&long, &[]).len(), MAX_OUTPUT, "a call transmits at most 512 bytes");
    }
}
