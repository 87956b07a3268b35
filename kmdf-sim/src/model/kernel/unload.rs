//! What the kernel checks of an image as it unloads: notify routines left
//! registered (F84, F140), spin locks left held (F142), executive resources
//! left initialized (F143), MDLs left allocated (F145),
//! timers left set and DPCs left queued (F147), string buffers left (F148),
//! registry callbacks left registered (F149), file handles left open (F150),
//! object callbacks left registered (F151), object references left held
//! (F152).

use crate::model::State;

impl State {
    /// Every kernel-side check of `image`'s unload, in order; the first
    /// violation stops the machine, the rest only forget the image's state.
    pub(crate) fn kernel_leak_checks(&mut self, image: &str) {
        self.notify_leak_check(image);
        self.spin_lock_leak_check(image);
        self.resource_leak_check(image);
        self.mdl_leak_check(image);
        self.timer_and_dpc_leak_check(image);
        self.string_buffer_leak_check(image);
        self.registry_callback_leak_check(image);
        self.file_handle_leak_check(image);
        self.object_callback_leak_check(image);
        self.object_reference_leak_check(image);
    }
}
