/* startup — the smallest startup that runs C on a Cortex-M or an RV32 core:
 * .data copied from flash, .bss zeroed, the stack painted (for the high-water
 * mark), main, and a semihosting exit with main's return value — or with
 * STARTUP_FAULT_STATUS when the stack overflowed into .bss or the core took
 * an exception. How the core gets there differs: a Cortex-M loads its stack
 * pointer and reset_handler from the vector table at the end of this file;
 * an RV32 core jumps to its reset address, where the linker puts
 * reset_handler (section .vectors), which sets the stack and global pointers
 * and the trap vector itself. The symbols come from sections.ld. */
#include "startup.h"

#include "semihost.h"

#define STACK_PAINT 0x5A17C0DEu

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];
extern uint32_t _stack_bottom[], _stack_top[];

int main(void);

#if defined(__riscv)
#define ENTRY_C start_c /* reset_handler (assembly) sets sp, then jumps here */
#else
#define ENTRY_C reset_handler
#endif

void ENTRY_C(void) __attribute__((noreturn));
void ENTRY_C(void)
{
    uint32_t *src = _sidata, *dst = _sdata;
    while (dst < _edata)
        *dst++ = *src++;
    for (dst = _sbss; dst < _ebss; dst++)
        *dst = 0;
    /* Paint the free stack, up to the current stack pointer. Through a
     * volatile pointer, so that GCC cannot turn the loop into a memset call,
     * whose own frame would lie in the area being painted. */
    uint32_t *sp;
#if defined(__riscv)
    __asm__ volatile("mv %0, sp" : "=r"(sp));
#else
    __asm__ volatile("mov %0, sp" : "=r"(sp));
#endif
    for (volatile uint32_t *paint = _stack_bottom; paint < sp; paint++)
        *paint = STACK_PAINT;
    int status = main();
    if (*_stack_bottom != STACK_PAINT) {  /* the deepest word got written: no room left */
        semihost_write0("stack overflow: the stack reached the end of .bss\n");
        status = STARTUP_FAULT_STATUS;
    }
    semihost_exit(status);
}

uint32_t startup_stack_used(void)
{
    const uint32_t *p = _stack_bottom;
    while (p < _stack_top && *p == STACK_PAINT)
        p++;
    return (uint32_t)((const char *)_stack_top - (const char *)p);
}

#if defined(__riscv)
/* Any trap (illegal instruction, access fault, misaligned access on cores that trap it):
 * mtvec points here, in direct mode, which needs a 4-byte aligned address. The CSR
 * instructions are written as .insn: GNU as wants the Zicsr extension named for csrr and
 * csrw (-march=rv32imc_zicsr, whose libraries Debian's GCC lacks), and clang's assembler
 * does not know `.option arch`. */
__attribute__((aligned(4), noreturn)) static void fault_handler(void)
{
    semihost_write0("fault: the image took an exception (mcause ");
    uint32_t cause;
    __asm__ volatile(".insn i 0x73, 2, %0, zero, 0x342" : "=r"(cause)); /* csrr cause, mcause */
    semihost_write_int("", (int32_t)cause);
    semihost_write0(")\n");
    semihost_exit(STARTUP_FAULT_STATUS);
}

/* The entry point, at the core's reset address (section .vectors, first in flash): no
 * stack yet, so no C. gp: the base of the linker's gp-relative accesses to small data
 * (set without relaxation, or the linker would make it relative to itself). */
__attribute__((naked, section(".vectors"), used)) void reset_handler(void)
{
    __asm__(".option push\n\t"
            ".option norelax\n\t"
            "la gp, __global_pointer$\n\t"
            ".option pop\n\t"
            "la sp, _stack_top\n\t"
            "la t0, %0\n\t"
            ".insn i 0x73, 1, zero, t0, 0x305\n\t" /* csrw mtvec, t0 */
            "j start_c"
            : : "i"(fault_handler));
}
#else
static void fault_handler(void)
{
    semihost_write0("fault: the image took an exception (unaligned access? stack overflow?)\n");
    semihost_exit(STARTUP_FAULT_STATUS);
}

/* Cortex-M vector table: initial stack pointer, then the handlers of the 15
 * system exceptions (0 = reserved). No interrupts are enabled. */
__attribute__((section(".vectors"), used))
static void (*const vectors[16])(void) = {
    (void (*)(void))_stack_top, reset_handler,
    fault_handler, fault_handler, fault_handler, fault_handler, fault_handler, /* NMI..UsageFault */
    0, 0, 0, 0,
    fault_handler, fault_handler, 0, fault_handler, fault_handler, /* SVC, DebugMon, PendSV, SysTick */
};
#endif
