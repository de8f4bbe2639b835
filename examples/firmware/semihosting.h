/* semihosting.h — text output and exit through the debugger (or qemu).
 *
 * `bkpt 0xAB` with an operation in r0 and its argument in r1 asks the host
 * to do it. qemu-system-arm does with `-semihosting-config enable=on`. On a
 * board without a debugger attached the bkpt faults: replace these two with
 * your UART driver and an endless loop.
 */
#ifndef SEMIHOSTING_H
#define SEMIHOSTING_H

#include <stdint.h>

static inline void semihosting_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
}

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
