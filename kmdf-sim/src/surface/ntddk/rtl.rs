//! More Rtl string routines (F148): the rules are the model's
//! `kernel::rtl_convert` (and `kernel::rtl_strings` for appends and
//! comparisons). The shims read and write the driver's counted strings.

use super::{gated, units};
use crate::abi::*;
use crate::model::Routine;
use crate::model::kernel::rtl_convert::{self, STATUS_BUFFER_OVERFLOW};

/// The bytes an ANSI string holds (`Length`); empty for null.
///
/// # Safety
/// `s` null or a valid STRING whose Buffer holds Length bytes.
unsafe fn bytes<'a>(s: *const STRING) -> &'a [u8] {
    // SAFETY: null or valid (the caller's contract).
    match unsafe { s.as_ref() } {
        Some(s) if !s.Buffer.is_null() => {
            // SAFETY: Buffer holds Length bytes (the STRING contract).
            unsafe { std::slice::from_raw_parts(s.Buffer.cast::<u8>(), usize::from(s.Length)) }
        }
        _ => &[],
    }
}

/// Writes `data` (and a NUL when `nul`) at `buffer`.
///
/// # Safety
/// `buffer` writable for `data.len() + nul` elements.
unsafe fn put<T: Copy + Default>(buffer: *mut T, data: &[T], nul: bool) {
    // SAFETY: writable for data.len() elements (the caller's contract);
    // `data` is the model's own copy, not the destination.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buffer, data.len()) };
    if nul {
        // SAFETY: writable for one more element (the caller's contract).
        let end = unsafe { buffer.add(data.len()) };
        // SAFETY: as above.
        unsafe { end.write(T::default()) };
    }
}

/// Shared body of `RtlInitAnsiString` and `RtlInitString`: the string
/// describes `source` (Length its bytes, at most 65,534; MaximumLength one
/// more), or is empty for a null source (F148).
///
/// # Safety
/// `dest` writable; `source` null or NUL-terminated.
unsafe fn init(routine: Routine, dest: *mut STRING, source: PCSZ) {
    let len = if source.is_null() {
        0
    } else {
        // SAFETY: NUL-terminated (the caller's contract).
        unsafe { std::ffi::CStr::from_ptr(source) }.count_bytes().min(65_534)
    };
    if !gated(routine, false, |_| Some(true)) {
        return;
    }
    // SAFETY: writable (the caller's contract).
    let Some(d) = (unsafe { dest.as_mut() }) else { return };
    d.Buffer = source.cast_mut();
    d.Length = len as USHORT;
    d.MaximumLength = if source.is_null() { 0 } else { (len + 1) as USHORT };
}

/// `RtlInitAnsiString` (F148).
///
/// # Safety
/// `DestinationString` writable; `SourceString` null or NUL-terminated and
/// alive while the string is used.
pub unsafe extern "C" fn RtlInitAnsiString(DestinationString: PANSI_STRING, SourceString: PCSZ) {
    // SAFETY: the routine's contract.
    unsafe { init(Routine::RtlInitAnsiString, DestinationString, SourceString) }
}

/// `RtlInitString` (F148): as `RtlInitAnsiString`.
///
/// # Safety
/// As `RtlInitAnsiString`.
pub unsafe extern "C" fn RtlInitString(DestinationString: PSTRING, SourceString: PCSZ) {
    // SAFETY: the routine's contract.
    unsafe { init(Routine::RtlInitString, DestinationString, SourceString) }
}

/// `RtlAppendUnicodeStringToString` (F148): STATUS_BUFFER_TOO_SMALL (the
/// destination unchanged) when the source does not fit.
///
/// # Safety
/// `Destination` valid with a writable Buffer of MaximumLength bytes;
/// `Source` valid.
#[must_use]
pub unsafe extern "C" fn RtlAppendUnicodeStringToString(
    Destination: PUNICODE_STRING,
    Source: PCUNICODE_STRING,
) -> NTSTATUS {
    // SAFETY: valid (the routine's contract); copied: the source may share
    // the destination's buffer.
    let source = unsafe { units(Source) }.to_vec();
    // SAFETY: valid (the routine's contract).
    let Some(dest) = (unsafe { Destination.as_mut() }) else { return crate::STATUS_INVALID_PARAMETER };
    let (length, capacity) = (usize::from(dest.Length) / 2, usize::from(dest.MaximumLength) / 2);
    let plan = gated(Routine::RtlAppendUnicodeStringToString, Err(crate::model::STOPPED_STATUS), |_| {
        Some(crate::model::kernel::rtl_strings::append_plan(length, source.len(), capacity))
    });
    let nul = match plan {
        Ok(nul) => nul,
        Err(status) => return status,
    };
    // SAFETY: length <= capacity: inside (or at the end of) the buffer.
    let at = unsafe { dest.Buffer.add(length) };
    // SAFETY: length + source + nul <= capacity units (the plan).
    unsafe { put(at, &source, nul) };
    dest.Length = ((length + source.len()) * 2) as USHORT;
    crate::STATUS_SUCCESS
}

/// Where a conversion's result goes: a buffer the model allocates, or the
/// caller's if it fits (a NUL after it when room is left); the buffer and
/// MaximumLength, or the failure status.
fn destination(
    routine: Routine,
    allocate: bool,
    bytes: usize,
    unit: usize,
    given: (u64, USHORT),
) -> Result<(u64, USHORT, bool), NTSTATUS> {
    gated(routine, Err(crate::model::STOPPED_STATUS), |s| {
        let Ok(max) = USHORT::try_from(bytes + unit) else {
            return Some(Err(crate::STATUS_INVALID_PARAMETER));
        };
        if allocate {
            return Some(Ok((s.rtl_allocate_string(bytes + unit), max, true)));
        }
        let (buffer, capacity) = given;
        if bytes > usize::from(capacity) || (bytes > 0 && buffer == 0) {
            return Some(Err(STATUS_BUFFER_OVERFLOW));
        }
        Some(Ok((buffer, capacity, bytes + unit <= usize::from(capacity))))
    })
}

/// `RtlUnicodeStringToAnsiString` (F148): the source in the ANSI code page,
/// into a buffer it allocates (`AllocateDestinationString`; free it with
/// `RtlFreeAnsiString`) or the caller's — STATUS_BUFFER_OVERFLOW, the
/// destination unchanged, when it does not fit.
///
/// # Safety
/// `DestinationString` writable (its Buffer writable for MaximumLength bytes
/// unless allocating); `SourceString` valid.
#[must_use]
pub unsafe extern "C" fn RtlUnicodeStringToAnsiString(
    DestinationString: PANSI_STRING,
    SourceString: PCUNICODE_STRING,
    AllocateDestinationString: BOOLEAN,
) -> NTSTATUS {
    // SAFETY: valid (the routine's contract).
    let ansi = rtl_convert::to_ansi(unsafe { units(SourceString) });
    // SAFETY: writable (the routine's contract).
    let Some(d) = (unsafe { DestinationString.as_mut() }) else { return crate::STATUS_INVALID_PARAMETER };
    let given = (d.Buffer as u64, d.MaximumLength);
    let routine = Routine::RtlUnicodeStringToAnsiString;
    let (buffer, max, nul) = match destination(routine, AllocateDestinationString != 0, ansi.len(), 1, given) {
        Ok(plan) => plan,
        Err(status) => return status,
    };
    let buffer = buffer as *mut u8;
    // SAFETY: the model's buffer of ansi.len() + 1 bytes, or the caller's of
    // MaximumLength >= ansi.len() (+ 1 when `nul`).
    unsafe { put(buffer, &ansi, nul) };
    d.Buffer = buffer.cast();
    d.Length = ansi.len() as USHORT;
    d.MaximumLength = max;
    crate::STATUS_SUCCESS
}

/// `RtlAnsiStringToUnicodeString` (F148): as `RtlUnicodeStringToAnsiString`
/// the other way (free an allocated buffer with `RtlFreeUnicodeString`).
///
/// # Safety
/// As `RtlUnicodeStringToAnsiString`.
#[must_use]
pub unsafe extern "C" fn RtlAnsiStringToUnicodeString(
    DestinationString: PUNICODE_STRING,
    SourceString: PANSI_STRING,
    AllocateDestinationString: BOOLEAN,
) -> NTSTATUS {
    // SAFETY: valid (the routine's contract).
    let wide = rtl_convert::from_ansi(unsafe { bytes(SourceString) });
    // SAFETY: writable (the routine's contract).
    let Some(d) = (unsafe { DestinationString.as_mut() }) else { return crate::STATUS_INVALID_PARAMETER };
    let given = (d.Buffer as u64, d.MaximumLength);
    let routine = Routine::RtlAnsiStringToUnicodeString;
    let (buffer, max, nul) = match destination(routine, AllocateDestinationString != 0, wide.len() * 2, 2, given) {
        Ok(plan) => plan,
        Err(status) => return status,
    };
    let buffer = buffer as *mut u16;
    // SAFETY: as in RtlUnicodeStringToAnsiString, in units of two bytes.
    unsafe { put(buffer, &wide, nul) };
    d.Buffer = buffer;
    d.Length = (wide.len() * 2) as USHORT;
    d.MaximumLength = max;
    crate::STATUS_SUCCESS
}

/// `RtlFreeUnicodeString` (F148): frees a buffer a conversion allocated.
///
/// # Safety
/// `UnicodeString` writable.
pub unsafe extern "C" fn RtlFreeUnicodeString(UnicodeString: PUNICODE_STRING) {
    // SAFETY: writable (the routine's contract).
    let Some(s) = (unsafe { UnicodeString.as_mut() }) else { return };
    let buffer = s.Buffer as u64;
    if gated(Routine::RtlFreeUnicodeString, None, |st| Some(st.rtl_free_string("RtlFreeUnicodeString", buffer)))
        .is_some()
    {
        (s.Buffer, s.Length, s.MaximumLength) = (std::ptr::null_mut(), 0, 0);
    }
}

/// `RtlFreeAnsiString` (F148): as `RtlFreeUnicodeString`.
///
/// # Safety
/// `AnsiString` writable.
pub unsafe extern "C" fn RtlFreeAnsiString(AnsiString: PANSI_STRING) {
    // SAFETY: writable (the routine's contract).
    let Some(s) = (unsafe { AnsiString.as_mut() }) else { return };
    let buffer = s.Buffer as u64;
    if gated(Routine::RtlFreeAnsiString, None, |st| Some(st.rtl_free_string("RtlFreeAnsiString", buffer))).is_some() {
        (s.Buffer, s.Length, s.MaximumLength) = (std::ptr::null_mut(), 0, 0);
    }
}

/// Shared body of the integer-to-string routines: the digits into the
/// caller's buffer, STATUS_BUFFER_OVERFLOW when they do not fit,
/// STATUS_INVALID_PARAMETER for a base other than 0, 2, 8, 10, 16.
///
/// # Safety
/// `string` valid with a writable Buffer of MaximumLength bytes.
unsafe fn integer_to_string(routine: Routine, value: u64, base: u32, string: PUNICODE_STRING) -> NTSTATUS {
    if !gated(routine, false, |_| Some(true)) {
        return crate::model::STOPPED_STATUS;
    }
    let Some(digits) = rtl_convert::integer_units(value, base) else { return crate::STATUS_INVALID_PARAMETER };
    // SAFETY: valid (the caller's contract).
    let Some(s) = (unsafe { string.as_mut() }) else { return crate::STATUS_INVALID_PARAMETER };
    let capacity = usize::from(s.MaximumLength) / 2;
    if digits.len() > capacity || s.Buffer.is_null() {
        return STATUS_BUFFER_OVERFLOW;
    }
    // SAFETY: digits.len() (+ 1 when room is left) <= capacity units.
    unsafe { put(s.Buffer, &digits, digits.len() < capacity) };
    s.Length = (digits.len() * 2) as USHORT;
    crate::STATUS_SUCCESS
}

/// `RtlIntegerToUnicodeString` (F148).
///
/// # Safety
/// `String` valid with a writable Buffer of MaximumLength bytes.
#[must_use]
pub unsafe extern "C" fn RtlIntegerToUnicodeString(Value: ULONG, Base: ULONG, String: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: the routine's contract.
    unsafe { integer_to_string(Routine::RtlIntegerToUnicodeString, u64::from(Value), Base, String) }
}

/// `RtlInt64ToUnicodeString` (F148).
///
/// # Safety
/// As `RtlIntegerToUnicodeString`.
#[must_use]
pub unsafe extern "C" fn RtlInt64ToUnicodeString(Value: ULONGLONG, Base: ULONG, String: PUNICODE_STRING) -> NTSTATUS {
    // SAFETY: the routine's contract.
    unsafe { integer_to_string(Routine::RtlInt64ToUnicodeString, Value, Base, String) }
}

/// `RtlUnicodeStringToInteger` (F148).
///
/// # Safety
/// `String` valid; `Value` writable.
#[must_use]
pub unsafe extern "C" fn RtlUnicodeStringToInteger(String: PCUNICODE_STRING, Base: ULONG, Value: PULONG) -> NTSTATUS {
    // SAFETY: valid (the routine's contract).
    let text = unsafe { units(String) };
    let parsed = gated(Routine::RtlUnicodeStringToInteger, Err(crate::model::STOPPED_STATUS), |_| {
        Some(rtl_convert::parse_integer(text, Base).ok_or(crate::STATUS_INVALID_PARAMETER))
    });
    match parsed {
        Ok(v) => {
            // SAFETY: writable (the routine's contract).
            let Some(out) = (unsafe { Value.as_mut() }) else { return crate::STATUS_INVALID_PARAMETER };
            *out = v;
            crate::STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// `RtlPrefixUnicodeString` (F148): TRUE when `String1` begins `String2`.
///
/// # Safety
/// Both strings valid.
pub unsafe extern "C" fn RtlPrefixUnicodeString(
    String1: PCUNICODE_STRING,
    String2: PCUNICODE_STRING,
    CaseInSensitive: BOOLEAN,
) -> BOOLEAN {
    // SAFETY: valid (the routine's contract).
    let prefix = unsafe { units(String1) };
    // SAFETY: as above.
    let whole = unsafe { units(String2) };
    gated(Routine::RtlPrefixUnicodeString, 0, |_| {
        let n = prefix.len();
        let is =
            n <= whole.len() && crate::model::kernel::rtl_strings::equal(prefix, &whole[..n], CaseInSensitive != 0);
        Some(BOOLEAN::from(is))
    })
}
