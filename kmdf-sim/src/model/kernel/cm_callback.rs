//! Registry callbacks (F149): `CmRegisterCallbackEx` / `CmUnRegisterCallback`,
//! and the registry operations that run them — an application sets or
//! deletes a value of the simulated registry (`Machine::app_set_value`,
//! `app_delete_value`): every registered callback gets the pre-notification,
//! may block the operation (an error status) or bypass it
//! (STATUS_CALLBACK_BYPASS), then the operation runs on the simulated
//! registry and the callbacks that saw the pre-notification get the post.

use crate::abi::{NTSTATUS, PVOID, STATUS_SUCCESS, UNICODE_STRING};
use crate::model::framework::pnp::call_driver;
use crate::model::kernel::stack::Process;
use crate::model::{Engine, Name, State, Stopped};

/// A `PEX_CALLBACK_FUNCTION`'s function.
pub(crate) type RegistryCallback = unsafe extern "C" fn(PVOID, PVOID, PVOID) -> NTSTATUS;

/// STATUS_FLT_INSTANCE_ALTITUDE_COLLISION: the altitude is taken (F149,
/// F151).
pub(crate) const ALTITUDE_COLLISION: NTSTATUS = 0xC01C_0011_u32 as NTSTATUS;

/// STATUS_CALLBACK_BYPASS: a pre-notification completed the operation (F149).
pub(crate) const STATUS_CALLBACK_BYPASS: NTSTATUS = 0xC000_0503_u32 as NTSTATUS;

/// One registered callback.
#[derive(Debug, Clone)]
struct Registration {
    function: RegistryCallback,
    altitude: String,
    context: u64,
    cookie: i64,
    image: Name,
}

/// The registered callbacks, and the last cookie handed out.
#[derive(Debug, Default)]
pub(crate) struct RegistryCallbacks {
    registered: Vec<Registration>,
    last_cookie: i64,
}

/// An altitude's place in the order: its decimal value (registry and object
/// callbacks alike, F149, F151).
pub(crate) fn altitude_value(a: &str) -> f64 {
    a.trim().parse().unwrap_or(0.0)
}

impl State {
    /// CmRegisterCallbackEx: the cookie, or STATUS_INVALID_PARAMETER for an
    /// altitude that is not a decimal number, or the collision status when
    /// another callback holds the altitude (F149).
    pub(crate) fn cm_register_callback(
        &mut self,
        function: RegistryCallback,
        altitude: String,
        context: u64,
    ) -> Result<i64, NTSTATUS> {
        if altitude.trim().parse::<f64>().is_err() {
            return Err(crate::abi::STATUS_INVALID_PARAMETER);
        }
        let cm = &mut self.kernel.registry_callbacks;
        if cm.registered.iter().any(|r| altitude_value(&r.altitude) == altitude_value(&altitude)) {
            return Err(ALTITUDE_COLLISION);
        }
        cm.last_cookie += 1;
        let cookie = cm.last_cookie;
        let image = self.caller_image();
        self.kernel.registry_callbacks.registered.push(Registration { function, altitude, context, cookie, image });
        Ok(cookie)
    }

    /// CmUnRegisterCallback: STATUS_INVALID_PARAMETER for a cookie that is
    /// not registered (F149).
    pub(crate) fn cm_unregister_callback(&mut self, cookie: i64) -> NTSTATUS {
        let cm = &mut self.kernel.registry_callbacks;
        match cm.registered.iter().position(|r| r.cookie == cookie) {
            Some(i) => {
                cm.registered.remove(i);
                STATUS_SUCCESS
            }
            None => crate::abi::STATUS_INVALID_PARAMETER,
        }
    }

    /// At unload: a registry callback left registered would be called in
    /// unloaded code — 0xCE with its address, as for a notify routine
    /// (ASSUMPTION, F149).
    pub(crate) fn registry_callback_leak_check(&mut self, image: &str) {
        let cm = &mut self.kernel.registry_callbacks;
        let left = cm.registered.iter().find(|r| r.image.as_str() == image).map(|r| r.function as *const () as u64);
        cm.registered.retain(|r| r.image.as_str() != image);
        let Some(address) = left else { return };
        let cause = format!(
            "{image} unloaded with its registry callback ({address:#x}) still registered: CmUnRegisterCallback \
                 belongs in its unload path (docs/facts.md#f149)"
        );
        self.left_registered_stop(address, cause);
    }
}

/// A registry operation an application performs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AppOperation<'a> {
    SetValue { kind: u32, data: &'a [u8] },
    DeleteValue,
}

/// The structures a pre-notification points at, kept alive together.
#[repr(C)]
union PreInformation {
    set: crate::abi::REG_SET_VALUE_KEY_INFORMATION,
    delete: crate::abi::REG_DELETE_VALUE_KEY_INFORMATION,
}

impl Engine {
    /// An application (process `app.exe`) sets or deletes value `name` of
    /// the key at `path` (which must exist): the registry callbacks run,
    /// highest altitude first, at PASSIVE_LEVEL in that process; then the
    /// operation, unless one blocked or bypassed it; then the
    /// post-notifications. Returns the status the application sees (F149).
    pub(crate) fn app_registry_operation(
        &self,
        path: &str,
        name: &str,
        operation: AppOperation<'_>,
    ) -> Result<NTSTATUS, Stopped> {
        self.check_running()?;
        let Ok(node) = self.with(|s| s.kernel.registry.lookup(None, path)) else {
            return Ok(crate::abi::STATUS_OBJECT_NAME_NOT_FOUND);
        };
        let mut callbacks = self.with(|s| s.kernel.registry_callbacks.registered.clone());
        callbacks.sort_by(|a, b| altitude_value(&b.altitude).total_cmp(&altitude_value(&a.altitude)));
        // The key object the callbacks see: opaque to them; zeroed storage.
        let mut key_object = vec![0u64; 32];
        let object = key_object.as_mut_ptr().cast::<core::ffi::c_void>();
        let mut units: Vec<u16> = name.encode_utf16().collect();
        let bytes = u16::try_from(units.len() * 2).unwrap_or(0xFFFE);
        let mut value_name = UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: units.as_mut_ptr() };
        let mut data = match operation {
            AppOperation::SetValue { data, .. } => data.to_vec(),
            AppOperation::DeleteValue => Vec::new(),
        };
        let (pre_class, post_class) = match operation {
            AppOperation::SetValue { .. } => (
                crate::abi::_REG_NOTIFY_CLASS::RegNtPreSetValueKey,
                crate::abi::_REG_NOTIFY_CLASS::RegNtPostSetValueKey,
            ),
            AppOperation::DeleteValue => (
                crate::abi::_REG_NOTIFY_CLASS::RegNtPreDeleteValueKey,
                crate::abi::_REG_NOTIFY_CLASS::RegNtPostDeleteValueKey,
            ),
        };
        let mut pre = match operation {
            AppOperation::SetValue { kind, .. } => PreInformation {
                set: crate::abi::REG_SET_VALUE_KEY_INFORMATION {
                    Object: object,
                    ValueName: &raw mut value_name,
                    TitleIndex: 0,
                    Type: kind,
                    Data: data.as_mut_ptr().cast(),
                    DataSize: u32::try_from(data.len()).unwrap_or(u32::MAX),
                    CallContext: std::ptr::null_mut(),
                    ObjectContext: std::ptr::null_mut(),
                    Reserved: std::ptr::null_mut(),
                },
            },
            AppOperation::DeleteValue => PreInformation {
                delete: crate::abi::REG_DELETE_VALUE_KEY_INFORMATION {
                    Object: object,
                    ValueName: &raw mut value_name,
                    CallContext: std::ptr::null_mut(),
                    ObjectContext: std::ptr::null_mut(),
                    Reserved: std::ptr::null_mut(),
                },
            },
        };
        let saved =
            self.with(|s| std::mem::replace(&mut s.kernel.process, Process { name: "app.exe".into(), has_peb: true }));
        let mut notified = 0;
        let mut status = STATUS_SUCCESS;
        for r in &callbacks {
            // SAFETY: the callback the driver registered and has not
            // unregistered, with its context, the class and the
            // pre-information, which outlive the call (F149).
            let returned = call_driver(&r.image, "RegistryCallback", crate::abi::PASSIVE_LEVEL as u8, || unsafe {
                (r.function)(r.context as PVOID, pre_class as usize as PVOID, (&raw mut pre).cast())
            });
            if self.check_running().is_err() {
                break;
            }
            let returned = returned.unwrap_or(STATUS_SUCCESS);
            if returned == STATUS_CALLBACK_BYPASS || !crate::abi::NT_SUCCESS(returned) {
                status = returned;
                break;
            }
            notified += 1;
        }
        if status == STATUS_SUCCESS && self.check_running().is_ok() {
            status = self.with(|s| {
                let registry = &mut s.kernel.registry;
                match operation {
                    AppOperation::SetValue { kind, data } => {
                        registry.set_value(node, name, kind, data.to_vec());
                        STATUS_SUCCESS
                    }
                    AppOperation::DeleteValue if registry.remove_value(node, name) => STATUS_SUCCESS,
                    AppOperation::DeleteValue => crate::abi::STATUS_OBJECT_NAME_NOT_FOUND,
                }
            });
        }
        let seen = if status == STATUS_CALLBACK_BYPASS { STATUS_SUCCESS } else { status };
        for r in callbacks.iter().take(notified) {
            let mut post = crate::abi::REG_POST_OPERATION_INFORMATION {
                Object: object,
                Status: seen,
                PreInformation: (&raw mut pre).cast(),
                ReturnStatus: seen,
                CallContext: std::ptr::null_mut(),
                ObjectContext: std::ptr::null_mut(),
                Reserved: std::ptr::null_mut(),
            };
            // SAFETY: as above, with the post-information (F149).
            call_driver(&r.image, "RegistryCallback", crate::abi::PASSIVE_LEVEL as u8, || unsafe {
                (r.function)(r.context as PVOID, post_class as usize as PVOID, (&raw mut post).cast());
            });
            if self.check_running().is_err() {
                break;
            }
        }
        self.with(|s| s.kernel.process = saved);
        drop((key_object, units, data));
        self.check_running()?;
        Ok(seen)
    }
}

/// `CmRegisterCallbackEx` on this thread's machine (F149): a NULL
/// `Function` or `Cookie` (`cookie_null`) or an unreadable altitude is
/// STATUS_INVALID_PARAMETER; else the cookie. `None` after a stop.
pub(crate) fn register(
    function: Option<RegistryCallback>,
    cookie_null: bool,
    altitude: Result<String, NTSTATUS>,
    context: u64,
) -> Option<Result<i64, NTSTATUS>> {
    let (Some(function), false, Ok(altitude)) = (function, cookie_null, altitude) else {
        return Some(Err(crate::abi::STATUS_INVALID_PARAMETER));
    };
    crate::model::with_state(|s| s.cm_register_callback(function, altitude, context))
}

/// `CmUnRegisterCallback` on this thread's machine (F149).
pub(crate) fn unregister(cookie: i64) -> NTSTATUS {
    crate::model::with_state(|s| s.cm_unregister_callback(cookie)).unwrap_or(crate::model::STOPPED_STATUS)
}
