/* startup — reset handler and vector table of the qemu test images. */
#ifndef QATC_STARTUP_H
#define QATC_STARTUP_H

#include <stdint.h>

/* Exit status of an image that took a fault (e.g. an unaligned access on
 * Cortex-M0) or whose stack overflowed: distinct from any self-test result,
 * which is clamped to 0..127. */
#define STARTUP_FAULT_STATUS 250

/* Bytes of stack touched since reset (the high-water mark): the reset
 * handler fills the free stack with a pattern; this finds the deepest word
 * that no longer holds it. */
uint32_t startup_stack_used(void);

#endif
