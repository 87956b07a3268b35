//! The close routines a driver calls: `ZwClose`, `ObCloseHandle` and
//! `NtClose`, and the previous processor mode each one closes in (F39–F46,
//! F67, F68).

use super::handles::{HandleOwner, close_in_kernel_mode};
use crate::abi::*;
use crate::model::{STOPPED_STATUS, State, with_state};

/// `ZwClose` from kernel mode: previous mode KernelMode.
pub(crate) fn zw_close(handle: HANDLE) -> NTSTATUS {
    with_state(|s| close_in_kernel_mode(s, handle)).unwrap_or(STOPPED_STATUS)
}

/// A close in previous mode UserMode of a kernel handle: "kernel handles can
/// be closed only when the previous processor mode is KernelMode" (F39), so
/// nothing is closed and the call returns STATUS_INVALID_HANDLE
/// (ASSUMPTION: a user-mode lookup of a kernel handle value finds nothing in
/// the process's table). Traced.
fn user_mode_close(s: &mut State, what: String) -> NTSTATUS {
    let caller = s.caller_image();
    s.framework.framework_log.push(format!("{caller}: {what}: a kernel handle is not closed (docs/facts.md#f39)"));
    STATUS_INVALID_HANDLE
}

/// `ObCloseHandle(Handle, PreviousMode)`: with KernelMode it closes as
/// `ZwClose` does (a WDFKEY's handle closed this way is the same double
/// close, F39–F46); with any other mode it is [`user_mode_close`].
pub(crate) fn ob_close_handle(handle: HANDLE, previous_mode: KPROCESSOR_MODE) -> NTSTATUS {
    with_state(|s| {
        if previous_mode != _MODE::KernelMode as KPROCESSOR_MODE {
            let what = format!("ObCloseHandle({:#x}, {previous_mode}) with PreviousMode not KernelMode", handle as u64);
            return user_mode_close(s, what);
        }
        close_in_kernel_mode(s, handle)
    })
    .unwrap_or(STOPPED_STATUS)
}

/// `NtClose`: as `ZwClose`, except that the handle is interpreted in the
/// thread's *previous* mode: a driver thread running on behalf of an
/// application (an IOCTL in the caller's process) has previous mode
/// UserMode ([`user_mode_close`]); in a system thread (DriverEntry, PnP
/// callbacks, work items) it is `ZwClose`.
pub(crate) fn nt_close(handle: HANDLE) -> NTSTATUS {
    with_state(|s| {
        if !s.in_system_process() {
            return user_mode_close(s, format!("NtClose({:#x}) with previous mode UserMode", handle as u64));
        }
        let closer = HandleOwner::Component(s.caller_image());
        s.nt_close(handle as u64, closer, None)
    })
    .unwrap_or(STOPPED_STATUS)
}
