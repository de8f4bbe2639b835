/* semihost — SYS_WRITE0 and SYS_EXIT_EXTENDED over `bkpt 0xAB` (Arm) or the
 * slli/ebreak/srai sequence (RISC-V). */
#include "semihost.h"

#define SYS_WRITE0 0x04
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

#if defined(__riscv)
/* RISC-V: operation in a0, argument in a1, then an ebreak between two no-op shifts that
 * mark it as a semihosting call (all three 32-bit instructions: .option norvc). */
static void semihost_call(uint32_t op, const void *arg)
{
    register uint32_t a0 __asm__("a0") = op;
    register const void *a1 __asm__("a1") = arg;
    __asm__ volatile(".option push\n\t"
                     ".option norvc\n\t"
                     "slli zero, zero, 0x1f\n\t"
                     "ebreak\n\t"
                     "srai zero, zero, 7\n\t"
                     ".option pop"
                     : "+r"(a0) : "r"(a1) : "memory");
}
#else
static void semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
}
#endif

void semihost_write0(const char *s)
{
    semihost_call(SYS_WRITE0, s);
}

void semihost_write_int(const char *s, int32_t v)
{
    char buf[12];                       /* "-2147483648" and NUL */
    char *p = buf + sizeof buf;
    uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    *--p = '\0';
    do {
        *--p = (char)('0' + u % 10u);   /* u % 10: libgcc's __aeabi_uidivmod on M0; remu on RV32IM */
        u /= 10u;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    semihost_write0(s);
    semihost_write0(p);
}

void semihost_exit(int status)
{
    /* The extended form takes a block {reason, status}; plain SYS_EXIT
     * (0x18) on AArch32 and RV32 carries only the reason, so qemu would exit
     * 0 or 1. */
    const uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    semihost_call(SYS_EXIT_EXTENDED, block);
    for (;;)
        ;
}
