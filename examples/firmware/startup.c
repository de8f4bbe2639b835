/* startup.c — what runs before main on a Cortex-M (M0 to M7).
 *
 * At reset the core loads the stack pointer from word 0 of the vector table
 * and jumps to the address in word 1. C code expects initialised globals
 * (.data, copied from flash) and zeroed ones (.bss); after that, main.
 * The section symbols come from the linker script (cortex-m0.ld, cortex-m4.ld).
 */
#include <stdint.h>

extern uint32_t __data_load[], __data_start[], __data_end[];  /* .data: flash image, RAM range */
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_top[];

int main(void);

void reset_handler(void)
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

/* Any fault (on Cortex-M0 an unaligned access is one): stop here, where a
 * debugger shows it. */
static void fault_handler(void)
{
    for (;;)
        __asm__ volatile("bkpt 0");
}

/* The vector table: initial stack pointer, reset, the system exceptions.
 * A real product appends its interrupt handlers after these 16 words. */
__attribute__((section(".vectors"), used))
static void (*const vector_table[16])(void) = {
    (void (*)(void))__stack_top,  /* initial SP */
    reset_handler,
    fault_handler,                /* NMI */
    fault_handler,                /* HardFault */
    fault_handler,                /* MemManage (M3 and up) */
    fault_handler,                /* BusFault (M3 and up) */
    fault_handler,                /* UsageFault (M3 and up) */
};
