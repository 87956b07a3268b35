//! How KMDF resolves the handle a driver passes to a DDI, in one place for
//! every DDI the simulator serves (F90, F91, F92).
//!
//! [`handle_params`] is the table: for each DDI, each `WDF*` handle
//! parameter with the object type the framework asks for
//! (`FxObjectHandleGetPtr(..., FX_TYPE_…)` in the DDI's source) and what a
//! NULL there is. [`State::fx_object`] is the check every DDI makes through
//! it, the framework's way:
//!
//! * NULL: `FxObjectHandleGetPtr` → 0x10D {WDF_INVALID_HANDLE, 0, type,
//!   globals}; a DDI that checks `FxPointerNotNull` first →
//!   0x10D {WDF_REQUIRED_PARAMETER_IS_NULL, ...} (F91). Neither depends on
//!   the KMDF verifier: `FxVerifierBugCheck` is unconditional.
//! * A live object of another type: the type check and `QueryInterface`
//!   fail → 0x10D {WDF_INVALID_HANDLE, handle, type, globals} (F91).
//! * A deleted object: the framework reads the freed memory the handle
//!   points at — F77's rules ([`invalid_handle`]).
//! * A value that never named an object: ASSUMPTION — the simulator
//!   reports it as the type check's 0x10D {WDF_INVALID_HANDLE} (on Windows
//!   the framework dereferences whatever the value points at).

use super::objects::{Object, ObjectKind};
use super::verifier::{invalid_handle, null_parameter};
use crate::abi::NTSTATUS;
use crate::model::{Routine, STOPPED_STATUS, State};

/// KMDF's object type ids (`FX_OBJECT_TYPES`, F90): what a handle
/// parameter must resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub(crate) enum FxType {
    /// `FX_TYPE_OBJECT`: every framework object answers to it.
    Object = 0x1000,
    Driver = 0x1001,
    Device = 0x1002,
    Queue = 0x1003,
    RegKey = 0x1006,
    String = 0x1007,
    Request = 0x1008,
    /// `IFX_TYPE_MEMORY`: the memory interface every WDFMEMORY answers to.
    Memory = 0x100A,
    WaitLock = 0x1023,
    SpinLock = 0x1024,
    WorkItem = 0x1025,
    Timer = 0x1028,
}

impl FxType {
    /// The id as the 0x10D parameter carries it.
    pub(crate) fn id(self) -> u64 {
        self as u64
    }

    /// The WDF handle type a parameter of this type is declared with.
    pub(crate) fn handle_type(self) -> &'static str {
        match self {
            FxType::Object => "WDFOBJECT",
            FxType::Driver => "WDFDRIVER",
            FxType::Device => "WDFDEVICE",
            FxType::Queue => "WDFQUEUE",
            FxType::RegKey => "WDFKEY",
            FxType::String => "WDFSTRING",
            FxType::Request => "WDFREQUEST",
            FxType::Memory => "WDFMEMORY",
            FxType::WaitLock => "WDFWAITLOCK",
            FxType::SpinLock => "WDFSPINLOCK",
            FxType::WorkItem => "WDFWORKITEM",
            FxType::Timer => "WDFTIMER",
        }
    }

    /// Whether an object of `kind` answers to this type: its own type, or
    /// `FX_TYPE_OBJECT` (F90: `FxObjectCheckType`, `QueryInterface`).
    pub(crate) fn admits(self, kind: &ObjectKind) -> bool {
        self == FxType::Object || kind.fx_type() == self
    }
}

/// What a NULL in a handle parameter is (F91).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NullRule {
    /// `FxObjectHandleGetPtr`: 0x10D {WDF_INVALID_HANDLE, 0, type, globals}.
    InvalidHandle,
    /// `FxPointerNotNull` first: 0x10D {WDF_REQUIRED_PARAMETER_IS_NULL}.
    Required,
    /// NULL is allowed (the DDI page gives it a meaning; the DDI checks the
    /// handle only when it is not NULL).
    Optional,
}

/// One handle parameter of a DDI.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HandleParam {
    /// Its name in the DDI's signature.
    pub name: &'static str,
    /// The object type the framework resolves it as.
    pub fx_type: FxType,
    /// What a NULL is.
    pub null: NullRule,
}

const fn p(name: &'static str, fx_type: FxType) -> HandleParam {
    HandleParam { name, fx_type, null: NullRule::InvalidHandle }
}

const fn required(name: &'static str, fx_type: FxType) -> HandleParam {
    HandleParam { name, fx_type, null: NullRule::Required }
}

const fn optional(name: &'static str, fx_type: FxType) -> HandleParam {
    HandleParam { name, fx_type, null: NullRule::Optional }
}

/// The handle parameters of `routine`, in the order its source checks them
/// (F92; microsoft/Windows-Driver-Frameworks, the DDI's `*api.cpp`), empty
/// for a routine without any. Every DDI the simulator serves is listed; a
/// test holds the table to `data/kmdf-1.33-ddi.tsv`'s signatures.
#[inline(always)]
pub(crate) fn handle_params(routine: Routine) -> &'static [HandleParam] {
    use FxType as T;
    use Routine as R;
    match routine {
        // fxdeviceapi.cpp, fxdeviceinterfaceapi.cpp
        R::WdfDeviceConfigureRequestDispatching => const { &[p("Device", T::Device), p("Queue", T::Queue)] },
        R::WdfDeviceCreateDeviceInterface
        | R::WdfDeviceCreateSymbolicLink
        | R::WdfDeviceGetDefaultQueue
        | R::WdfDeviceGetDriver
        | R::WdfDeviceOpenRegistryKey => const { &[p("Device", T::Device)] },
        // fxdriverapi.cpp, km/fxdriverapikm.cpp
        R::WdfDriverIsVersionAvailable
        | R::WdfDriverOpenParametersRegistryKey
        | R::WdfDriverOpenPersistentStateRegistryKey => const { &[p("Driver", T::Driver)] },
        R::WdfDriverRetrieveVersionString => const { &[p("Driver", T::Driver), p("String", T::String)] },
        // fxioqueueapi.cpp
        R::WdfIoQueueCreate => const { &[p("Device", T::Device)] },
        R::WdfIoQueueGetDevice
        | R::WdfIoQueuePurgeSynchronously
        | R::WdfIoQueueStart
        | R::WdfIoQueueStop
        | R::WdfIoQueueStopSynchronously => const { &[p("Queue", T::Queue)] },
        // fxmemorybufferapi.cpp
        R::WdfMemoryCopyFromBuffer => const { &[p("DestinationMemory", T::Memory)] },
        R::WdfMemoryCopyToBuffer => const { &[p("SourceMemory", T::Memory)] },
        R::WdfMemoryGetBuffer => const { &[p("Memory", T::Memory)] },
        // fxobjectapi.cpp, handleapi.cpp: the reference DDIs and the context
        // worker check only for NULL and take any object.
        R::WdfObjectDelete => const { &[p("Object", T::Object)] },
        R::WdfObjectReferenceActual | R::WdfObjectDereferenceActual => const { &[required("Handle", T::Object)] },
        R::WdfObjectGetTypedContextWorker => const { &[required("Handle", T::Object)] },
        // fxregistryapi.cpp: a NULL ParentKey opens an absolute path.
        R::WdfRegistryOpenKey | R::WdfRegistryCreateKey => const { &[optional("ParentKey", T::RegKey)] },
        R::WdfRegistryAssignULong
        | R::WdfRegistryAssignUnicodeString
        | R::WdfRegistryAssignValue
        | R::WdfRegistryClose
        | R::WdfRegistryQueryULong
        | R::WdfRegistryQueryUnicodeString
        | R::WdfRegistryQueryValue
        | R::WdfRegistryRemoveKey
        | R::WdfRegistryRemoveValue
        | R::WdfRegistryWdmGetHandle => const { &[p("Key", T::RegKey)] },
        // fxrequestapi.cpp: the destination queue is resolved first.
        R::WdfRequestForwardToIoQueue => const { &[p("DestinationQueue", T::Queue), p("Request", T::Request)] },
        R::WdfRequestComplete
        | R::WdfRequestCompleteWithInformation
        | R::WdfRequestGetInformation
        | R::WdfRequestGetIoQueue
        | R::WdfRequestIsCanceled
        | R::WdfRequestMarkCancelable
        | R::WdfRequestMarkCancelableEx
        | R::WdfRequestRetrieveInputBuffer
        | R::WdfRequestRetrieveInputMemory
        | R::WdfRequestRetrieveOutputBuffer
        | R::WdfRequestRetrieveOutputMemory
        | R::WdfRequestSetInformation
        | R::WdfRequestUnmarkCancelable => const { &[p("Request", T::Request)] },
        // fxspinlockapi.cpp, fxwaitlockapi.cpp, fxstringapi.cpp
        R::WdfSpinLockAcquire | R::WdfSpinLockRelease => const { &[p("SpinLock", T::SpinLock)] },
        R::WdfWaitLockAcquire | R::WdfWaitLockRelease => const { &[p("Lock", T::WaitLock)] },
        R::WdfStringGetUnicodeString => const { &[p("String", T::String)] },
        // fxtimerapi.cpp, fxworkitemapi.cpp
        R::WdfTimerGetParentObject | R::WdfTimerStart | R::WdfTimerStop => const { &[p("Timer", T::Timer)] },
        R::WdfWorkItemEnqueue | R::WdfWorkItemFlush | R::WdfWorkItemGetParentObject => {
            const { &[p("WorkItem", T::WorkItem)] }
        }
        _ => &[],
    }
}

impl State {
    /// Resolves handle parameter `param` (its place in [`handle_params`])
    /// of `routine` as the framework does (see the module's rules): the
    /// live object, or the status the DDI returns once the check has failed
    /// (the machine has stopped, or F77's silent case let the stale handle
    /// through).
    #[inline(always)]
    pub(crate) fn fx_object(&mut self, routine: Routine, param: usize, handle: u64) -> Result<&mut Object, NTSTATUS> {
        let slot = self.fx_slot(routine, param, handle)?;
        Ok(self.framework.objects.at_mut(slot))
    }

    /// [`State::fx_object`], giving the object's slot in the table
    /// (`ObjectTable::at_mut` reaches it while the table is unchanged).
    #[inline(always)]
    pub(crate) fn fx_slot(&mut self, routine: Routine, param: usize, handle: u64) -> Result<usize, NTSTATUS> {
        let rule = handle_params(routine)[param];
        let expected = rule.fx_type;
        match self.framework.objects.find(handle, |o| expected.admits(&o.kind)) {
            Some(slot) => Ok(slot),
            None => Err(self.bad_handle(routine, rule, handle)),
        }
    }

    /// The stop (or F77's silent status) for a handle that failed [`State::fx_object`].
    #[cold]
    fn bad_handle(&mut self, routine: Routine, rule: HandleParam, handle: u64) -> NTSTATUS {
        if handle == 0 {
            match rule.null {
                NullRule::Required => {
                    null_parameter(self, &format!("{} of {}", rule.name, routine.name()));
                    return STOPPED_STATUS;
                }
                NullRule::InvalidHandle | NullRule::Optional => {}
            }
        }
        invalid_handle(self, handle, rule.fx_type.id())
    }

    /// [`State::fx_object`] for a parameter whose object is only checked,
    /// not used: `Ok(())` when it is a live object of the right type.
    #[inline(always)]
    pub(crate) fn fx_check(&mut self, routine: Routine, param: usize, handle: u64) -> Result<(), NTSTATUS> {
        self.fx_object(routine, param, handle).map(|_| ())
    }
}

/// One handle parameter of a DDI the simulator serves and the framework's
/// check of it (F90–F92), as the control API shows the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandleRule {
    /// The DDI, e.g. `"WdfTimerStart"`.
    pub ddi: &'static str,
    /// The parameter's name in the DDI's signature, e.g. `"Timer"`.
    pub parameter: &'static str,
    /// The handle type it is declared with, e.g. `"WDFTIMER"`.
    pub handle_type: &'static str,
    /// KMDF's type id the framework resolves it as (`FX_TYPE_…`, F90).
    pub fx_type: u16,
    /// Whether the framework checks the object's type: false for
    /// `FX_TYPE_OBJECT`, which every object is.
    pub type_checked: bool,
    /// What a NULL there is.
    pub null: NullCheck,
}

/// What a NULL handle is, per [`HandleRule`] (F91).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullCheck {
    /// Bug check 0x10D {WDF_INVALID_HANDLE (0x5), 0, type, globals}.
    InvalidHandle,
    /// Bug check 0x10D {WDF_REQUIRED_PARAMETER_IS_NULL (0x4), ...}.
    RequiredParameter,
    /// NULL is a documented value; only a non-NULL handle is checked.
    Allowed,
}

/// Every handle parameter of every routine, in routine order.
pub(crate) fn rules() -> Vec<HandleRule> {
    let mut out = Vec::new();
    for &routine in &crate::model::routine_table::ALL {
        for param in handle_params(routine) {
            out.push(HandleRule {
                ddi: routine.name(),
                parameter: param.name,
                handle_type: param.fx_type.handle_type(),
                fx_type: param.fx_type as u16,
                type_checked: param.fx_type != FxType::Object,
                null: match param.null {
                    NullRule::InvalidHandle => NullCheck::InvalidHandle,
                    NullRule::Required => NullCheck::RequiredParameter,
                    NullRule::Optional => NullCheck::Allowed,
                },
            });
        }
    }
    out
}
