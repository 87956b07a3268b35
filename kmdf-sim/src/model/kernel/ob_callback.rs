//! Object callbacks (F151): `ObRegisterCallbacks` / `ObUnRegisterCallbacks`
//! for process and thread handles, and the handle opens that run them — the
//! test opens a handle to a process or thread (`Machine::open_process_handle`,
//! `open_thread_handle`): every registered pre-operation callback may take
//! rights out of the desired access, then the post-operation callbacks see
//! what was granted.

use super::cm_callback::{ALTITUDE_COLLISION, altitude_value};
use crate::abi::{NTSTATUS, PVOID};
use crate::model::framework::pnp::call_driver;
use crate::model::{Engine, Name, State, Stopped};

/// A `POB_PRE_OPERATION_CALLBACK`'s function.
pub(crate) type PreCallback =
    unsafe extern "C" fn(PVOID, *mut crate::abi::OB_PRE_OPERATION_INFORMATION) -> crate::abi::OB_PREOP_CALLBACK_STATUS;
/// A `POB_POST_OPERATION_CALLBACK`'s function.
pub(crate) type PostCallback = unsafe extern "C" fn(PVOID, *mut crate::abi::OB_POST_OPERATION_INFORMATION);

/// The object types the callbacks filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectKind {
    Process,
    Thread,
}

/// One operation registration.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub kind: ObjectKind,
    /// OB_OPERATION_HANDLE_CREATE (1) and/or OB_OPERATION_HANDLE_DUPLICATE (2).
    pub operations: u32,
    pub pre: Option<PreCallback>,
    pub post: Option<PostCallback>,
}

/// One ObRegisterCallbacks registration.
#[derive(Debug, Clone)]
struct Registration {
    altitude: String,
    context: u64,
    operations: Vec<Operation>,
    handle: u64,
    image: Name,
}

/// The registrations, and the last registration handle handed out.
#[derive(Debug, Default)]
pub(crate) struct ObjectCallbacks {
    registered: Vec<Registration>,
    last: u64,
}

/// The process and thread object types: opaque objects whose addresses the
/// kernel's `PsProcessType` / `PsThreadType` variables hold (the surface
/// exports pointers to these two variables under those names, F151).
static mut PROCESS_TYPE_OBJECT: [u64; 16] = [0; 16];
static mut THREAD_TYPE_OBJECT: [u64; 16] = [0; 16];
/// `*PsProcessType`.
pub(crate) static mut PROCESS_TYPE: crate::abi::POBJECT_TYPE = (&raw mut PROCESS_TYPE_OBJECT).cast();
/// `*PsThreadType`.
pub(crate) static mut THREAD_TYPE: crate::abi::POBJECT_TYPE = (&raw mut THREAD_TYPE_OBJECT).cast();

impl ObjectKind {
    /// The kind a registration's `ObjectType` (a `PsProcessType`-like
    /// variable's address) names; `None` for another object type.
    pub(crate) fn of(variable: *mut crate::abi::POBJECT_TYPE) -> Option<ObjectKind> {
        if std::ptr::eq(variable, &raw mut PROCESS_TYPE) {
            Some(ObjectKind::Process)
        } else if std::ptr::eq(variable, &raw mut THREAD_TYPE) {
            Some(ObjectKind::Thread)
        } else {
            None
        }
    }

    /// The process or thread object type (`*PsProcessType`, `*PsThreadType`).
    pub(crate) fn type_object(self) -> crate::abi::POBJECT_TYPE {
        self.object_type()
    }

    /// The object's name in messages.
    pub(crate) fn label(self) -> &'static str {
        match self {
            ObjectKind::Process => "process",
            ObjectKind::Thread => "thread",
        }
    }

    /// The object type the callbacks see.
    fn object_type(self) -> crate::abi::POBJECT_TYPE {
        match self {
            ObjectKind::Process => (&raw mut PROCESS_TYPE_OBJECT).cast(),
            ObjectKind::Thread => (&raw mut THREAD_TYPE_OBJECT).cast(),
        }
    }
}

/// OB_OPERATION_HANDLE_CREATE.
const HANDLE_CREATE: u32 = 1;

impl State {
    /// ObRegisterCallbacks: the registration handle, or the failure (F151).
    pub(crate) fn ob_register_callbacks(
        &mut self,
        version: u32,
        altitude: String,
        context: u64,
        operations: Vec<Operation>,
    ) -> Result<u64, NTSTATUS> {
        let valid = version == crate::abi::OB_FLT_REGISTRATION_VERSION
            && !operations.is_empty()
            && altitude.trim().parse::<f64>().is_ok()
            && operations.iter().all(|o| o.operations != 0 && (o.pre.is_some() || o.post.is_some()));
        if !valid {
            return Err(crate::abi::STATUS_INVALID_PARAMETER);
        }
        let ob = &mut self.kernel.object_callbacks;
        if ob.registered.iter().any(|r| altitude_value(&r.altitude) == altitude_value(&altitude)) {
            return Err(ALTITUDE_COLLISION);
        }
        ob.last += 1;
        // Registration handles: distinct nonzero values (ASSUMPTION, F151).
        let handle = 0xFFFF_C000_0000_0000 | (ob.last << 4);
        let image = self.caller_image();
        self.kernel.object_callbacks.registered.push(Registration { altitude, context, operations, handle, image });
        Ok(handle)
    }

    /// ObUnRegisterCallbacks: a handle no registration has stops the machine as
    /// not modelled (F151). `None` after that stop.
    pub(crate) fn ob_unregister_callbacks(&mut self, handle: u64) -> Option<()> {
        let ob = &mut self.kernel.object_callbacks;
        if let Some(i) = ob.registered.iter().position(|r| r.handle == handle) {
            ob.registered.remove(i);
            return Some(());
        }
        self.stop_not_modelled(format!(
            "ObUnRegisterCallbacks({handle:#x}) of a handle ObRegisterCallbacks did not return (docs/facts.md#f151)"
        ));
        None
    }

    /// At unload: a registration left would call unloaded code — 0xCE with
    /// its first callback's address, as for a notify routine (ASSUMPTION,
    /// F151).
    pub(crate) fn object_callback_leak_check(&mut self, image: &str) {
        let ob = &mut self.kernel.object_callbacks;
        let left = ob.registered.iter().find(|r| r.image.as_str() == image).and_then(|r| {
            r.operations
                .iter()
                .find_map(|o| o.pre.map(|p| p as *const () as u64).or(o.post.map(|p| p as *const () as u64)))
        });
        ob.registered.retain(|r| r.image.as_str() != image);
        let Some(address) = left else { return };
        let cause = format!(
            "{image} unloaded with its object callbacks ({address:#x}) still registered: ObUnRegisterCallbacks \
                 belongs in its unload path (docs/facts.md#f151)"
        );
        self.left_registered_stop(address, cause);
    }
}

impl Engine {
    /// A handle to a process or thread (`kind`) is opened with `desired`
    /// access by an application: the pre-operation callbacks registered for
    /// that type and HANDLE_CREATE run, highest altitude first, each able to
    /// clear rights; the post-operation callbacks then see the granted
    /// access, which is returned (F151). The object is zeroed storage
    /// (EPROCESS and ETHREAD are opaque to a driver).
    pub(crate) fn open_object_handle(&self, kind: ObjectKind, desired: u32) -> Result<u32, Stopped> {
        self.check_running()?;
        let mut storage = vec![0u64; 256];
        let object: PVOID = storage.as_mut_ptr().cast();
        let object_type = kind.object_type();
        let mut registrations = self.with(|s| s.kernel.object_callbacks.registered.clone());
        registrations.sort_by(|a, b| altitude_value(&b.altitude).total_cmp(&altitude_value(&a.altitude)));
        let matching: Vec<(Registration, Operation)> = registrations
            .into_iter()
            .flat_map(|r| {
                r.operations
                    .iter()
                    .filter(|o| o.kind == kind && o.operations & HANDLE_CREATE != 0)
                    .map(|o| (r.clone(), o.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut access = desired;
        for (r, o) in &matching {
            let Some(pre) = o.pre else { continue };
            let mut parameters = crate::abi::OB_PRE_OPERATION_PARAMETERS {
                CreateHandleInformation: crate::abi::OB_PRE_CREATE_HANDLE_INFORMATION {
                    DesiredAccess: access,
                    OriginalDesiredAccess: desired,
                },
            };
            let mut info = crate::abi::OB_PRE_OPERATION_INFORMATION {
                Operation: HANDLE_CREATE,
                __bindgen_anon_1: crate::abi::_OB_PRE_OPERATION_INFORMATION__bindgen_ty_1 { Flags: 0 },
                Object: object,
                ObjectType: object_type,
                CallContext: std::ptr::null_mut(),
                Parameters: &raw mut parameters,
            };
            // SAFETY: the callback the driver registered and has not
            // unregistered, with its context and the information, which
            // outlive the call (F151).
            call_driver(&r.image, "ObjectPreCallback", crate::abi::PASSIVE_LEVEL as u8, || unsafe {
                pre(r.context as PVOID, &raw mut info);
            });
            self.check_running()?;
            // SAFETY: the union's CreateHandleInformation member, written
            // above; the callback may only have changed it.
            let asked = unsafe { parameters.CreateHandleInformation.DesiredAccess };
            // A callback can take rights away, never add them (F151).
            access &= asked;
        }
        for (r, o) in &matching {
            let Some(post) = o.post else { continue };
            let mut parameters = crate::abi::OB_POST_OPERATION_PARAMETERS {
                CreateHandleInformation: crate::abi::OB_POST_CREATE_HANDLE_INFORMATION { GrantedAccess: access },
            };
            let mut info = crate::abi::OB_POST_OPERATION_INFORMATION {
                Operation: HANDLE_CREATE,
                __bindgen_anon_1: crate::abi::_OB_POST_OPERATION_INFORMATION__bindgen_ty_1 { Flags: 0 },
                Object: object,
                ObjectType: object_type,
                CallContext: std::ptr::null_mut(),
                ReturnStatus: crate::abi::STATUS_SUCCESS,
                Parameters: &raw mut parameters,
            };
            // SAFETY: as above, with the post-operation information (F151).
            call_driver(&r.image, "ObjectPostCallback", crate::abi::PASSIVE_LEVEL as u8, || unsafe {
                post(r.context as PVOID, &raw mut info);
            });
            self.check_running()?;
        }
        drop(storage);
        Ok(access)
    }
}

/// `ObRegisterCallbacks` on this thread's machine (F151): `operations` is
/// the registration's list, or the object type no kind is known for (not
/// modelled: only the process and thread types are). `None` after a stop.
pub(crate) fn register(
    version: u32,
    altitude: String,
    context: u64,
    operations: Result<Vec<Operation>, *mut crate::abi::POBJECT_TYPE>,
) -> Option<Result<u64, NTSTATUS>> {
    crate::model::with_state(|s| match operations {
        Ok(ops) => Some(s.ob_register_callbacks(version, altitude, context, ops)),
        Err(other) => {
            s.stop_not_modelled(format!(
                "ObRegisterCallbacks for the object type at {:#x}: only PsProcessType and PsThreadType are \
                 modelled (docs/facts.md#f151)",
                other as u64
            ));
            None
        }
    })
    .flatten()
}

/// `ObUnRegisterCallbacks` on this thread's machine (F151).
pub(crate) fn unregister(handle: u64) {
    crate::model::with_state(|s| s.ob_unregister_callbacks(handle));
}
