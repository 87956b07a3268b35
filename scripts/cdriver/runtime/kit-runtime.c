/*
 * The C build kit's runtime stand-ins: what MSVC's kernel runtime gives a
 * driver and the kit links instead. Own code for kmdf-sim, not for Windows.
 *
 * __chkstk: the compiler calls it before a frame larger than a page, with
 * the frame size in RAX; on Windows it touches each guard page in turn
 * (Windows grows a stack one guard page at a time). Under kmdf-sim the
 * driver runs on the host thread's stack, which the host maps whole (or grows
 * on any touch within its limit), so there is nothing to touch: it returns,
 * keeping every register, as its convention requires.
 */
__attribute__((naked)) void __chkstk(void) {
    __asm__ volatile("ret");
}
