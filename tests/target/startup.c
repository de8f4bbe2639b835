/* startup — the smallest Cortex-M startup that runs C: a vector table, .data
 * copied from flash, .bss zeroed, the stack painted (for the high-water
 * mark), main, and a semihosting exit with main's return value — or with
 * STARTUP_FAULT_STATUS when the stack overflowed into .bss.
 * The symbols come from sections.ld. */
#include "startup.h"

#include "semihost.h"

#define STACK_PAINT 0x5A17C0DEu

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];
extern uint32_t _stack_bottom[], _stack_top[];

int main(void);

void reset_handler(void) __attribute__((noreturn));
void reset_handler(void)
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
    __asm__ volatile("mov %0, sp" : "=r"(sp));
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
