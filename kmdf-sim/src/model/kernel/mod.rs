//! The NT kernel as a KMDF driver meets it.
//!
//! * `handles` — the kernel handle table (values, reuse, protection, closes; F39–F46, F67, F68).
//! * `registry` — the configuration manager's keys and values, and opening them (F8, F12).
//! * `pool`, `special_pool` — ExAllocatePool2 and Driver Verifier's special pool (F49–F51).
//! * `driver_panic` — a panic in driver code recorded as wdk-panic's stop, with its callback.
//! * `dbgprint` — DbgPrint / DbgPrintEx's format (F81).
//! * `bugcheck` — stops, bug checks as `!analyze` renders them, ownership violations.
//! * `rtl_strings` — RtlCopy/Append/Compare/EqualUnicodeString (F83).
//! * `io` — the WDM I/O manager: device objects, symbolic links, file objects, IRPs (F120–F125).
//! * `notify` — process-creation notify routines and their trigger (F84).
//! * `sync` — events, KMUTEX, FAST_MUTEX, waits, critical regions (F82).
//! * `null_pointer` — a routine touching a NULL its caller passed (F95).
//! * `arguments` — the argument checks a routine makes before it touches an object.
//! * `close` — ZwClose, ObCloseHandle, NtClose and their previous modes (F39).
//! * `key_info` — the Zw registry routines: opening keys, information records, buffer rules.
//! * `pool_routines` — ExAllocatePool2 / ExFreePool(WithTag)'s checks (BAD_POOL_CALLER).
//! * `spinlock` — executive spin locks and their IRQL (F142).
//! * `resource` — executive resources (ERESOURCE, F143).
//! * `mdl` — memory descriptor lists (F145).
//! * `dpc` — DPCs and kernel timers (F147).
//! * `rtl_convert` — ANSI strings, conversions, integers, prefixes (F148).
//! * `cm_callback` — registry callbacks and the operations that run them (F149).
//! * `files` — the file namespace of ZwCreateFile/ZwReadFile/ZwWriteFile (F150).
//! * `ob_callback` — object callbacks for process and thread handles (F151).
//! * `objects` — process and thread objects, their references, lookups and priority (F152–F154).
//! * `unload` — what the kernel checks of an image that unloads.
//! * `timing` — delays, the performance counter, the time increment (F141).
//! * `stack` — the simulated thread: call stack, process, IRQL (and the IRQL rule, F66).
//!
//! A kernel routine is one rule here plus one thin shim in the surface's `ntddk`.

pub(crate) mod arguments;
pub(crate) mod bugcheck;
pub(crate) mod close;
pub(crate) mod cm_callback;
pub(crate) mod dbgprint;
pub(crate) mod dpc;
pub(crate) mod driver_panic;
pub(crate) mod files;
pub(crate) mod handles;
pub(crate) mod io;
pub(crate) mod key_info;
pub(crate) mod mdl;
pub(crate) mod notify;
pub(crate) mod null_pointer;
pub(crate) mod ob_callback;
pub(crate) mod objects;
pub(crate) mod pool;
pub(crate) mod pool_routines;
pub(crate) mod registry;
pub(crate) mod resource;
pub(crate) mod rtl_convert;
pub(crate) mod rtl_strings;
#[cfg(unix)]
pub(crate) mod special_pool;
pub(crate) mod spinlock;
pub(crate) mod stack;
pub(crate) mod sync;
pub(crate) mod timing;
pub(crate) mod unload;

use super::settings::Settings;
use bugcheck::OwnershipViolation;
use handles::HandleTable;
use registry::Registry;
use stack::{FrameNames, Frames, Process};

/// The kernel's part of the machine state.
pub(crate) struct Kernel {
    /// The kernel handle table (F39–F46).
    pub handles: HandleTable,
    /// The registry (keys, values, volatile keys).
    pub registry: Registry,
    /// Kernel pool (ExAllocatePool2 and friends).
    pub pool: pool::Pool,
    /// Handles closed by someone who did not own them, in order.
    pub violations: Vec<OwnershipViolation>,
    /// Another component's open interleaved right after the next ZwClose a
    /// driver makes: (component, key path, protected).
    pub interleaved_open: Option<(String, String, bool)>,
    /// Names bug checks point at (0xC4/0x62's Arg2), kept alive.
    pub bugcheck_strings: Vec<(Box<crate::abi::UNICODE_STRING>, Vec<u16>)>,
    /// The simulated call stack.
    pub frames: Frames,
    /// The process whose context code runs in.
    pub process: Process,
    /// The current IRQL.
    pub irql: u8,
    /// The clock: 100-ns units since boot (see the framework's `timers`).
    pub clock: u64,
    /// Frame names of driver code: (image, `module!name`) by the texts'
    /// addresses (see `State::frame_names`).
    pub frame_names: FrameNames,
    /// Events, mutexes and critical regions the driver uses (F82).
    pub sync: sync::SyncObjects,
    /// Registered notify routines (F84).
    pub notify: notify::NotifyRoutines,
    /// The I/O manager's devices, links, files and IRPs (F120–F125).
    pub io: io::IoManager,
    /// Spin locks held (F142).
    pub spin_locks: spinlock::SpinLocks,
    /// Live executive resources (F143).
    pub resources: resource::Resources,
    /// MDLs IoAllocateMdl allocated (F145).
    pub mdls: mdl::Mdls,
    /// DPCs, their queue and kernel timers (F147).
    pub deferred: dpc::Deferred,
    /// Buffers the Rtl conversions allocated (F148).
    pub string_buffers: rtl_convert::StringBuffers,
    /// Registry callbacks (F149).
    pub registry_callbacks: cm_callback::RegistryCallbacks,
    /// The file namespace and its open handles (F150).
    pub files: files::Files,
    /// Object callbacks (F151).
    pub object_callbacks: ob_callback::ObjectCallbacks,
    /// Process and thread objects and the references drivers hold (F152).
    pub objects: objects::Objects,
}

impl Kernel {
    pub(crate) fn new(settings: &Settings) -> Kernel {
        Kernel {
            handles: HandleTable::new(settings.reuse_policy),
            registry: Registry::new(),
            pool: pool::Pool::default(),
            violations: Vec::new(),
            interleaved_open: None,
            bugcheck_strings: Vec::new(),
            frames: Frames::default(),
            process: Process { name: "System".into(), has_peb: false },
            irql: 0,
            clock: 0,
            frame_names: FrameNames::default(),
            sync: sync::SyncObjects::default(),
            notify: notify::NotifyRoutines::default(),
            io: io::IoManager::default(),
            spin_locks: spinlock::SpinLocks::default(),
            resources: resource::Resources::default(),
            mdls: mdl::Mdls::default(),
            deferred: dpc::Deferred::default(),
            string_buffers: rtl_convert::StringBuffers::default(),
            registry_callbacks: cm_callback::RegistryCallbacks::default(),
            files: files::Files::default(),
            object_callbacks: ob_callback::ObjectCallbacks::default(),
            objects: objects::Objects::default(),
        }
    }
}
