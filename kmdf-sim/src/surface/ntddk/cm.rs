//! Registry callbacks (F149): the rules are the model's `kernel::cm_callback`.

use crate::abi::*;
use crate::model::{Routine, enter, with_state};
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
        let (Some(function), false) = (Function, Cookie.is_null()) else { return crate::STATUS_INVALID_PARAMETER };
        // SAFETY: null or valid (the routine's contract).
        let Ok(altitude) = (unsafe { read_unicode(Altitude) }) else { return crate::STATUS_INVALID_PARAMETER };
        let context = Context as u64;
        let registered = with_state(|s| s.cm_register_callback(function, altitude, context));
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
    enter(Routine::CmUnRegisterCallback, crate::model::STOPPED_STATUS, || {
        with_state(|s| s.cm_unregister_callback(cookie)).unwrap_or(crate::model::STOPPED_STATUS)
    })
}
