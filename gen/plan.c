/* plan — activation arena planning by tensor lifetimes (see plan.h). */
#include "plan.h"

#include <stdlib.h>
#include <string.h>

static q_shape tensor_shape(const q_model *m, int t)
{
    return t == 0 ? m->in_shape : m->layers[t - 1].out_shape;
}

static int32_t elems(q_shape s)
{
    return s.h * s.w * s.c;
}

static int64_t align_up(int64_t x)
{
    return (x + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN;
}

/* ---- planning ---------------------------------------------------------- */

typedef struct {
    int32_t size;
    int64_t offset; /* at most a few times PLAN_ARENA_MAX before the check */
    int def, last; /* union of the lifetimes of the tensors that share it */
    int placed;
    int scratch;   /* placed in the caller's output buffer (PLAN_SCRATCH), not the arena */
} buffer;

int plan_can_fuse(const q_model *m, int l)
{
    int n = m->n_layers;
    if (l < 0 || l + 1 >= n || m->layers[l].op != Q_OP_CONV2D)
        return 0;
    const q_layer *pool = &m->layers[l + 1];
    if ((pool->op != Q_OP_MAXPOOL && pool->op != Q_OP_AVGPOOL) || pool->input != l + 1)
        return 0;
    const q_window *cw = &m->layers[l].win, *pw = &pool->win;
    if (cw->dilation_h > 1 || cw->dilation_w > 1) /* the fused nests walk undilated windows */
        return 0;
    if (pw->pad_top || pw->pad_bottom || pw->pad_left || pw->pad_right)
        return 0;
    if (pool->op == Q_OP_AVGPOOL && !q_avgpool_rescales(m, pool)) /* TFLite's division */
        return 0;
    q_shape in = m->layers[l].out_shape;
    int tiles = pool->win.stride_h == pool->win.kernel_h && pool->win.stride_w == pool->win.kernel_w;
    int global = pool->win.kernel_h == in.h && pool->win.kernel_w == in.w;
    if (!tiles && !global)
        return 0;
    for (int k = l + 2; k < n; k++) /* nobody else reads the conv output */
        if (m->layers[k].input == l + 1 ||
            (m->layers[k].op == Q_OP_ADD && m->layers[k].input2 == l + 1))
            return 0;
    return 1;
}

/* Lifetimes: def = producing step, last = last reading step (see plan.h).
 * fused[t] marks the PLAN_FUSED tensors: a conv2d whose output is fused
 * reads its input at the next step (the pool's), and that pool reads no
 * stored tensor of its own. */
static void plan_lifetimes(const q_model *m, const int *fused, plan_tensor *t)
{
    int n = m->n_layers;
    for (int i = 0; i <= n; i++) {
        t[i].def = i - 1;
        t[i].last = i - 1;
        t[i].shares = -1;
        t[i].size = elems(tensor_shape(m, i));
    }
    for (int l = 0; l < n; l++) {
        const q_layer *ly = &m->layers[l];
        if (fused[ly->input])
            continue; /* the fused pool: its input is never stored */
        int s = fused[l + 1] ? l + 1 : l;
        if (t[ly->input].last < s)
            t[ly->input].last = s;
        if (ly->op == Q_OP_ADD && t[ly->input2].last < l)
            t[ly->input2].last = l;
    }
    for (int i = 1; i < n; i++)
        if (fused[i]) /* computed and consumed inside the pool's step */
            t[i].def = t[i].last = i;
    t[n].last = n;
}

/* Can the add at step l write over tensor x (one of its inputs)? Only when x
 * is in the arena and nothing that shares x's buffer is read after step l. */
static int can_overwrite(const plan_tensor *t, const int *buf_of, const buffer *bufs, int x,
                         int l)
{
    return t[x].loc == PLAN_ARENA && bufs[buf_of[x]].last == l;
}

/* Buffer order for first fit: larger first, then earlier def, then number. */
static const buffer *sort_bufs;
static int cmp_buffers(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    const buffer *x = &sort_bufs[i], *y = &sort_bufs[j];
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    if (x->def != y->def)
        return x->def < y->def ? -1 : 1;
    return i < j ? -1 : i > j;
}

static const buffer *sort_placed;
static int cmp_offsets(const void *a, const void *b)
{
    const buffer *x = &sort_placed[*(const int *)a], *y = &sort_placed[*(const int *)b];
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return 0;
}

/* The lowest aligned offset where b fits beside the placed buffers live with it. */
static int64_t first_fit(buffer *bufs, int nb, int b, int *scratch)
{
    int k = 0;
    for (int j = 0; j < nb; j++)
        if (bufs[j].placed && bufs[j].scratch == bufs[b].scratch &&
            bufs[j].def <= bufs[b].last && bufs[b].def <= bufs[j].last)
            scratch[k++] = j;
    sort_placed = bufs;
    qsort(scratch, (size_t)k, sizeof *scratch, cmp_offsets);
    int64_t at = 0;
    for (int i = 0; i < k; i++) {
        const buffer *o = &bufs[scratch[i]];
        if (at + bufs[b].size <= o->offset)
            break;
        if (o->offset + (int64_t)o->size > at)
            at = align_up(o->offset + (int64_t)o->size);
    }
    return at;
}

/* Places the buffers in the order given, first fit; with out_size > 0, those dead before
 * step def_out (which writes the model output) go first fit into the caller's output
 * buffer of out_size bytes where they fit, the rest into the arena. Returns the arena's
 * top (the end of its last byte in use). */
static int64_t place_all(buffer *bufs, int nb, const int *order, int32_t out_size, int def_out,
                         int *scratch)
{
    for (int b = 0; b < nb; b++)
        bufs[b].placed = 0, bufs[b].scratch = 0;
    for (int i = 0; i < nb && out_size > 0; i++) {
        buffer *b = &bufs[order[i]];
        if (b->last >= def_out || b->size > out_size)
            continue;
        b->scratch = 1;
        b->offset = first_fit(bufs, nb, order[i], scratch);
        if (b->offset + b->size <= out_size)
            b->placed = 1;
        else
            b->scratch = 0;
    }
    int64_t top = 0;
    for (int i = 0; i < nb; i++) {
        buffer *b = &bufs[order[i]];
        if (b->placed)
            continue;
        b->offset = first_fit(bufs, nb, order[i], scratch);
        b->placed = 1;
        if (b->offset + (int64_t)b->size > top)
            top = b->offset + (int64_t)b->size;
    }
    return top;
}

/* The most bytes of buffers live at one step (and the first such step, *peak) that no
 * placement can keep out of the arena: with out_size > 0, the caller's output buffer
 * holds up to out_size bytes of those dead before step def_out. */
static int64_t live_bound(const buffer *bufs, int nb, int n, int32_t out_size, int def_out,
                          int *peak)
{
    int64_t lower = 0;
    *peak = -1;
    for (int s = 0; s < n; s++) {
        int64_t live = 0, kept = 0; /* kept: live bytes that cannot go to the output */
        for (int b = 0; b < nb; b++)
            if (bufs[b].def <= s && s <= bufs[b].last) {
                live += bufs[b].size;
                if (out_size == 0 || bufs[b].last >= def_out || bufs[b].size > out_size)
                    kept += bufs[b].size;
            }
        int64_t need = out_size == 0 ? live : live - out_size > kept ? live - out_size : kept;
        if (need > lower)
            lower = need, *peak = s;
    }
    return lower;
}

int plan_build(const q_model *m, plan *p, qerr *e)
{
    memset(p, 0, sizeof *p);
    int n = m->n_layers;
    int nt = n + 1;
    plan_tensor *t = calloc((size_t)nt, sizeof *t);
    int *buf_of = malloc((size_t)nt * sizeof *buf_of);
    buffer *bufs = calloc((size_t)nt, sizeof *bufs);
    int *order = malloc((size_t)nt * sizeof *order);
    int *scratch = malloc((size_t)nt * sizeof *scratch);
    int *fused = calloc((size_t)nt, sizeof *fused);
    if (!t || !buf_of || !bufs || !order || !scratch || !fused) {
        free(t), free(buf_of), free(bufs), free(order), free(scratch), free(fused);
        return qerr_set(e, "plan: out of memory");
    }
    for (int l = 0; l < n; l++)
        fused[l + 1] = plan_can_fuse(m, l);
    plan_lifetimes(m, fused, t);

    /* Group tensors into buffers, in step order. */
    int nb = 0;
    t[0].loc = PLAN_INPUT;
    buf_of[0] = -1;
    for (int l = 0; l < n; l++) {
        const q_layer *ly = &m->layers[l];
        int o = l + 1;
        buf_of[o] = -1;
        if (o == n) {
            t[o].loc = PLAN_OUTPUT;
            continue;
        }
        if (fused[o]) {
            t[o].loc = PLAN_FUSED;
            p->n_fused++;
            continue;
        }
        if (ly->op == Q_OP_FLATTEN) {
            t[o].loc = t[ly->input].loc;
            t[o].shares = ly->input;
            buf_of[o] = buf_of[ly->input];
        } else if (ly->op == Q_OP_ADD &&
                   (can_overwrite(t, buf_of, bufs, ly->input, l) ||
                    can_overwrite(t, buf_of, bufs, ly->input2, l))) {
            int x = can_overwrite(t, buf_of, bufs, ly->input, l) ? ly->input : ly->input2;
            t[o].loc = PLAN_ARENA;
            t[o].shares = x;
            buf_of[o] = buf_of[x];
            p->n_inplace++;
        } else {
            t[o].loc = PLAN_ARENA;
            buf_of[o] = nb;
            bufs[nb].size = t[o].size;
            bufs[nb].def = t[o].def;
            bufs[nb].last = t[o].last;
            nb++;
        }
        if (buf_of[o] >= 0) {
            buffer *b = &bufs[buf_of[o]];
            if (t[o].last > b->last)
                b->last = t[o].last;
        }
    }

    /* First fit, largest first; the caller's output buffer also holds buffers dead before
     * the step that writes it, where that makes the arena smaller. */
    for (int b = 0; b < nb; b++)
        order[b] = b;
    sort_bufs = bufs;
    qsort(order, (size_t)nb, sizeof *order, cmp_buffers);
    int32_t out_size = t[n].size;
    int def_out = t[n].def, peak;
    int64_t top = place_all(bufs, nb, order, 0, def_out, scratch);
    if (align_up(place_all(bufs, nb, order, out_size, def_out, scratch)) < align_up(top))
        top = place_all(bufs, nb, order, out_size, def_out, scratch);
    else {
        top = place_all(bufs, nb, order, 0, def_out, scratch);
        out_size = 0;
    }
    /* Lower bound: the most bytes of distinct buffers live at one step, less what the
     * output buffer may hold */
    int64_t lower = live_bound(bufs, nb, n, out_size, def_out, &peak);
    /* Sizes up to Q_MAX_ELEMS each, at most Q_MAX_LAYERS of them: the sums
     * fit int64, and the arena must fit the generated code's int32. */
    if (align_up(top) > PLAN_ARENA_MAX) {
        free(t), free(buf_of), free(bufs), free(order), free(scratch), free(fused);
        return qerr_set(e, "plan: the arena needs %lld bytes (%lld live at once), more than "
                           "%d (the generated code indexes it with int32)",
                        (long long)align_up(top), (long long)lower, PLAN_ARENA_MAX);
    }
    p->arena_size = (int32_t)align_up(top);
    p->lower_bound = (int32_t)lower;
    p->peak_step = peak;
    for (int i = 0; i < nt; i++)
        if (t[i].loc == PLAN_ARENA) {
            const buffer *b = &bufs[buf_of[i]];
            t[i].offset = (int32_t)b->offset;
            if (b->scratch) {
                t[i].loc = PLAN_SCRATCH;
                if (b->offset + b->size > p->scratch_size)
                    p->scratch_size = (int32_t)(b->offset + b->size);
            }
        }

    free(buf_of), free(bufs), free(order), free(scratch), free(fused);
    p->n_tensors = nt;
    p->t = t;
    if (plan_verify(m, p, e)) {
        plan_free(p);
        return -1;
    }
    return 0;
}

void plan_free(plan *p)
{
    if (!p)
        return;
    free(p->t);
    memset(p, 0, sizeof *p);
}

/* ---- verification -------------------------------------------------------- */

/* The tensor whose bytes t is a view of: follow flattens back to a tensor
 * some layer (or the caller) actually wrote. */
static int view_root(const q_model *m, int t)
{
    while (t > 0 && m->layers[t - 1].op == Q_OP_FLATTEN)
        t = m->layers[t - 1].input;
    return t;
}

/* Is o (written by an add) allowed to occupy exactly x's bytes? x must be an
 * input of that add and no step after it may read x. */
static int inplace_ok(const q_model *m, const int *last, int o, int x)
{
    if (o == 0 || m->layers[o - 1].op != Q_OP_ADD)
        return 0;
    const q_layer *ly = &m->layers[o - 1];
    return (ly->input == x || ly->input2 == x) && last[x] == o - 1;
}

static const char *loc_name(plan_loc loc)
{
    return loc == PLAN_INPUT    ? "input"
           : loc == PLAN_OUTPUT ? "output"
           : loc == PLAN_SCRATCH ? "output buffer (scratch)"
           : loc == PLAN_FUSED  ? "fused step"
                                : "arena";
}

int plan_verify(const q_model *m, const plan *p, qerr *e)
{
    int n = m->n_layers;
    int nt = n + 1;
    if (p->n_tensors != nt || !p->t)
        return qerr_set(e, "plan: %d tensors, the model has %d", p->n_tensors, nt);
    if (p->arena_size < 0 || p->arena_size % PLAN_ALIGN)
        return qerr_set(e, "plan: arena size %d is not a multiple of %d", (int)p->arena_size,
                        PLAN_ALIGN);

    /* Lifetimes, derived again from the model: written at def, read until last. */
    int *def = malloc((size_t)nt * sizeof *def);
    int *last = malloc((size_t)nt * sizeof *last);
    if (!def || !last) {
        free(def), free(last);
        return qerr_set(e, "plan: out of memory");
    }
    for (int i = 0; i < nt; i++)
        def[i] = last[i] = i - 1;
    for (int l = 0; l < n; l++) {
        const q_layer *ly = &m->layers[l];
        if (p->t[ly->input].loc == PLAN_FUSED)
            continue; /* a pool fused with its conv: reads no stored tensor */
        /* a conv fused with the next layer reads its input at that layer's step */
        int s = p->t[l + 1].loc == PLAN_FUSED ? l + 1 : l;
        if (last[ly->input] < s)
            last[ly->input] = s;
        if (ly->op == Q_OP_ADD && last[ly->input2] < l)
            last[ly->input2] = l;
    }
    last[n] = n; /* the caller reads the output after the run */

    int rc = 0;
    for (int i = 0; i < nt && !rc; i++) {
        const plan_tensor *ti = &p->t[i];
        int32_t want = elems(tensor_shape(m, i));
        if (ti->size != want)
            rc = qerr_set(e, "plan: tensor %d has %d bytes, its shape has %d", i, (int)ti->size,
                          (int)want);
        else if (i == 0 && ti->loc != PLAN_INPUT)
            rc = qerr_set(e, "plan: the model input must be read from the caller's buffer, "
                             "not the %s", loc_name(ti->loc));
        else if (i == n && i > 0 && ti->loc != PLAN_OUTPUT)
            rc = qerr_set(e, "plan: the model output (tensor %d) must be written to the "
                             "caller's buffer, not the %s", i, loc_name(ti->loc));
        else if (i > 0 && i < n && ti->loc == PLAN_OUTPUT)
            rc = qerr_set(e, "plan: tensor %d is placed in the caller's output buffer", i);
        else if (ti->loc == PLAN_SCRATCH && (i == 0 || i == n || last[i] >= def[n]))
            rc = qerr_set(e, "plan: tensor %d is in the caller's output buffer while the step "
                             "writing the output (%d) or a later one reads it (last %d)",
                          i, def[n], last[i]);
        else if (ti->loc == PLAN_SCRATCH &&
                 (ti->offset < 0 || (int64_t)ti->offset + ti->size > p->t[n].size))
            rc = qerr_set(e, "plan: tensor %d at [%d, %d) is outside the output buffer of %d "
                             "bytes", i, (int)ti->offset, (int)(ti->offset + ti->size),
                          (int)p->t[n].size);
        else if (ti->loc == PLAN_FUSED && !plan_can_fuse(m, i - 1))
            rc = qerr_set(e, "plan: tensor %d is fused away, but layer %d cannot run fused "
                             "with the layer after it", i, i - 1);
        else if (i > 0 && ti->loc == PLAN_INPUT && view_root(m, i) != 0)
            rc = qerr_set(e, "plan: tensor %d is placed in the caller's input buffer, which is "
                             "read-only", i);
        else if ((ti->loc == PLAN_ARENA || ti->loc == PLAN_SCRATCH) && ti->offset % PLAN_ALIGN)
            rc = qerr_set(e, "plan: tensor %d at offset %d is misaligned (not a multiple of %d)",
                          i, (int)ti->offset, PLAN_ALIGN);
        else if (ti->loc == PLAN_ARENA &&
                 (ti->offset < 0 || (int64_t)ti->offset + ti->size > p->arena_size))
            rc = qerr_set(e, "plan: tensor %d at [%d, %d) is outside the arena of %d bytes", i,
                          (int)ti->offset, (int)(ti->offset + ti->size), (int)p->arena_size);
        else if (i > 0 && i < n && m->layers[i - 1].op == Q_OP_FLATTEN) {
            /* A flatten writes nothing: it must sit exactly on its input's bytes. */
            const plan_tensor *src = &p->t[m->layers[i - 1].input];
            if (src->loc != ti->loc ||
                ((ti->loc == PLAN_ARENA || ti->loc == PLAN_SCRATCH) && src->offset != ti->offset))
                rc = qerr_set(e, "plan: tensor %d (a flatten) is in the %s at %d, not on its "
                                 "input tensor %d in the %s at %d",
                              i, loc_name(ti->loc), (int)ti->offset, m->layers[i - 1].input,
                              loc_name(src->loc), (int)src->offset);
        }
    }

    /* Every two tensors of the arena (or two of the output buffer's scratch) live at the
     * same step whose bytes overlap. */
    for (int a = 0; a < nt && !rc; a++) {
        const plan_tensor *ta = &p->t[a];
        if (ta->loc != PLAN_ARENA && ta->loc != PLAN_SCRATCH)
            continue;
        for (int b = a + 1; b < nt && !rc; b++) {
            const plan_tensor *tb = &p->t[b];
            if (tb->loc != ta->loc)
                continue;
            if (!(def[a] <= last[b] && def[b] <= last[a]))
                continue; /* never live together */
            int64_t a0 = ta->offset, a1 = a0 + ta->size, b0 = tb->offset, b1 = b0 + tb->size;
            if (a1 <= b0 || b1 <= a0)
                continue; /* disjoint */
            int same = a0 == b0 && a1 == b1;
            if (same && view_root(m, a) == view_root(m, b))
                continue; /* one written tensor seen through flattens: read-only views */
            if (same && (inplace_ok(m, last, b, a) || inplace_ok(m, last, a, b)))
                continue; /* elementwise add over an input that dies at that add */
            rc = qerr_set(e, "plan: tensors %d [%d, %d) live at steps %d..%d and %d [%d, %d) "
                             "live at steps %d..%d overlap",
                          a, (int)a0, (int)a1, def[a], last[a], b, (int)b0, (int)b1, def[b],
                          last[b]);
        }
    }
    free(def), free(last);
    return rc;
}
