/* plan — the activation arena of the generated code, planned at generation
 * time from tensor lifetimes, and a verifier that proves the plan safe.
 *
 * Where tensors live (tensor 0 = model input, tensor i+1 = output of layer i):
 *   - the model input is read in place from the caller's buffer (PLAN_INPUT);
 *     it is never copied and never written;
 *   - the model output (the last tensor) is written straight into the
 *     caller's buffer (PLAN_OUTPUT); when the last layer is a flatten, its
 *     input's bytes are copied there;
 *   - every other tensor lives in the arena (PLAN_ARENA) at a 4-byte aligned
 *     offset, or, when that makes the arena smaller, in the caller's output
 *     buffer (PLAN_SCRATCH, 4-byte aligned offset from its start) if it dies
 *     before the step that writes the model output: the output buffer is
 *     scratch until then (the contract says nothing of its bytes during the
 *     run) — except that a flatten output is its input viewed with another
 *     shape (same bytes, same place, no code), so a flatten of the model input
 *     is PLAN_INPUT too;
 *   - a conv2d output read only by the next layer, a pool whose windows do not
 *     overlap (stride = kernel, or a global average pool), never exists
 *     (PLAN_FUSED): the generated code runs the two layers as one step, the
 *     pool's, reducing each pool window's conv outputs as they are computed.
 *     That step reads the conv's input and writes the pool's output, so the
 *     two are live together; the conv's own step does nothing.
 *
 * Lifetimes are in steps (step s runs layer s). A tensor is live from the
 * step that writes it (def; -1 for the model input) to the last step that
 * reads it (last; n_layers for the model output, which the caller reads
 * after the run; def for a tensor nobody reads, which must still be written
 * somewhere). Two tensors are live together when their closed intervals
 * [def, last] meet: a layer's output and its inputs are live together.
 *
 * Tensors that share bytes form one buffer: a flatten output shares its
 * input's buffer, and an add may write in place over one of its inputs when
 * that input's buffer is read by no later step (add is elementwise: element
 * i is read before it is written and never read again). Buffers are placed
 * greedily, first fit, largest first (ties: earlier def, then lower buffer
 * number), so the plan is deterministic.
 *
 * plan_verify re-derives the lifetimes from the model and checks every pair
 * of tensors independently of how the planner grouped them.
 */
#ifndef QATC_PLAN_H
#define QATC_PLAN_H

#include <stdint.h>

#include "qerr.h"
#include "qmodel.h"

#define PLAN_ALIGN 4 /* bytes: every arena offset and the arena size are multiples */
#define PLAN_ARENA_MAX (INT32_MAX - PLAN_ALIGN + 1) /* the largest arena: int32 offsets */

typedef enum { PLAN_INPUT, PLAN_OUTPUT, PLAN_ARENA, PLAN_FUSED, PLAN_SCRATCH } plan_loc;

typedef struct {
    plan_loc loc;
    int32_t offset;  /* PLAN_ARENA: byte offset in the arena; PLAN_SCRATCH: in the caller's
                      * output buffer; 0 otherwise */
    int32_t size;    /* bytes (= elements, int8) */
    int def, last;   /* lifetime in steps, see above */
    int shares;      /* tensor whose bytes this one reuses (flatten: its input; in-place
                      * add: the input it overwrites), or -1 */
} plan_tensor;

typedef struct {
    int n_tensors;        /* n_layers + 1 */
    plan_tensor *t;       /* (n_tensors), malloc'd */
    int32_t arena_size;   /* bytes, a multiple of PLAN_ALIGN (0 when nothing lives there) */
    int32_t lower_bound;  /* max over steps of the bytes of distinct buffers live at that
                           * step (less what the output buffer may hold, when the plan uses
                           * it): no placement of these buffers can use less */
    int peak_step;        /* the first step where lower_bound is reached (-1: none) */
    int32_t scratch_size; /* bytes of the caller's output buffer used as scratch (0: none) */
    int n_inplace;        /* adds that write over one of their inputs */
    int n_fused;          /* conv2d + pool pairs run as one step (PLAN_FUSED tensors) */
} plan;

/* Can layer l (a conv2d) run fused with the pool after it, its output never
 * stored? True when layer l is not dilated and layer l + 1 is a maxpool or
 * avgpool reading layer l's output, with windows that do not overlap (stride =
 * kernel in both directions, or one window over the whole input) and no
 * padding, an avgpool of the rescaling kind (q_avgpool_rescales), and no
 * other layer reads that output (nor is it the model output). */
int plan_can_fuse(const q_model *m, int l);

/* Plans the arena of m, which must have passed q_model_check, and verifies
 * the result (plan_verify). Returns 0, or -1 with e set (out of memory, an
 * arena over PLAN_ARENA_MAX bytes, or a plan the verifier rejects — a bug);
 * *p is then zeroed. */
int plan_build(const q_model *m, plan *p, qerr *e);

/* Checks p against m without trusting the planner: sizes match the shapes;
 * the model input is PLAN_INPUT, the output PLAN_OUTPUT, and PLAN_INPUT is
 * otherwise only a flatten view of the input; arena offsets aligned and inside
 * arena_size; and for every two tensors live at the same step whose arena
 * bytes overlap, the overlap is safe: either both are views of the same bytes
 * through flattens (identical range, read-only after they are written), or
 * one is an add writing exactly over an input of that add that no later step
 * reads. Returns 0, or -1 with e naming the two tensors and their ranges. */
int plan_verify(const q_model *m, const plan *p, qerr *e);

void plan_free(plan *p);

#endif
