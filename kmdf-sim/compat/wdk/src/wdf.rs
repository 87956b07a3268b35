//! Safe wrappers of framework objects, as in wdk's `wdf` module.
//!
//! Neither type implements `Drop`: the framework deletes the object with its
//! parent, and drivers keep them in zero-filled contexts and assign over
//! them, as windows-drivers-rs's own samples do.

use wdk_sys::{
    NTSTATUS, WDF_OBJECT_ATTRIBUTES, WDF_TIMER_CONFIG, WDFSPINLOCK, WDFTIMER, call_unsafe_wdf_function_binding,
};

/// A WDFSPINLOCK.
#[derive(Debug)]
#[repr(transparent)]
pub struct SpinLock {
    wdf_spin_lock: WDFSPINLOCK,
}

// SAFETY: a WDFSPINLOCK is a handle the framework synchronises itself.
unsafe impl Send for SpinLock {}
// SAFETY: as above; acquire/release take `&self` as in wdk.
unsafe impl Sync for SpinLock {}

impl SpinLock {
    /// `WdfSpinLockCreate`.
    ///
    /// # Errors
    /// The status WdfSpinLockCreate failed with.
    pub fn create(attributes: &mut WDF_OBJECT_ATTRIBUTES) -> Result<Self, NTSTATUS> {
        let mut spin_lock = Self { wdf_spin_lock: core::ptr::null_mut() };
        // SAFETY: valid attributes and a writable handle slot (the DDI's contract).
        let status =
            unsafe { call_unsafe_wdf_function_binding!(WdfSpinLockCreate, attributes, &mut spin_lock.wdf_spin_lock) };
        if crate::nt_success(status) { Ok(spin_lock) } else { Err(status) }
    }

    /// `create` under wdk's newer name.
    ///
    /// # Errors
    /// As [`SpinLock::create`].
    pub fn try_new(attributes: &mut WDF_OBJECT_ATTRIBUTES) -> Result<Self, NTSTATUS> {
        Self::create(attributes)
    }

    /// `WdfSpinLockAcquire` (raises the IRQL to DISPATCH_LEVEL).
    pub fn acquire(&self) {
        // SAFETY: a spin lock this wrapper created (the DDI's contract).
        unsafe { call_unsafe_wdf_function_binding!(WdfSpinLockAcquire, self.wdf_spin_lock) };
    }

    /// `WdfSpinLockRelease`.
    pub fn release(&self) {
        // SAFETY: as `acquire`.
        unsafe { call_unsafe_wdf_function_binding!(WdfSpinLockRelease, self.wdf_spin_lock) };
    }
}

/// A WDFTIMER.
#[derive(Debug)]
#[repr(transparent)]
pub struct Timer {
    wdf_timer: WDFTIMER,
}

// SAFETY: a WDFTIMER is a handle the framework synchronises itself.
unsafe impl Send for Timer {}
// SAFETY: as above.
unsafe impl Sync for Timer {}

impl Timer {
    /// `WdfTimerCreate`.
    ///
    /// # Errors
    /// The status WdfTimerCreate failed with.
    pub fn create(
        timer_config: &mut WDF_TIMER_CONFIG,
        attributes: &mut WDF_OBJECT_ATTRIBUTES,
    ) -> Result<Self, NTSTATUS> {
        let mut timer = Self { wdf_timer: core::ptr::null_mut() };
        // SAFETY: valid config and attributes and a writable slot (the DDI's contract).
        let status = unsafe {
            call_unsafe_wdf_function_binding!(WdfTimerCreate, timer_config, attributes, &mut timer.wdf_timer)
        };
        if crate::nt_success(status) { Ok(timer) } else { Err(status) }
    }

    /// `create` under wdk's newer name.
    ///
    /// # Errors
    /// As [`Timer::create`].
    pub fn try_new(
        timer_config: &mut WDF_TIMER_CONFIG,
        attributes: &mut WDF_OBJECT_ATTRIBUTES,
    ) -> Result<Self, NTSTATUS> {
        Self::create(timer_config, attributes)
    }

    /// `WdfTimerStart`: TRUE if the timer was already queued.
    #[must_use]
    pub fn start(&self, due_time: i64) -> bool {
        // SAFETY: a timer this wrapper created.
        unsafe { call_unsafe_wdf_function_binding!(WdfTimerStart, self.wdf_timer, due_time) != 0 }
    }

    /// `WdfTimerStop`: TRUE if the timer was queued.
    #[must_use]
    pub fn stop(&self, wait: bool) -> bool {
        // SAFETY: as `start`.
        unsafe { call_unsafe_wdf_function_binding!(WdfTimerStop, self.wdf_timer, u8::from(wait)) != 0 }
    }
}
