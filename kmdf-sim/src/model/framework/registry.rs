//! `FxRegKey` objects: a WDFKEY owns one kernel key handle (`m_Key`) and
//! closes it when the object is destroyed (F1–F26).

use super::objects::{self, ObjectKind};
use super::verifier::invalid_key;
use crate::abi::*;
use crate::model::kernel::handles::HandleOwner;
use crate::model::{FRAMEWORK_MODULE, Name, State};

/// The live key object behind a WDFKEY: (`m_Key`, its open serial, driver),
/// or what [`invalid_key`] makes of a bad one (F20, F77).
pub(crate) fn key_state(s: &mut State, key: WDFKEY) -> Result<(Option<u64>, u64, Name), NTSTATUS> {
    match s.framework.objects.get(&(key as u64)).map(|o| (&o.kind, &o.driver)) {
        Some((ObjectKind::Key { handle, serial }, driver)) => Ok((*handle, *serial, driver.clone())),
        _ => Err(invalid_key(s, key)),
    }
}

/// Creates a key object for `driver` and fills its `m_Key` by `open`
/// (F12/F14–F16: the object is allocated and committed before the open; on
/// failure it is deleted without callbacks and the open's status returned).
pub(crate) fn new_key_object(
    s: &mut State,
    driver: Name,
    attrs: objects::Attributes,
    open: impl FnOnce(&mut State, HandleOwner) -> Result<(u64, bool), NTSTATUS>,
) -> Result<(u64, bool), NTSTATUS> {
    let key = s.create_object(ObjectKind::Key { handle: None, serial: 0 }, driver.clone(), attrs)?;
    // F8: OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, opened by Wdf01000.
    s.push_frame(FRAMEWORK_MODULE, "Wdf01000!FxRegKey::_OpenKey");
    let opened = open(s, HandleOwner::FrameworkKey { key, driver });
    s.pop_frame();
    match opened {
        Ok((handle, created)) => {
            let serial = s.kernel.handles.get(handle).map(|e| e.serial).unwrap_or_default();
            if let Some(o) = s.framework.objects.get_mut(&key) {
                o.kind = ObjectKind::Key { handle: Some(handle), serial };
            }
            Ok((key, created))
        }
        Err(status) => {
            s.remove_failed_object(key);
            Err(status)
        }
    }
}
