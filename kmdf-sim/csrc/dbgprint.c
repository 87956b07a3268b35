/*
 * DbgPrint and DbgPrintEx are C-variadic, which stable Rust cannot define.
 * These entry points only collect the arguments into a va_list and hand it
 * to the simulator (kmdf_sim_dbg_vprint, in src/surface/dbgprint.rs), which
 * parses the format and takes each argument through the kmdf_sim_va_*
 * helpers below, by the size the conversion gives it.
 */
#include <stdarg.h>
#include <stdint.h>

extern uint32_t kmdf_sim_dbg_vprint(uint32_t ex, uint32_t component, uint32_t level, const char *format,
                                    va_list *args);

uint32_t kmdf_sim_DbgPrint(const char *format, ...) {
    va_list args;
    va_start(args, format);
    uint32_t status = kmdf_sim_dbg_vprint(0, 0, 0, format, &args);
    va_end(args);
    return status;
}

uint32_t kmdf_sim_DbgPrintEx(uint32_t component, uint32_t level, const char *format, ...) {
    va_list args;
    va_start(args, format);
    uint32_t status = kmdf_sim_dbg_vprint(1, component, level, format, &args);
    va_end(args);
    return status;
}

/* An int-sized argument (int, long on Windows, char and short promoted). */
uint32_t kmdf_sim_va_u32(va_list *args) { return va_arg(*args, uint32_t); }

/* A 64-bit integer or a pointer. */
uint64_t kmdf_sim_va_u64(va_list *args) { return va_arg(*args, uint64_t); }

/* A double (float promoted). */
double kmdf_sim_va_f64(va_list *args) { return va_arg(*args, double); }
