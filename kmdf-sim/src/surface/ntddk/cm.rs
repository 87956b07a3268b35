//! Registry callbacks (F149): the rules are the model's `kernel::cm_callback`.

use crate::abi::*;
use crate::model::kernel::cm_callback;
use crate::model::{Routine, enter};
use crate::surface::strings::read_unicode;

/// `CmRegisterCallbackEx` (F149): registers `Function` at `Altitude`; its
/// cookie goes to `*Cookie`. The simulated registry's operations that an
/// application performs (`Machine::app_set_value`, `app_delete_value`) run
/// it.
///
/// # Safety
/// `Function` stays callable until unregistered; `Altitude` a valid string;
/// `Cookie` writable.
#[must_use]
pub unsafe extern "C" fn CmRegisterCallbackEx(
    Function: PEX_CALLBACK_FUNCTION,
    Altitude: PCUNICODE_STRING,
    _Driver: PVOID,
    Context: PVOID,
    Cookie: PLARGE_INTEGER,
    _Reserved: PVOID,
) -> NTSTATUS {
    enter(Routine::CmRegisterCallbackEx, crate::model::STOPPED_STATUS, || {
        // SAFETY: null or valid (the routine's contract).
        let altitude = unsafe { read_unicode(Altitude) };
        let registered = cm_callback::register(Function, Cookie.is_null(), altitude, Context as u64);
        match registered {
            Some(Ok(cookie)) => {
                // SAFETY: every bit pattern of LARGE_INTEGER is valid; the
                // pointer is non-null and writable (the routine's contract).
                unsafe { Cookie.write(LARGE_INTEGER { QuadPart: cookie }) };
                crate::STATUS_SUCCESS
            }
            Some(Err(status)) => status,
            None => crate::model::STOPPED_STATUS,
        }
    })
}

/// `CmUnRegisterCallback` (F149).
///
/// # Safety
/// None beyond the kernel's: any cookie may be passed.
#[must_use]
pub unsafe extern "C" fn CmUnRegisterCallback(Cookie: LARGE_INTEGER) -> NTSTATUS {
    // SAFETY: every bit pattern of the union is a valid i64.
    let cookie = unsafe { Cookie.QuadPart };
    enter(Routine::CmUnRegisterCallback, crate::model::STOPPED_STATUS, || cm_callback::unregister(cookie))
}
