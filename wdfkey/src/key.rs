//! `RegKey`: the only owner of one framework registry key ([K1]).
#![doc = doc_links!()]

use crate::error::{Error, Result, check};
use crate::handle::KeyHandle;
use crate::name::IntoRegName;
use crate::parent::ParentObject;
use crate::sys::{
    self, HANDLE, KEY_ALL_ACCESS, KEY_READ, KEY_WRITE, NTSTATUS, REG_CREATED_NEW_KEY, REG_OPTION_NON_VOLATILE,
    REG_OPTION_VOLATILE, WDF_NO_OBJECT_ATTRIBUTES, WDF_OBJECT_ATTRIBUTES, WDFDRIVER, WDFKEY, WDFKEY__,
    call_unsafe_wdf_function_binding,
};
use core::mem::ManuallyDrop;
use core::ptr::NonNull;

/// Access to request when opening a key (`ACCESS_MASK`).
///
/// # Examples
/// ```
/// use wdfkey::{Access, RegKey};
/// # let m = kmdf_sim::control::Machine::new(Default::default());
/// # m.registry_seed(r"[\Registry\Machine\SOFTWARE\Example]").unwrap();
/// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
/// assert_eq!(Access::READ | Access::WRITE, Access::READ_WRITE);
/// let read_only = RegKey::open_absolute(r"\Registry\Machine\SOFTWARE\Example", Access::READ)?;
/// let denied = read_only.assign_u32("Mode", 1).unwrap_err();
/// assert_eq!(denied.status(), wdfkey::sys::STATUS_ACCESS_DENIED);
/// let writable = RegKey::open_absolute(r"\Registry\Machine\SOFTWARE\Example", Access::READ_WRITE)?;
/// writable.assign_u32("Mode", 1)?;
/// # Ok(()) }).unwrap().unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access(u32);

impl Access {
    /// `KEY_READ`: query values, enumerate subkeys.
    pub const READ: Access = Access(KEY_READ);
    /// `KEY_WRITE`: set values, create subkeys.
    pub const WRITE: Access = Access(KEY_WRITE);
    /// `KEY_READ | KEY_WRITE`.
    pub const READ_WRITE: Access = Access(KEY_READ | KEY_WRITE);
    /// `KEY_ALL_ACCESS`, which includes `DELETE` (needed by [`RegKey::remove`]).
    pub const ALL: Access = Access(KEY_ALL_ACCESS);

    /// Any `ACCESS_MASK`.
    pub const fn from_bits(bits: u32) -> Access {
        Access(bits)
    }

    /// The `ACCESS_MASK`.
    pub const fn bits(self) -> u32 {
        self.0
    }
}

impl core::ops::BitOr for Access {
    type Output = Access;
    fn bitor(self, rhs: Access) -> Access {
        Access(self.0 | rhs.0)
    }
}

/// Which of a device's keys to open ([F16]).
///
/// # Examples
/// A device's keys in EvtDriverDeviceAdd, under kmdf-sim's PnP:
/// ```
/// use wdfkey::{Access, DeviceKey, RegKey};
/// use wdfkey::sys::*;
///
/// extern "C" fn device_add(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
///     let mut init = init;
///     let mut device: WDFDEVICE = core::ptr::null_mut();
///     // SAFETY: the framework's `init`, consumed on success; `device` is a local.
///     let status = unsafe {
///         call_unsafe_wdf_function_binding!(WdfDeviceCreate, &mut init, WDF_NO_OBJECT_ATTRIBUTES, &mut device)
///     };
///     if !NT_SUCCESS(status) {
///         return status;
///     }
///     // SAFETY: `device` was just created by this driver.
///     let written = unsafe { RegKey::open_device_key(device, DeviceKey::Hardware, Access::ALL) }
///         .and_then(|hw| hw.assign_u32("Mode", 2)); // `hw` is dropped (closed) here
///     written.map_or_else(NTSTATUS::from, |()| STATUS_SUCCESS)
/// }
/// # extern "C" fn driver_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
/// #     let mut config = WDF_DRIVER_CONFIG { Size: size_of::<WDF_DRIVER_CONFIG>() as u32,
/// #         EvtDriverDeviceAdd: Some(device_add), ..Default::default() };
/// #     // SAFETY: the loader's arguments; `config` is a local.
/// #     unsafe { call_unsafe_wdf_function_binding!(WdfDriverCreate, driver, path, WDF_NO_OBJECT_ATTRIBUTES, &mut config, WDF_NO_HANDLE.cast()) }
/// # }
/// let m = kmdf_sim::control::Machine::new(Default::default());
/// m.install("example.sys", "example", Some(driver_entry));
/// let id = m.add_device(r"Root\Example", None).unwrap();
/// let (_, instance) = m.device_ids(id).unwrap();
/// let hardware_key = format!(r"\Registry\Machine\SYSTEM\CurrentControlSet\Enum\{instance}\Device Parameters");
/// assert_eq!(m.registry_value(&hardware_key, "Mode"), Some((REG_DWORD, 2u32.to_le_bytes().to_vec())));
/// assert!(m.live_keys().is_empty(), "the key was closed when `hw` was dropped");
/// ```
#[doc = doc_links!()]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKey {
    /// `PLUGPLAY_REGKEY_DEVICE`: the hardware key (`Device Parameters`).
    Hardware,
    /// `PLUGPLAY_REGKEY_DRIVER`: the software (driver) key.
    Software,
}

impl DeviceKey {
    fn key_type(self) -> u32 {
        match self {
            DeviceKey::Hardware => sys::PLUGPLAY_REGKEY_DEVICE,
            DeviceKey::Software => sys::PLUGPLAY_REGKEY_DRIVER,
        }
    }
}

/// Whether a created key survives a reboot.
///
/// # Examples
/// ```
/// use wdfkey::{Access, RegKey, Volatility};
/// # let m = kmdf_sim::control::Machine::new(Default::default());
/// # m.registry_seed(r"[\Registry\Machine\SOFTWARE\Example]").unwrap();
/// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
/// let key = RegKey::open_absolute(r"\Registry\Machine\SOFTWARE\Example", Access::ALL)?;
/// let (run, _) = key.create_subkey("ThisBoot", Access::ALL, Volatility::Volatile)?;
/// run.assign_u32("Started", 1)?; // gone at the next boot
/// # Ok(()) }).unwrap().unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volatility {
    /// `REG_OPTION_NON_VOLATILE`: stored in the hive.
    NonVolatile,
    /// `REG_OPTION_VOLATILE`: gone at the next boot.
    Volatile,
}

/// What `create_subkey` found (`REG_CREATED_NEW_KEY` / `REG_OPENED_EXISTING_KEY`, [F13]).
///
/// # Examples
/// ```
/// use wdfkey::{Access, Disposition, RegKey, Volatility};
/// # let m = kmdf_sim::control::Machine::new(Default::default());
/// # m.registry_seed(r"[\Registry\Machine\SOFTWARE\Example]").unwrap();
/// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
/// let key = RegKey::open_absolute(r"\Registry\Machine\SOFTWARE\Example", Access::ALL)?;
/// let (_, first) = key.create_subkey("State", Access::ALL, Volatility::NonVolatile)?;
/// let (_, again) = key.create_subkey("State", Access::ALL, Volatility::NonVolatile)?;
/// assert_eq!((first, again), (Disposition::CreatedNew, Disposition::OpenedExisting));
/// # Ok(()) }).unwrap().unwrap();
/// ```
#[doc = doc_links!()]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The key did not exist and was created.
    CreatedNew,
    /// The key existed and was opened.
    OpenedExisting,
}

/// An open framework registry key.
///
/// Owns its `WDFKEY` alone and deletes it exactly once: when dropped, or when
/// consumed by [`RegKey::remove`] (on success) or [`RegKey::into_raw`]. It is
/// neither `Clone` nor `Copy`. The WDM handle inside is only lent
/// ([`RegKey::wdm_handle`]); nothing in this crate closes it.
///
/// # Where a key may be dropped ([K3], [K4])
/// `Drop` calls `WdfObjectDelete`, which is allowed up to DISPATCH_LEVEL: at
/// PASSIVE_LEVEL the framework closes the handle at once, above it the
/// close is deferred to a PASSIVE work item ([F5], [F9], [F34]). A key must be
/// dropped while its parent object is alive: the driver object (the default
/// parent, [F10]) — so before `EvtDriverUnload` returns — or the object given
/// as [`ParentObject`] (enforced by [`ScopedKey`](crate::ScopedKey)'s lifetime).
/// A key kept in a framework context is an `Option<RegKey>` (all-zero is
/// `None`, [F76]) taken out in `EvtDriverUnload` or the parent's cleanup.
///
/// # Neither `Send` nor `Sync`
/// By its pointer field, and on purpose: a key is used and dropped by the
/// code that owns it, and dropping it must happen while its parent object
/// lives and, for the close to be immediate, at PASSIVE_LEVEL. A key that
/// could move freely between threads could be dropped by a work item or DPC
/// after its owner's teardown, which no type can check. A driver that must
/// hand a key to another context does so explicitly: [`RegKey::into_raw`],
/// and [`RegKey::from_raw`] (`unsafe`, with those conditions as its
/// contract) on the other side. The same holds for the borrows
/// ([`KeyHandle`](crate::KeyHandle), [`ScopedKey`](crate::ScopedKey)).
///
/// # Invariants
/// `raw` is a live WDFKEY that this value alone will delete ([K1]), whose
/// parent object outlives this value ([K3]).
///
/// # Examples
/// ```
/// use wdfkey::{Access, RegKey};
/// # use wdfkey::sys::*;
/// # extern "C" fn driver_entry(driver: *mut _DRIVER_OBJECT, path: PUNICODE_STRING) -> NTSTATUS {
/// #     let mut config = WDF_DRIVER_CONFIG { Size: size_of::<WDF_DRIVER_CONFIG>() as u32, ..Default::default() };
/// #     // SAFETY: the loader's arguments; `config` is a local.
/// #     unsafe { call_unsafe_wdf_function_binding!(WdfDriverCreate, driver, path, WDF_NO_OBJECT_ATTRIBUTES, &mut config, WDF_NO_HANDLE.cast()) }
/// # }
/// # let m = kmdf_sim::control::Machine::new(Default::default());
/// # m.load("example.sys", "example", Some(driver_entry)).unwrap();
/// # let driver = m.live_objects().into_iter().find(|(_, t)| *t == "WDFDRIVER").unwrap().0 as WDFDRIVER;
/// # m.run("example.sys", "Example", || -> wdfkey::Result<()> {
/// // SAFETY: `driver` is this driver's live WDFDRIVER.
/// let params = unsafe { RegKey::open_parameters(driver) }?;
/// let level = params.query_u32("TraceLevel").unwrap_or(3);
/// drop(params); // closed here, exactly once
/// // SAFETY: as above.
/// let state = unsafe { RegKey::open_persistent_state(driver, Access::ALL) }?;
/// let loads = state.query_u32("LoadCount").unwrap_or(0);
/// state.assign_u32("LoadCount", loads.wrapping_add(1))?;
/// assert_eq!((level, state.query_u32("LoadCount")?), (3, 1));
/// # Ok(()) }).unwrap().unwrap();
/// ```
#[doc = doc_links!()]
#[repr(transparent)]
#[derive(Debug)]
pub struct RegKey {
    raw: NonNull<WDFKEY__>,
}

/// Object attributes with `ParentObject` set (the rest as
/// `WDF_OBJECT_ATTRIBUTES_INIT`).
fn attributes_with_parent(parent: &ParentObject<'_>) -> WDF_OBJECT_ATTRIBUTES {
    WDF_OBJECT_ATTRIBUTES {
        Size: core::mem::size_of::<WDF_OBJECT_ATTRIBUTES>() as u32,
        ExecutionLevel: sys::_WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope: sys::_WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ParentObject: parent.raw(),
        ..WDF_OBJECT_ATTRIBUTES::default()
    }
}

impl RegKey {
    /// Takes ownership of the key a successful open wrote to `raw`.
    fn from_opened(status: NTSTATUS, raw: WDFKEY) -> Result<RegKey> {
        check(status)?;
        // INVARIANT: the framework opened this key for us; we alone delete it.
        NonNull::new(raw).map(|raw| RegKey { raw }).ok_or(Error::UNSUCCESSFUL)
    }

    /// Opens the driver's service `Parameters` key read-only ([F14]:
    /// `IoOpenDriverRegistryKey`; the INF's settings live there, [F74]).
    /// PASSIVE_LEVEL. Parent: the driver object ([F10]).
    ///
    /// # Safety
    /// `driver` is the live WDFDRIVER of the calling driver.
    #[doc = doc_links!()]
    pub unsafe fn open_parameters(driver: WDFDRIVER) -> Result<RegKey> {
        let mut raw: WDFKEY = core::ptr::null_mut();
        // SAFETY: `driver` is live (caller); `raw` outlives the call (F14).
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDriverOpenParametersRegistryKey,
                driver,
                KEY_READ,
                WDF_NO_OBJECT_ATTRIBUTES,
                &mut raw
            )
        };
        RegKey::from_opened(status, raw)
    }

    /// Opens the driver's persistent-state key, the place for state the
    /// driver writes at run time ([F15], [F74]). PASSIVE_LEVEL. Parent: the
    /// driver object ([F10]).
    ///
    /// # Safety
    /// `driver` is the live WDFDRIVER of the calling driver.
    #[doc = doc_links!()]
    pub unsafe fn open_persistent_state(driver: WDFDRIVER, access: Access) -> Result<RegKey> {
        let mut raw: WDFKEY = core::ptr::null_mut();
        // SAFETY: `driver` is live (caller); `raw` outlives the call (F15).
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDriverOpenPersistentStateRegistryKey,
                driver,
                access.bits(),
                WDF_NO_OBJECT_ATTRIBUTES,
                &mut raw
            )
        };
        RegKey::from_opened(status, raw)
    }

    /// Opens a device's hardware or software key (`WdfDeviceOpenRegistryKey`,
    /// [F16]). PASSIVE_LEVEL. Parent: the driver object, not the device ([F10],
    /// [F16]) — so drop it before the driver unloads, not only before the
    /// device goes.
    ///
    /// # Safety
    /// `device` is a live WDFDEVICE of the calling driver.
    #[doc = doc_links!()]
    pub unsafe fn open_device_key(device: sys::WDFDEVICE, which: DeviceKey, access: Access) -> Result<RegKey> {
        let mut raw: WDFKEY = core::ptr::null_mut();
        // SAFETY: `device` is live (caller); `raw` is a local (F16).
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceOpenRegistryKey,
                device,
                which.key_type(),
                access.bits(),
                WDF_NO_OBJECT_ATTRIBUTES,
                &mut raw
            )
        };
        RegKey::from_opened(status, raw)
    }

    /// Opens a device's key before the device exists, from the
    /// `WDFDEVICE_INIT` of EvtDriverDeviceAdd (`WdfFdoInitOpenRegistryKey`).
    /// PASSIVE_LEVEL. Parent: the driver object ([F10]).
    ///
    /// # Safety
    /// `init` is the live `PWDFDEVICE_INIT` the framework passed to
    /// EvtDriverDeviceAdd, before `WdfDeviceCreate` consumed it.
    #[doc = doc_links!()]
    pub unsafe fn open_device_init_key(init: sys::PWDFDEVICE_INIT, which: DeviceKey, access: Access) -> Result<RegKey> {
        let mut raw: WDFKEY = core::ptr::null_mut();
        // SAFETY: `init` is live (caller); `raw` is a local.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfFdoInitOpenRegistryKey,
                init,
                which.key_type(),
                access.bits(),
                WDF_NO_OBJECT_ATTRIBUTES,
                &mut raw
            )
        };
        RegKey::from_opened(status, raw)
    }

    /// `WdfRegistryOpenKey` under `parent_key` (null: `name` is an absolute
    /// `\Registry\...` path) with the given object attributes.
    fn open_raw<'n>(
        parent_key: WDFKEY,
        name: impl IntoRegName<'n>,
        access: Access,
        attributes: Option<&mut WDF_OBJECT_ATTRIBUTES>,
    ) -> Result<RegKey> {
        let name = name.into_reg_name()?;
        let us = name.unicode_string();
        let attributes = attributes.map_or(WDF_NO_OBJECT_ATTRIBUTES, core::ptr::from_mut);
        let mut raw: WDFKEY = core::ptr::null_mut();
        // SAFETY: `parent_key` is null or the live key of `&self` (K1); `us`
        // borrows `name`, which outlives the call; `raw` is a local (F12).
        let status = unsafe {
            call_unsafe_wdf_function_binding!(WdfRegistryOpenKey, parent_key, &us, access.bits(), attributes, &mut raw)
        };
        RegKey::from_opened(status, raw)
    }

    /// `WdfRegistryCreateKey`, as `open_raw`.
    fn create_raw<'n>(
        parent_key: WDFKEY,
        name: impl IntoRegName<'n>,
        access: Access,
        volatility: Volatility,
        attributes: Option<&mut WDF_OBJECT_ATTRIBUTES>,
    ) -> Result<(RegKey, Disposition)> {
        let name = name.into_reg_name()?;
        let us = name.unicode_string();
        let attributes = attributes.map_or(WDF_NO_OBJECT_ATTRIBUTES, core::ptr::from_mut);
        let options = match volatility {
            Volatility::NonVolatile => REG_OPTION_NON_VOLATILE,
            Volatility::Volatile => REG_OPTION_VOLATILE,
        };
        let mut disposition = 0u32;
        let mut raw: WDFKEY = core::ptr::null_mut();
        // SAFETY: as `open_raw`; `disposition` is a local (F13).
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRegistryCreateKey,
                parent_key,
                &us,
                access.bits(),
                options,
                &mut disposition,
                attributes,
                &mut raw
            )
        };
        let key = RegKey::from_opened(status, raw)?;
        let disposition =
            if disposition == REG_CREATED_NEW_KEY { Disposition::CreatedNew } else { Disposition::OpenedExisting };
        Ok((key, disposition))
    }

    /// Opens a key by absolute path (`\Registry\Machine\...`). PASSIVE_LEVEL.
    /// Parent: the driver object ([F10]).
    #[doc = doc_links!()]
    pub fn open_absolute<'n>(path: impl IntoRegName<'n>, access: Access) -> Result<RegKey> {
        RegKey::open_raw(core::ptr::null_mut(), path, access, None)
    }

    /// Opens or creates a key by absolute path. PASSIVE_LEVEL. Parent: the
    /// driver object ([F10]).
    #[doc = doc_links!()]
    pub fn create_absolute<'n>(
        path: impl IntoRegName<'n>,
        access: Access,
        volatility: Volatility,
    ) -> Result<(RegKey, Disposition)> {
        RegKey::create_raw(core::ptr::null_mut(), path, access, volatility, None)
    }

    /// Opens the subkey `name` of this key. PASSIVE_LEVEL. Parent: the driver
    /// object ([F10]).
    #[doc = doc_links!()]
    pub fn open_subkey<'n>(&self, name: impl IntoRegName<'n>, access: Access) -> Result<RegKey> {
        RegKey::open_raw(self.as_raw(), name, access, None)
    }

    /// Opens or creates the subkey `name`, saying which it did ([F13]).
    /// PASSIVE_LEVEL. Parent: the driver object ([F10]).
    #[doc = doc_links!()]
    pub fn create_subkey<'n>(
        &self,
        name: impl IntoRegName<'n>,
        access: Access,
        volatility: Volatility,
    ) -> Result<(RegKey, Disposition)> {
        RegKey::create_raw(self.as_raw(), name, access, volatility, None)
    }

    /// Opens the subkey `name` as a child of `parent` (a request or device
    /// the caller is working on): the returned key cannot outlive `parent`
    /// ([K3]). PASSIVE_LEVEL.
    #[doc = doc_links!()]
    pub fn open_subkey_scoped<'p, 'n>(
        &self,
        name: impl IntoRegName<'n>,
        access: Access,
        parent: ParentObject<'p>,
    ) -> Result<crate::ScopedKey<'p>> {
        let mut attributes = attributes_with_parent(&parent);
        let key = RegKey::open_raw(self.as_raw(), name, access, Some(&mut attributes))?;
        Ok(crate::ScopedKey::new(key, parent))
    }

    /// Opens a key by absolute path as a child of `parent` ([K3]). PASSIVE_LEVEL.
    #[doc = doc_links!()]
    pub fn open_absolute_scoped<'p, 'n>(
        path: impl IntoRegName<'n>,
        access: Access,
        parent: ParentObject<'p>,
    ) -> Result<crate::ScopedKey<'p>> {
        let mut attributes = attributes_with_parent(&parent);
        let key = RegKey::open_raw(core::ptr::null_mut(), path, access, Some(&mut attributes))?;
        Ok(crate::ScopedKey::new(key, parent))
    }

    /// Deletes the key from the registry (`WdfRegistryRemoveKey`, which needs
    /// `DELETE` access and fails if the key has subkeys). On success the
    /// framework deletes the key object ([F26]), so the key is consumed; on
    /// failure the key object still exists and is handed back, still owned
    /// ([F69] follows KMDF's source). PASSIVE_LEVEL.
    #[doc = doc_links!()]
    pub fn remove(self) -> core::result::Result<(), (RegKey, Error)> {
        // SAFETY: K1 — `raw` is live and owned by `self`.
        let status = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryRemoveKey, self.as_raw()) };
        match check(status) {
            Ok(()) => {
                // K1: the framework deleted the object; deleting it again in
                // Drop would be a use after free (F77).
                core::mem::forget(self);
                Ok(())
            }
            Err(e) => Err((self, e)),
        }
    }

    /// Gives up ownership (any IRQL): the caller now owns the `WDFKEY` and must close it
    /// (`WdfRegistryClose` / `WdfObjectDelete`) or re-own it with
    /// [`RegKey::from_raw`].
    #[must_use = "the WDFKEY is no longer closed by anyone unless re-owned"]
    pub fn into_raw(self) -> WDFKEY {
        let key = ManuallyDrop::new(self);
        key.raw.as_ptr()
    }

    /// Takes ownership of a `WDFKEY` (any IRQL); `None` for a null one.
    ///
    /// # Safety
    /// `raw` is a live WDFKEY that nothing else closes or deletes ([K1]) — e.g.
    /// from [`RegKey::into_raw`] — and whose parent object outlives the new
    /// `RegKey` ([K3]).
    #[doc = doc_links!()]
    pub unsafe fn from_raw(raw: WDFKEY) -> Option<RegKey> {
        // INVARIANT: the caller hands over sole ownership of a live key.
        NonNull::new(raw).map(|raw| RegKey { raw })
    }

    /// The `WDFKEY`, borrowed (any IRQL): for a framework DDI this crate does not wrap.
    /// It stays owned by `self`; closing or deleting it breaks [K1].
    #[doc = doc_links!()]
    pub fn as_raw(&self) -> WDFKEY {
        self.raw.as_ptr()
    }

    /// The WDM handle inside the key, lent for as long as `self` is borrowed
    /// ([K2], [F6]). PASSIVE_LEVEL.
    #[doc = doc_links!()]
    pub fn wdm_handle(&self) -> KeyHandle<'_> {
        // SAFETY: K1 — `raw` is a live WDFKEY; WdmGetHandle only reads m_Key (F6).
        let raw: HANDLE = unsafe { call_unsafe_wdf_function_binding!(WdfRegistryWdmGetHandle, self.as_raw()) };
        KeyHandle::new(raw, self)
    }
}

impl Drop for RegKey {
    /// `WdfObjectDelete`: closes the key at once at PASSIVE_LEVEL, deferred to
    /// PASSIVE above it ([F5], [F9], [F34]). Allowed up to DISPATCH_LEVEL ([K4]).
    #[doc = doc_links!()]
    fn drop(&mut self) {
        // SAFETY: K1 — `raw` is live and owned by `self`, and nothing deletes
        // it after this; K3 — its parent object is still alive.
        unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, self.as_raw().cast()) };
    }
}
