//! KMDF (Wdf01000.sys) as a driver meets it.
//!
//! * `config` — the create-DDIs' config structures and the sizes KMDF accepts (F93).
//! * `locks` — WDFSPINLOCK and WDFWAITLOCK, their misuses (F54).
//! * `memory` — WDFMEMORY and WDFSTRING: buffers, copies, text.
//! * `object_ddi` — the object DDIs: create, delete, references, contexts.
//! * `objects` — the object tree: parents, references, cleanup and destroy
//!   order, contexts (F27–F34, F77).
//! * `device` — the device DDIs' rules: WDFDEVICE_INIT, WdfDeviceCreate, interfaces.
//! * `driver` — the driver image: DriverEntry, unload, running driver code.
//! * `handle_check` — every DDI's handle parameters and the framework's check of them (F90–F92).
//! * `pnp` — devnodes, PnP and power callbacks, file handles and I/O submission (F35–F37, F73).
//! * `queue` — queues and requests: presentation, completion, cancellation.
//! * `registry` — `FxRegKey` objects over the kernel's keys (F1–F26).
//! * `timers` — the clock, timers, work items and DPCs.
//! * `wdfdriver` — the WDFDRIVER's DDIs: create, its registry keys, the version.
//! * `verifier` — the KMDF verifier and the framework's bug checks (F19, F20, F52, F54, F65, F70, F77).
//!
//! A DDI is one rule here plus one thin shim in the surface's `ddi`.

pub(crate) mod config;
pub(crate) mod device;
pub(crate) mod displace;
pub(crate) mod driver;
pub(crate) mod handle_check;
pub(crate) mod locks;
pub(crate) mod memory;
pub(crate) mod object_ddi;
pub(crate) mod objects;
pub(crate) mod pnp;
pub(crate) mod queue;
pub(crate) mod registry;
pub(crate) mod timers;
pub(crate) mod verifier;
pub(crate) mod wdfdriver;

use crate::abi::{_WDF_DRIVER_GLOBALS, DRIVER_INITIALIZE};
use crate::model::Name;
use std::collections::VecDeque;

/// How many completed requests' results the machine keeps for callers.
pub(crate) const COMPLETED_REQUESTS_KEPT: usize = 1024;

/// The framework's part of the machine state.
pub(crate) struct Framework {
    /// Framework objects by handle value.
    pub objects: objects::ObjectTable,
    /// Handles of objects the framework freed, with their type (F77).
    pub freed_objects: objects::FreedObjects,
    /// Passive objects whose delete arrived above PASSIVE_LEVEL (F9, F34).
    pub deferred_deletes: Vec<u64>,
    /// The next framework object's number.
    pub next_object: u64,
    /// The driver image the machine has loaded.
    pub driver: Option<driver::LoadedDriver>,
    /// The driver package PnP loads on demand (image, service, entry).
    pub installed: Option<(Name, Name, DRIVER_INITIALIZE)>,
    /// The texts the last service loaded was handed (made once per service).
    pub service_texts: Option<driver::ServiceTexts>,
    /// The PnP tree.
    pub devnodes: Vec<pnp::Devnode>,
    /// WDFDEVICE_INITs handed to EvtDriverDeviceAdd.
    pub device_inits: Vec<pnp::DeviceInitState>,
    /// Requests not presented yet, with the process they came from.
    pub waiting_requests: Vec<(u64, Name)>,
    /// The process the last request came from, so that the requests of one
    /// process share its name's text.
    pub request_process: Name,
    /// Completed IOCTLs: status, information, output.
    pub completed_requests: queue::CompletedRequests,
    /// Reports of unloads PnP did by itself (F37).
    pub unload_reports: Vec<driver::UnloadReport>,
    /// Verifier findings that are not bug checks.
    pub findings: Vec<String>,
    /// Messages the framework traced (its in-flight recorder, IFR).
    pub framework_log: Vec<String>,
    /// KMDF verifier breaks that a kernel debugger caught (F65).
    pub verifier_breaks: Vec<String>,
    /// Work items enqueued and not run yet, in order.
    pub work_queue: VecDeque<u64>,
    /// Driver globals handed to the binding macro; boxed so its address is stable.
    pub globals: Box<_WDF_DRIVER_GLOBALS>,
}

impl Default for Framework {
    fn default() -> Self {
        Framework {
            objects: objects::ObjectTable::default(),
            freed_objects: objects::FreedObjects::default(),
            deferred_deletes: Vec::new(),
            next_object: 1,
            driver: None,
            installed: None,
            service_texts: None,
            devnodes: Vec::new(),
            device_inits: Vec::new(),
            waiting_requests: Vec::new(),
            request_process: Name::default(),
            completed_requests: queue::CompletedRequests::default(),
            unload_reports: Vec::new(),
            findings: Vec::new(),
            framework_log: Vec::new(),
            verifier_breaks: Vec::new(),
            work_queue: VecDeque::new(),
            globals: Box::default(),
        }
    }
}
