/*
 * cpu.c — a C KMDF driver whose DriverEntry does what the WDK's amd64
 * headers inline into drivers, as the compiled instructions do it: reads and
 * writes CR8 (KeGetCurrentIrql, KeRaiseIrql, KeLowerIrql), reads the
 * processor control region through gs (KeGetCurrentThread: gs:[0x188]) and
 * KUSER_SHARED_DATA (KeQueryTickCount, KeQueryInterruptTime, the version).
 * DriverEntry returns 0xE00000NN, NN naming the first check that failed, or
 * WdfDriverCreate's status; it prints what it read with DbgPrint and
 * DbgPrintEx (win64 variadic calls, arguments in registers and on the stack).
 *
 * Built by kmdf-sim's tests (scripts/cdriver/build --sdk none), with one of:
 *   -DCPU_RAISED_CALL  calls WdfDriverCreate at DISPATCH_LEVEL (raised by CR8)
 *   -DCPU_FASTFAIL     __fastfail(7)
 *   -DCPU_GS_OVERRUN   overruns a stack buffer: the /GS check fails
 *   -DCPU_WILD_WRITE   writes through a bad pointer
 *   -DCPU_BREAKPOINT   int3 with no debugger
 *   -DCPU_SEH          the bad write, two calls down, inside __try/__except(1):
 *                      the __except block runs and DriverEntry goes on
 *   -DCPU_SEH_FILTER   the same under an exception filter function (it says execute)
 *   -DCPU_SEH_FILTER_FAILS  the filter function itself fails fast (__fastfail(5))
 *   -DCPU_SEH_FINALLY  the same with a __finally between the fault and the
 *                      __except (it runs first: `kept` + 1)
 */
#include <ntddk.h>
#include <wdf.h>

DRIVER_INITIALIZE DriverEntry;

#define KI_USER_SHARED_DATA 0xFFFFF78000000000ULL
#define SHARED64(Offset) (*(volatile ULONG64 *)(KI_USER_SHARED_DATA + (Offset)))
#define SHARED32(Offset) (*(volatile ULONG *)(KI_USER_SHARED_DATA + (Offset)))
#define CHECK(Step, Condition)                      \
    do {                                            \
        if (!(Condition)) {                         \
            return (NTSTATUS)(0xE0000000u | (Step)); \
        }                                           \
    } while (0)

static ULONG64 ReadCr8(void) {
    ULONG64 value;
    __asm__ volatile("mov %%cr8, %0" : "=r"(value));
    return value;
}

static void WriteCr8(ULONG64 value) {
    __asm__ volatile("mov %0, %%cr8" : : "r"(value) : "memory");
}

static ULONG64 ReadGs64(ULONG64 offset) {
    ULONG64 value;
    __asm__ volatile("movq %%gs:(%1), %0" : "=r"(value) : "r"(offset));
    return value;
}

/* A pointer the compiler cannot see through. */
static volatile ULONG_PTR BadAddress = 0x10;

__attribute__((noinline)) static void WildWrite(void) {
    *(volatile ULONG *)BadAddress = 1;
}

/* A frame with locals and saved registers between the fault and the __try. */
__attribute__((noinline)) static ULONG Middle(ULONG seed) {
    volatile ULONG local[8];
    ULONG sum = seed;
    for (ULONG i = 0; i < 8; i++) {
        local[i] = seed + i;
    }
    WildWrite();
    for (ULONG i = 0; i < 8; i++) {
        sum += local[i];
    }
    return sum;
}

#ifdef CPU_SEH_FILTER_FAILS
#define CPU_SEH_FILTER
#endif
#ifdef CPU_SEH_FILTER
__attribute__((noinline)) static int Filter(ULONG code) {
#ifdef CPU_SEH_FILTER_FAILS
    __asm__ volatile("int $0x29" : : "c"(5ULL));
#endif
    return code == 0xC0000005 ? 1 : 0;
}
#endif

#ifdef CPU_GS_OVERRUN
static volatile ULONG OverrunLength = 64;
__attribute__((noinline)) static ULONG Overrun(void) {
    volatile UCHAR buffer[16];
    for (ULONG i = 0; i < OverrunLength; i++) {
        buffer[i] = (UCHAR)i;
    }
    return buffer[3];
}
#endif

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
    WDF_DRIVER_CONFIG config;
    ULONG64 self, thread;

    /* CR8: the IRQL, as the machine has it. */
    CHECK(1, ReadCr8() == PASSIVE_LEVEL);
    WriteCr8(DISPATCH_LEVEL);
    CHECK(2, ReadCr8() == DISPATCH_LEVEL);
    CHECK(3, KeGetCurrentIrql() == DISPATCH_LEVEL); /* the machine saw the write */
#ifndef CPU_RAISED_CALL
    WriteCr8(PASSIVE_LEVEL);
#endif
    CHECK(4, KeGetCurrentIrql() == (ReadCr8() & 0xF));

    /* gs: the KPCR's Self and CurrentPrcb, and a current thread. */
    self = ReadGs64(0x18);
    CHECK(5, self != 0 && ReadGs64(0x20) == self + 0x180);
    thread = ReadGs64(0x188);
    CHECK(6, thread != 0 && ReadGs64(0x188) == thread);

    /* KUSER_SHARED_DATA: the version and clocks, each read into a local as
     * KeQueryTickCount(&count) stores it (a load, then a store). */
    {
        volatile ULONG major = SHARED32(0x26C), multiplier = SHARED32(0x4);
        volatile ULONG64 ticks = SHARED64(0x320), interrupt_time = SHARED64(0x8);
        CHECK(7, major == 10);
        CHECK(8, multiplier != 0);
        CHECK(9, ticks <= interrupt_time); /* ticks never outrun 100-ns units */
    }

#ifdef CPU_FASTFAIL
    __asm__ volatile("int $0x29" : : "c"(7ULL));
#endif
#ifdef CPU_GS_OVERRUN
    CHECK(10, Overrun() != 0);
#endif
#ifdef CPU_WILD_WRITE
    WildWrite();
#endif
#ifdef CPU_BREAKPOINT
    __asm__ volatile("int3");
#endif
#if defined(CPU_SEH) || defined(CPU_SEH_FILTER) || defined(CPU_SEH_FINALLY)
    {
        ULONG caught = 0, kept = 0x5EED;
        __try {
#ifdef CPU_SEH_FINALLY
            __try {
                Middle(kept);
            } __finally {
                kept++;
            }
#else
            Middle(kept);
#endif
        }
#ifdef CPU_SEH_FILTER
        __except (Filter(_exception_code())) {
#else
        __except (1) {
#endif
            caught = _exception_code();
        }
        /* A value live across the __try survives the unwind (the __finally
         * block, run first, adds one). */
#ifdef CPU_SEH_FINALLY
        CHECK(11, caught == 0xC0000005 && kept == 0x5EEE);
#else
        CHECK(11, caught == 0xC0000005 && kept == 0x5EED);
#endif
        DbgPrint("cpu: __except ran: %08x, kept %x\n", caught, kept);
    }
#endif
    {
        static const WCHAR wide[] = {'w', 'i', 'd', 'e', 0};
        UNICODE_STRING counted = {8, 10, (PWCH)wide};
        DbgPrint("cpu: IRQL %u, thread %s\n", (ULONG)ReadCr8(), thread ? "set" : "null");
        DbgPrintEx(77, 3, "cpu: %s %ws %wZ %I64x %d %c %lu\n", "narrow", wide, &counted,
                   0x1122334455667788ULL, -42, 'z', 4000000000UL);
    }
    WDF_DRIVER_CONFIG_INIT(&config, NULL); /* no devices: loaded and unloaded only */
    return WdfDriverCreate(DriverObject, RegistryPath, WDF_NO_OBJECT_ATTRIBUTES, &config, WDF_NO_HANDLE);
}
