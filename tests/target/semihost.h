/* semihost — the two semihosting calls a qemu test image needs.
 *
 * A semihosting call is, on Arm, `bkpt 0xAB` with the operation in r0 and its
 * argument in r1; on RISC-V, `slli zero, zero, 0x1f; ebreak; srai zero, zero,
 * 7` (uncompressed) with them in a0 and a1. qemu-system-arm and
 * qemu-system-riscv32 serve it when started with
 * `-semihosting-config enable=on,target=native`; on a board without a
 * debugger attached the same instruction would fault, so these are for test
 * images only.
 */
#ifndef QATC_SEMIHOST_H
#define QATC_SEMIHOST_H

#include <stdint.h>

/* SYS_WRITE0: prints a NUL-terminated string on the host (qemu: stderr). */
void semihost_write0(const char *s);

/* Prints s followed by the decimal value of v (signed). */
void semihost_write_int(const char *s, int32_t v);

/* SYS_EXIT_EXTENDED: ends the emulation; qemu exits with `status` (0..255
 * reach the shell unchanged). Never returns. */
void semihost_exit(int status) __attribute__((noreturn));

#endif
