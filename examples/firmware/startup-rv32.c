/* startup-rv32.c — what runs before main on an RV32 core without an FPU
 * (rv32imc, rv32imac: GD32VF103, CH32V203, qemu's virt board).
 *
 * A RISC-V core has no vector table to load a stack pointer from: at reset
 * it executes the first instruction at its reset address. The linker puts
 * reset_handler there (section .vectors, first in flash); it sets the stack
 * and global pointers and the trap vector, then C code copies .data, zeroes
 * .bss and calls main. The section symbols come from the linker script
 * (rv32-virt.ld, gd32vf103.ld).
 */
#include <stdint.h>

extern uint32_t __data_load[], __data_start[], __data_end[];  /* .data: flash image, RAM range */
extern uint32_t __bss_start[], __bss_end[];

int main(void);

void start_c(void) __attribute__((noreturn));
void start_c(void)
{
    const uint32_t *src = __data_load;
    for (uint32_t *dst = __data_start; dst < __data_end; dst++)
        *dst = *src++;
    for (uint32_t *dst = __bss_start; dst < __bss_end; dst++)
        *dst = 0;
    main();
    for (;;)            /* main returned: sleep until reset */
        __asm__ volatile("wfi");
}

/* Any exception (illegal instruction, access fault, a misaligned access on a core that
 * traps it): stop here, where a debugger shows it (mcause says which). mtvec in direct
 * mode needs a 4-byte aligned address. */
__attribute__((aligned(4), used)) static void trap_handler(void)
{
    for (;;)
        __asm__ volatile("ebreak");
}

/* The first instructions at reset. Some parts boot from an alias of their flash
 * (GD32VF103: at 0x00000000, with the flash linked at 0x08000000): the first jump, to an
 * absolute address, continues at the address the image was linked for; elsewhere it
 * jumps to the next instruction. Then gp (the base of the linker's gp-relative
 * accesses to small data, loaded without relaxation so that it does not become
 * relative to itself), sp and mtvec. csrw is written as .insn, the raw encoding of
 * csrrw: GNU as wants the Zicsr extension named for CSR instructions, and clang's
 * assembler does not know `.option arch, +zicsr`. */
__attribute__((naked, section(".vectors"), used)) void reset_handler(void)
{
    __asm__(".option push\n\t"
            ".option norelax\n\t"
            "lui t0, %%hi(1f)\n\t"
            "addi t0, t0, %%lo(1f)\n\t"
            "jr t0\n"
            "1:\n\t"
            "la gp, __global_pointer$\n\t"
            ".option pop\n\t"
            "la sp, __stack_top\n\t"
            "la t0, %0\n\t"
            ".insn i 0x73, 1, zero, t0, 0x305\n\t" /* csrw mtvec, t0 */
            "j start_c"
            : : "i"(trap_handler));
}
