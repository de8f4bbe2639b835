/* semihosting.h — text output and exit through the debugger (or qemu).
 *
 * `bkpt 0xAB` (Arm) with an operation in r0 and its argument in r1, or on
 * RISC-V `ebreak` between two marker shifts with them in a0 and a1, asks the
 * host to do it. qemu-system-arm and qemu-system-riscv32 do with
 * `-semihosting-config enable=on`. On a board without a debugger attached
 * the breakpoint faults: replace these two with your UART driver and an
 * endless loop.
 */
#ifndef SEMIHOSTING_H
#define SEMIHOSTING_H

#include <stdint.h>

#if defined(__riscv)
static inline void semihosting_call(uint32_t op, const void *arg)
{
    register uint32_t a0 __asm__("a0") = op;
    register const void *a1 __asm__("a1") = arg;
    /* the three instructions uncompressed (norvc): that is how the host recognises them */
    __asm__ volatile(".option push\n\t.option norvc\n\t"
                     "slli zero, zero, 0x1f\n\tebreak\n\tsrai zero, zero, 7\n\t"
                     ".option pop" : "+r"(a0) : "r"(a1) : "memory");
}
#else
static inline void semihosting_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
}
#endif

/* SYS_WRITE0: print a NUL-terminated string. */
static inline void print(const char *s)
{
    semihosting_call(0x04, s);
}

/* SYS_EXIT_EXTENDED: stop; qemu exits with `status`. */
static inline void exit_with(int status)
{
    const uint32_t block[2] = {0x20026 /* ADP_Stopped_ApplicationExit */, (uint32_t)status};
    semihosting_call(0x20, block);
}

#endif
