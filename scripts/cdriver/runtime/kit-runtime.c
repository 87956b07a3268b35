/*
 * The C build kit's runtime stand-ins: what MSVC's kernel runtime gives a
 * driver and the kit links instead. Own code for kmdf-sim, not for Windows.
 * Compiled without the stack protector (it implements it).
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

/*
 * /GS: the compiler copies __security_cookie into a protected frame and
 * passes the copy to __security_check_cookie on return. Windows' loader
 * gives each image a cookie of its own; the kit's is fixed (what a run
 * shows does not depend on the value, only that a changed copy is caught).
 * A changed copy fails fast as the WDK's kernel /GS runtime does:
 * __fastfail(FAST_FAIL_STACK_COOKIE_CHECK_FAILURE = 2), bug check 0x139
 * with parameter 1 = 2.
 */
unsigned long long __security_cookie = 0x00002B992DDFA232ULL;

void __security_check_cookie(unsigned long long cookie) {
    if (cookie != __security_cookie) {
        __asm__ volatile("int $0x29" : : "c"(2ULL));
        __builtin_unreachable();
    }
}

/*
 * _fltused: the compiler references it from an object that uses floating
 * point (a `double` passed to DbgPrint); MSVC's runtime defines it, its
 * value unused.
 */
int _fltused = 0x9875;
