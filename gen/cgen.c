/* cgen — frozen model to integer-only C through m4 templates (see cgen.h).
 *
 * The m4 program this file prints is a list of macro calls, one per line,
 * each followed by m4_dnl; every argument is quoted [like this]. Arguments
 * are identifiers, numbers, comments and C initializers ({...}); none holds
 * an unbalanced bracket (checked: it would break m4's quoting).
 */
#include "cgen.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "m4run.h"
#include "plan.h"
#include "q8_exec.h"
#include "q8_kernels.h"
#include "qfile.h"
#include "show.h"
#include "stats.h"

/* ---- text helpers ---------------------------------------------------------- */

/* A growing string (open_memstream). */
typedef struct {
    char *buf;
    size_t len;
    FILE *f;
} text;

static int text_open(text *t, qerr *e)
{
    t->buf = NULL;
    t->len = 0;
    t->f = open_memstream(&t->buf, &t->len);
    if (!t->f)
        return qerr_set(e, "gen: out of memory");
    return 0;
}

/* Closes the stream; t->buf then holds the text (free it). -1 when writing failed. */
static int text_close(text *t, qerr *e)
{
    int bad = ferror(t->f);
    if (fclose(t->f) != 0)
        bad = 1;
    t->f = NULL;
    if (bad || !t->buf) {
        free(t->buf);
        t->buf = NULL;
        return qerr_set(e, "gen: out of memory");
    }
    return 0;
}

static void text_free(text *t)
{
    if (t->f)
        fclose(t->f);
    t->f = NULL;
    free(t->buf);
    t->buf = NULL;
}

/* Text for a comment in the generated C: printable ASCII, with anything
 * that could end a C comment or upset m4's quoting ('*', brackets) and
 * control characters replaced by '_'. */
static void comment_text(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; s[n] && n + 1 < cap; n++) {
        unsigned char ch = (unsigned char)s[n];
        out[n] = (ch < 32 || ch > 126 || ch == '*' || ch == '[' || ch == ']') ? '_' : (char)ch;
    }
    out[n] = '\0';
}

/* The file's base name as comment text. */
static void source_label(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    comment_text(base ? base + 1 : path, out, cap);
}

/* One m4 call: MACRO([arg1], [arg2], ...)m4_dnl and a newline. */
static void call(FILE *f, const char *macro, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    fprintf(f, "%s(", macro);
    for (int i = 0; i < n; i++) {
        const char *a = va_arg(ap, const char *);
        int depth = 0;
        for (const char *c = a; *c; c++) {
            depth += (*c == '[') - (*c == ']');
            assert(depth >= 0);
        }
        assert(depth == 0);
        fprintf(f, "%s[%s]", i ? ", " : "", a);
    }
    fputs(")m4_dnl\n", f);
    va_end(ap);
}

/* Writes the values of a level with every brace on one line. */
static void init_inline(FILE *f, const int32_t *v, const int32_t *dims, int nd)
{
    int64_t inner = 1;
    for (int i = 1; i < nd; i++)
        inner *= dims[i];
    fputc('{', f);
    for (int32_t i = 0; i < dims[0]; i++) {
        if (i)
            fputs(", ", f);
        if (nd == 1)
            fprintf(f, "%d", (int)v[i]);
        else
            init_inline(f, v + i * inner, dims + 1, nd - 1);
    }
    fputc('}', f);
}

/* A C initializer for values v with dimensions dims[0..nd): nested braces;
 * a level that fits within `width` columns goes on one line, a longer row
 * is wrapped at per_line values, nested levels are indented 4 more than
 * `indent`. */
static void init_level(FILE *f, const int32_t *v, const int32_t *dims, int nd, int indent,
                       int per_line, int width)
{
    int64_t count = 1;
    for (int i = 0; i < nd; i++)
        count *= dims[i];
    if (count <= 32) {
        char line[1024];
        FILE *m = fmemopen(line, sizeof line, "w");
        if (m) {
            init_inline(m, v, dims, nd);
            long len = ftell(m);
            fclose(m);
            if (len > 0 && len < width - indent) {
                line[len] = '\0';
                fputs(line, f);
                return;
            }
        }
    }
    if (nd == 1) { /* {v, v, ...,\n v, ...}: continuation lines one column in */
        fputc('{', f);
        for (int64_t i = 0; i < count; i++) {
            if (i > 0 && i % per_line == 0)
                fprintf(f, "\n%*s", indent + 1, "");
            fprintf(f, "%d%s", (int)v[i], i + 1 == count ? "}" : (i + 1) % per_line ? ", " : ",");
        }
        return;
    }
    int64_t inner = count / dims[0];
    fputs("{\n", f);
    for (int32_t i = 0; i < dims[0]; i++) {
        fprintf(f, "%*s", indent + 4, "");
        init_level(f, v + i * inner, dims + 1, nd - 1, indent + 4, per_line, width);
        fputs(i + 1 < dims[0] ? ",\n" : "\n", f);
    }
    fprintf(f, "%*s}", indent, "");
}

/* The initializer as a malloc'd string, or NULL when memory runs out. */
static char *init_s32(const int32_t *v, const int32_t *dims, int nd, int indent)
{
    text t;
    if (text_open(&t, NULL))
        return NULL;
    init_level(t.f, v, dims, nd, indent, 8, 64);
    if (text_close(&t, NULL))
        return NULL;
    return t.buf;
}

static char *init_s8(const int8_t *v, int64_t n, const int32_t *dims, int nd, int indent)
{
    int32_t *w = malloc((size_t)(n ? n : 1) * sizeof *w);
    if (!w)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        w[i] = v[i];
    text t;
    char *s = NULL;
    if (!text_open(&t, NULL)) {
        init_level(t.f, w, dims, nd, indent, 16, 64);
        if (!text_close(&t, NULL))
            s = t.buf;
    }
    free(w);
    return s;
}

/* enum { NAME = value, ... } bodies, wrapped to stay near 96 columns. */
typedef struct {
    char s[1024];
    size_t col;
} enumtext;

static void enum_add(enumtext *t, const char *name, int64_t value)
{
    char item[64];
    snprintf(item, sizeof item, "%s = %lld", name, (long long)value);
    size_t len = strlen(t->s);
    if (len && t->col + strlen(item) + 2 > 84) {
        snprintf(t->s + len, sizeof t->s - len, ",\n           ");
        t->col = 0;
    } else if (len) {
        snprintf(t->s + len, sizeof t->s - len, ", ");
        t->col += 2;
    }
    len = strlen(t->s);
    snprintf(t->s + len, sizeof t->s - len, "%s", item);
    t->col += strlen(item);
}

/* The sizes of a layer that keeps its channels (a pool, a depthwise conv): IN_H, IN_W, C,
 * OUT_H, OUT_W, KERNEL_H, KERNEL_W, STRIDE_H, STRIDE_W, in this order. */
static void enum_window(enumtext *t, q_shape in, q_shape out, const q_window *w)
{
    enum_add(t, "IN_H", in.h);
    enum_add(t, "IN_W", in.w);
    enum_add(t, "C", in.c);
    enum_add(t, "OUT_H", out.h);
    enum_add(t, "OUT_W", out.w);
    enum_add(t, "KERNEL_H", w->kernel_h);
    enum_add(t, "KERNEL_W", w->kernel_w);
    enum_add(t, "STRIDE_H", w->stride_h);
    enum_add(t, "STRIDE_W", w->stride_w);
}

/* ---- targets ------------------------------------------------------------------ */

/* --target host: the version the compiler that built qatc would choose for this machine. */
#if defined(__SSE2__) && defined(__GNUC__)
#define HOST_VERSION "SSE2"
#define HOST_GUARD "defined(__SSE2__) && defined(__GNUC__)"
#define HOST_WHAT "this machine: x86 with SSE2, GCC or clang"
#elif defined(__aarch64__)
#define HOST_VERSION "PLAIN"
#define HOST_GUARD "defined(__aarch64__)"
#define HOST_WHAT "this machine: AArch64"
#else
#define HOST_VERSION "PLAIN"
#define HOST_GUARD NULL
#define HOST_WHAT "this machine, in plain C"
#endif

/* Each guard holds only where the file with every version chooses the same version
 * (its #if ladder, templates/kernels.m4), so both files compile to the same code there. */
const cgen_target cgen_targets[] = {
    {"all", "all", NULL, "every version, chosen by the compiler's predefined macros"},
    {"host", HOST_VERSION, HOST_GUARD, HOST_WHAT},
    {"cortex-m0", "THUMB1", "defined(__thumb__) && !defined(__thumb2__) && defined(__GNUC__)",
     "Cortex-M0, M0+, M23: Thumb-1, GCC or clang"},
    {"cortex-m3", "SMLAL", "defined(__thumb2__) && !defined(__ARM_FEATURE_DSP)",
     "Cortex-M3: Thumb-2 without the DSP extension"},
    {"cortex-m4", "DSP", "defined(__ARM_FEATURE_DSP) && defined(__GNUC__)",
     "Cortex-M4, M7, M33, M55: the DSP extension, GCC or clang"},
    {"rv32", "RV32", "defined(__riscv) && defined(__riscv_mul) && __riscv_xlen == 32",
     "32-bit RISC-V with the M extension: rv32imc, rv32imac"},
    {"portable", "PLAIN", NULL, "any C99 compiler, plain C"},
    {NULL, NULL, NULL, NULL},
};

const cgen_target *cgen_target_find(const char *name)
{
    for (const cgen_target *t = cgen_targets; t->name; t++)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

/* ---- the model's pieces ---------------------------------------------------- */

/* The name of a layer function after NAME_layer_: a layer's name, or for a conv2d fused
 * with the pool after it, both names. */
typedef char fn_name[2 * Q_NAME_MAX + 8];

typedef struct {
    const q_model *m;
    const plan *p;
    q8_exec *x;
    const cgen_target *target;
    char source[256];
    char upper[Q_NAME_MAX];
    fn_name *fn; /* fn[l]: the function that runs layer l (a fused pool: its conv's) */
    int32_t dw_plane_max; /* cgen_opts.dw_plane_max, 0 made DW_PLANE_MAX */
} ctx;

/* Does some layer other than l, or the function of a layer before l, go by name? */
static int name_taken(const ctx *c, int l, const char *name)
{
    for (int i = 0; i < c->m->n_layers; i++)
        if ((i != l && strcmp(c->m->layers[i].name, name) == 0) ||
            (i < l && strcmp(c->fn[i], name) == 0))
            return 1;
    return 0;
}

/* c->fn: each layer's own name, a fused conv2d's followed by its pool's ("conv1_pool1"),
 * with '_' appended while that is another layer's name or an earlier function's. */
static void function_names(ctx *c)
{
    const q_model *m = c->m;
    for (int l = 0; l < m->n_layers; l++) {
        const q_layer *ly = &m->layers[l];
        if (c->p->t[ly->input].loc == PLAN_FUSED) { /* a pool run inside its conv's function */
            memcpy(c->fn[l], c->fn[l - 1], sizeof c->fn[l]);
            continue;
        }
        if (c->p->t[l + 1].loc != PLAN_FUSED) {
            snprintf(c->fn[l], sizeof c->fn[l], "%s", ly->name);
            continue;
        }
        snprintf(c->fn[l], sizeof c->fn[l], "%s_%s", ly->name, m->layers[l + 1].name);
        size_t n = strlen(c->fn[l]);
        while (name_taken(c, l, c->fn[l]) && n + 1 < sizeof c->fn[l]) {
            c->fn[l][n++] = '_';
            c->fn[l][n] = '\0';
        }
    }
}

static const char *tensor_place(const ctx *c, int t, char *buf, size_t cap)
{
    const plan_tensor *pt = &c->p->t[t];
    if (pt->loc == PLAN_INPUT)
        return "input";
    if (pt->loc == PLAN_OUTPUT)
        return "output";
    snprintf(buf, cap, "%s + %d", pt->loc == PLAN_SCRATCH ? "output" : "a", (int)pt->offset);
    return buf;
}

/* The comment above a layer function (the template adds the comment markers):
 * what layer l computes; for a conv2d fused with the pool after it, both. */
static void layer_comment(const ctx *c, int l, FILE *f)
{
    const q_model *m = c->m;
    const q_layer *ly = &m->layers[l];
    int fused = c->p->t[l + 1].loc == PLAN_FUSED;
    const q_layer *pool = fused ? &m->layers[l + 1] : NULL;
    q_shape in = q_model_tensor_shape(m, ly->input);
    q_quant iq = q_model_tensor_quant(m, ly->input);
    char sin[48], smid[48], sout[48];
    show_shape(in, sin, sizeof sin);
    show_shape(ly->out_shape, smid, sizeof smid);
    if (fused)
        fprintf(f, "Layers %d \"%s\" and %d \"%s\" in one loop nest: ", l, ly->name, l + 1,
                pool->name);
    else
        fprintf(f, "Layer %d \"%s\": ", l, ly->name);
    fprintf(f, "%s", q_op_names[ly->op]);
    const q_window *w = &ly->win;
    if (ly->op == Q_OP_CONV2D || ly->op == Q_OP_DWCONV2D) {
        fprintf(f, " %dx%d, stride %dx%d", (int)w->kernel_h, (int)w->kernel_w, (int)w->stride_h,
                (int)w->stride_w);
        if (w->dilation_h > 1 || w->dilation_w > 1)
            fprintf(f, ", dilation %dx%d", (int)w->dilation_h, (int)w->dilation_w);
        if (w->pad_top == w->pad_bottom && w->pad_left == w->pad_right)
            fprintf(f, ", pad %dx%d", (int)w->pad_top, (int)w->pad_left);
        else
            fprintf(f, ", pad [%d, %d, %d, %d] (top, bottom, left, right)", (int)w->pad_top,
                    (int)w->pad_bottom, (int)w->pad_left, (int)w->pad_right);
        if (ly->op == Q_OP_DWCONV2D && ly->multiplier > 1)
            fprintf(f, ", channel multiplier %d", (int)ly->multiplier);
    }
    if (ly->op == Q_OP_MAXPOOL || ly->op == Q_OP_AVGPOOL) {
        fprintf(f, " %dx%d, stride %dx%d", (int)ly->win.kernel_h, (int)ly->win.kernel_w,
                (int)ly->win.stride_h, (int)ly->win.stride_w);
        if (w->pad_top || w->pad_bottom || w->pad_left || w->pad_right)
            fprintf(f, ", pad [%d, %d, %d, %d] (top, bottom, left, right; never counted)",
                    (int)w->pad_top, (int)w->pad_bottom, (int)w->pad_left, (int)w->pad_right);
        if (ly->op == Q_OP_AVGPOOL && !q_avgpool_rescales(m, ly))
            fprintf(f, ",\n *   the sum inside the input divided by its count, rounded half away "
                       "from zero (TFLite's)");
    }
    if (ly->op == Q_OP_SOFTMAX)
        fprintf(f, " along the channels of each pixel");
    if (ly->op == Q_OP_ADD)
        fprintf(f, " of t%d and t%d", ly->input, ly->input2);
    if (ly->act != Q_ACT_NONE)
        fprintf(f, ", fused %s", q_act_names[ly->act]);
    if (fused) {
        show_shape(pool->out_shape, sout, sizeof sout);
        fprintf(f, ",\n *   then %s %dx%d, stride %dx%d over its outputs, which are never stored",
                q_op_names[pool->op], (int)pool->win.kernel_h, (int)pool->win.kernel_w,
                (int)pool->win.stride_h, (int)pool->win.stride_w);
    }
    stats_layer st;
    stats_of_layer(m, l, &st);
    if (fused)
        fprintf(f, ".\n *   t%d %s -> (t%d %s) -> t%d %s", ly->input, sin, l + 1, smid, l + 2,
                sout);
    else
        fprintf(f, ".\n *   t%d %s -> t%d %s", ly->input, sin, l + 1, smid);
    if (st.macs)
        fprintf(f, ", %lld MACs", (long long)st.macs);
    fprintf(f, ".\n *   in: scale %.9g, zero-point %d", iq.scale, (int)iq.zero_point);
    if (ly->op == Q_OP_ADD) {
        q_quant i2 = q_model_tensor_quant(m, ly->input2);
        fprintf(f, "; in2: scale %.9g, zero-point %d", i2.scale, (int)i2.zero_point);
    }
    if (fused && pool->op == Q_OP_AVGPOOL)
        fprintf(f, "; conv: scale %.9g, zero-point %d;\n *   out: scale %.9g, zero-point %d.",
                ly->out_q.scale, (int)ly->out_q.zero_point, pool->out_q.scale,
                (int)pool->out_q.zero_point);
    else
        fprintf(f, "; out: scale %.9g, zero-point %d.", ly->out_q.scale,
                (int)ly->out_q.zero_point);
    if (st.weight_bytes) {
        int32_t oc = q_layer_out_channels(ly);
        double lo = ly->w_scale[0], hi = ly->w_scale[0];
        for (int32_t i = 1; ly->per_channel && i < oc; i++) {
            lo = ly->w_scale[i] < lo ? ly->w_scale[i] : lo;
            hi = ly->w_scale[i] > hi ? ly->w_scale[i] : hi;
        }
        if (ly->per_channel)
            fprintf(f, "\n *   weights per channel, scales %.9g to %.9g", lo, hi);
        else
            fprintf(f, "\n *   weights per tensor, scale %.9g", lo);
        fprintf(f, ";\n *   bias at scale s_in * s_w; mult and shift give M = s_in * s_w / s_out.");
    }
}

/* Does conv2d layer ly gather each output pixel's window (QATC_CONV2D*_COL) rather than
 * walk it kernel row by kernel row? When its kernel rows are short (under 16 bytes: the
 * inner products would be mostly call and loop overhead) and the windows it copies at a
 * time (two; or those of a pool window, pool the layer after it, NULL if none) stay small
 * (at most 512 bytes on the stack). */
static int gathers(const q_layer *ly, q_shape in, const q_layer *pool)
{
    int64_t row = (int64_t)ly->win.kernel_w * in.c;
    int64_t windows = pool ? (int64_t)pool->win.kernel_h * pool->win.kernel_w : 2;
    return row < 16 && row * ly->win.kernel_h * windows <= 512;
}

/* The window of a 1x1 conv2d, stride 1, no padding: a linear layer's, which the
 * generated code computes as such a conv on one pixel. */
static q_window one_by_one(void)
{
    q_window w = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
    return w;
}

/* Rows of weights of layer ly rounded up to four (the kernels do four channels at a time;
 * eight for a linear layer: line_sums() does eight on some cores). */
static int32_t w_rows(const q_layer *ly)
{
    int32_t oc = q_layer_out_channels(ly), group = ly->op == Q_OP_LINEAR ? 8 : 4;
    return (oc + group - 1) / group * group;
}

/* The weights of layer ly (conv2d: OHWI; linear: (out, in)) as an initializer with
 * rows (output channels) padded with zeros to w_rows(ly). NULL when out of memory. */
static char *padded_weights(const q_model *m, const q_layer *ly, q_shape in)
{
    int32_t oc = q_layer_out_channels(ly);
    int64_t per_row = q_layer_weight_count(m, ly) / oc;
    int32_t rows = w_rows(ly);
    int8_t *w = calloc((size_t)(rows * per_row), 1);
    if (!w)
        return NULL;
    memcpy(w, ly->weights, (size_t)(oc * per_row));
    int32_t dims[4];
    int nd;
    if (ly->op == Q_OP_CONV2D) {
        dims[0] = rows, dims[1] = ly->win.kernel_h, dims[2] = ly->win.kernel_w, dims[3] = in.c;
        nd = 4;
    } else { /* linear: as a 1x1 conv2d on one pixel, (rows, 1, 1, in) */
        dims[0] = rows, dims[1] = 1, dims[2] = 1, dims[3] = q_shape_size(in);
        nd = 4;
    }
    char *s = init_s8(w, rows * per_row, dims, nd, 4);
    free(w);
    return s;
}

/* The weights of conv2d layer ly in the layout of QATC_DOT_SSE2 (templates/kernels_sse2.m4):
 * per four output channels (rows padded with zeros to w_rows(ly)), per pair of taps
 * k = 2j, 2j + 1 of the flattened OHWI row (a zero tap after the last when their number
 * is odd), eight values w[c][k], w[c][k + 1] for c = the four channels. The template
 * declares more rows when it does sixteen channels at a time: C makes them 0. NULL when
 * out of memory. */
static char *paired_weights(const q_model *m, const q_layer *ly)
{
    int32_t oc = q_layer_out_channels(ly);
    int64_t taps = q_layer_weight_count(m, ly) / oc;
    int32_t dims[3] = {w_rows(ly) / 4, (int32_t)((taps + 1) / 2), 8};
    int64_t n = (int64_t)dims[0] * dims[1] * dims[2];
    int32_t *v = calloc((size_t)n, sizeof *v);
    if (!v)
        return NULL;
    for (int32_t c = 0; c < oc; c++)
        for (int64_t k = 0; k < taps; k++)
            v[((c / 4) * dims[1] + k / 2) * 8 + (c % 4) * 2 + k % 2] =
                ly->weights[c * taps + k];
    text t;
    char *s = NULL;
    if (!text_open(&t, NULL)) {
        init_level(t.f, v, dims, 3, 4, 16, 64);
        if (!text_close(&t, NULL))
            s = t.buf;
    }
    free(v);
    return s;
}

/* An initializer of the values v with dimensions dims[0..nd) (16 per line). NULL when out
 * of memory. */
static char *init_values(const int32_t *v, const int32_t *dims, int nd)
{
    text t;
    if (text_open(&t, NULL))
        return NULL;
    init_level(t.f, v, dims, nd, 4, 16, 64);
    if (text_close(&t, NULL))
        return NULL;
    return t.buf;
}

/* quad_values: the weights of conv2d layer ly (input channels in_c) in the "quads" layout of
 * QATC_DOT_DSP and QATC_DOT_SMLAL (templates/kernels_dsp.m4): per four output channels a,
 * b, c, d (rows padded with zeros to w_rows(ly)), per four taps k = 4j .. 4j + 3, sixteen
 * bytes: (a[k], b[k], a[k+2], b[k+2]), (c[k], d[k], c[k+2], d[k+2]), then the same for
 * k + 1, k + 3. Tap k of channel g (of its four) is byte 16 (k / 4) + 8 (k % 2) +
 * 4 (g / 2) + g % 2 + 2 (k % 4 / 2). The taps are those of the flattened OHWI row, zeros
 * past the last; but when padding each kernel row (kernel_w * in_c taps) with zeros to a
 * multiple of four costs no more quads, it is so padded (QATC_ROWS4 in kernels.m4), so
 * that a kernel row is whole quads. dims: (w_rows / 4, quads, 16). NULL when out of memory.
 * quad_weights: the same as an initializer. */
static int32_t *quad_values(const q_model *m, const q_layer *ly, int32_t in_c, int32_t dims[3])
{
    int32_t oc = q_layer_out_channels(ly);
    int64_t taps = q_layer_weight_count(m, ly) / oc;
    int64_t row = (int64_t)ly->win.kernel_w * in_c, row4 = (row + 3) / 4 * 4;
    int rows4 = ly->win.kernel_h * row4 == (taps + 3) / 4 * 4;
    dims[0] = w_rows(ly) / 4, dims[1] = (int32_t)((taps + 3) / 4), dims[2] = 16;
    int64_t n = (int64_t)dims[0] * dims[1] * dims[2];
    int32_t *v = calloc((size_t)n, sizeof *v);
    if (!v)
        return NULL;
    for (int32_t c = 0; c < oc; c++)
        for (int64_t t = 0; t < taps; t++) {
            int64_t g = c % 4, k = rows4 ? t / row * row4 + t % row : t;
            v[(c / 4) * dims[1] * 16 + 16 * (k / 4) + 8 * (k % 2) + 4 * (g / 2) + g % 2 +
              2 * (k % 4 / 2)] = ly->weights[c * taps + t];
        }
    return v;
}

static char *quad_weights(const q_model *m, const q_layer *ly, int32_t in_c)
{
    int32_t dims[3];
    int32_t *v = quad_values(m, ly, in_c, dims);
    if (!v)
        return NULL;
    char *s = init_values(v, dims, 3);
    free(v);
    return s;
}

/* Output channels rounded up to eight (QATC_DOT_THUMB1 does eight at a time). */
static int32_t rows8(int32_t oc)
{
    return (oc + 7) / 8 * 8;
}

/* The weights of conv2d layer ly in the "bytes8" layout of QATC_DOT_THUMB1
 * (templates/kernels_thumb1.m4): per eight output channels, per tap k of the flattened
 * OHWI row, the eight u = w + 128 (128 in the rows past the layer's channels). NULL when
 * out of memory. */
static char *bytes8_weights(const q_model *m, const q_layer *ly)
{
    int32_t oc = q_layer_out_channels(ly);
    int64_t taps = q_layer_weight_count(m, ly) / oc;
    int32_t dims[3] = {rows8(oc) / 8, (int32_t)taps, 8};
    int64_t n = (int64_t)dims[0] * dims[1] * dims[2];
    int32_t *v = malloc((size_t)n * sizeof *v);
    if (!v)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        v[i] = 128;
    for (int32_t c = 0; c < oc; c++)
        for (int64_t k = 0; k < taps; k++)
            v[((c / 8) * taps + k) * 8 + c % 8] = ly->weights[c * taps + k] + 128;
    char *s = init_values(v, dims, 3);
    free(v);
    return s;
}

/* QATC_DOT_THUMB1's bias of conv2d layer ly, whose input zero-point is zp:
 * bias[c] - (128 + zp) * sum_k w[c][k] modulo 2^32 (the constant terms of its sums; 0 in
 * the rows past the layer's channels). NULL when out of memory. */
static char *bytes8_bias(const q_model *m, const q_layer *ly, int32_t zp)
{
    int32_t oc = q_layer_out_channels(ly);
    int64_t taps = q_layer_weight_count(m, ly) / oc;
    int32_t n = rows8(oc);
    int32_t *v = calloc((size_t)n, sizeof *v);
    if (!v)
        return NULL;
    for (int32_t c = 0; c < oc; c++) {
        int64_t sum = 0;
        for (int64_t k = 0; k < taps; k++)
            sum += ly->weights[c * taps + k];
        uint32_t b = (uint32_t)ly->bias[c] - (uint32_t)((128 + zp) * sum);
        v[c] = (int32_t)b;
    }
    char *s = init_values(v, &n, 1);
    free(v);
    return s;
}

/* ---- 4-bit weights ------------------------------------------------------------------
 * Two weights per byte, element 2k in the low nibble and element 2k + 1 in the high one
 * (int4, two's complement), a zero nibble after an odd last element; the elements in the
 * order the version reads them: the layer's flat order (OHWI, HWC for depthwise, (out, in)
 * for linear) for the plain C versions, the order of the quads and bytes8 layouts chosen
 * so that their kernels unpack them cheaply (below). */

/* The n values v (in [-8, 7]) packed as above, an initializer of (n + 1) / 2 bytes. NULL
 * when out of memory. */
static char *packed4(const int32_t *v, int64_t n)
{
    int32_t nb = (int32_t)((n + 1) / 2);
    int32_t *b = malloc((size_t)(nb ? nb : 1) * sizeof *b);
    if (!b)
        return NULL;
    for (int32_t i = 0; i < nb; i++) {
        int32_t lo = v[2 * i], hi = 2 * (int64_t)i + 1 < n ? v[2 * i + 1] : 0;
        b[i] = (lo & 15) | (hi & 15) << 4;
    }
    char *s = init_values(b, &nb, 1);
    free(b);
    return s;
}

/* The weights of ly in the layer's flat order, rows (output channels) padded with zeros
 * to rows (conv2d and linear: w_rows(); 0: none, the general nests and depthwise), packed.
 * NULL when out of memory. */
static char *flat4_weights(const q_model *m, const q_layer *ly, int32_t rows)
{
    int64_t n = q_layer_weight_count(m, ly);
    int64_t total = rows ? n / q_layer_out_channels(ly) * rows : n;
    int32_t *v = calloc((size_t)(total ? total : 1), sizeof *v);
    if (!v)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        v[i] = ly->weights[i];
    char *s = packed4(v, total);
    free(v);
    return s;
}

/* The "quads" layout of 4-bit weights (QATC_DOT_DSP, QATC_DOT_SMLAL): per four channels a, b,
 * c, d and four taps, 8 bytes: the words of the 8-bit layout for (a, b) in the high nibbles
 * and for (c, d) in the low ones. Byte i of word h (h = 0: taps k, k + 2; h = 1: k + 1,
 * k + 3) holds byte i of the 8-bit layout's word 2h (a, b) in its high nibble and of word
 * 2h + 1 (c, d) in its low one: so w & 0xF0F0F0F0 and (w << 4) & 0xF0F0F0F0 are the two
 * 8-bit words times 16. NULL when out of memory. */
static char *quad4_weights(const q_model *m, const q_layer *ly, int32_t in_c)
{
    int32_t dims[3];
    int32_t *q = quad_values(m, ly, in_c, dims);
    if (!q)
        return NULL;
    int64_t n = (int64_t)dims[0] * dims[1] * 16;
    int32_t *e = malloc((size_t)n * sizeof *e);
    char *s = NULL;
    if (e) {
        for (int64_t j = 0; j < n; j += 16) /* element 2 (4h + i): low, 2 (4h + i) + 1: high */
            for (int h = 0; h < 2; h++)
                for (int i = 0; i < 4; i++) {
                    e[j + 2 * (4 * h + i)] = q[j + 8 * h + 4 + i];
                    e[j + 2 * (4 * h + i) + 1] = q[j + 8 * h + i];
                }
        s = packed4(e, n);
    }
    free(q), free(e);
    return s;
}

/* The "bytes8" layout of 4-bit weights (QATC_DOT_THUMB1): per eight output channels, per
 * tap k, the eight weights (0 in the rows past the layer's channels), packed: channels 2j
 * and 2j + 1 in byte j. NULL when out of memory. */
static char *bytes8_4_weights(const q_model *m, const q_layer *ly)
{
    int32_t oc = q_layer_out_channels(ly);
    int64_t taps = q_layer_weight_count(m, ly) / oc;
    int64_t n = (int64_t)rows8(oc) * taps;
    int32_t *v = calloc((size_t)n, sizeof *v);
    if (!v)
        return NULL;
    for (int32_t c = 0; c < oc; c++)
        for (int64_t k = 0; k < taps; k++)
            v[((c / 8) * taps + k) * 8 + c % 8] = ly->weights[c * taps + k];
    char *s = packed4(v, n);
    free(v);
    return s;
}

/* The bias of linear layer ly whose input zero-point is zp, for the versions that read its
 * input in place: bias[c] - zp * sum_k w[c][k] (the constant term of sum_k w (x - zp); it
 * fits int32, as |bias| + taps * 127 * 255 does). NULL when out of memory. */
static char *linear_bias(const q_model *m, const q_layer *ly, int32_t zp)
{
    int32_t oc = q_layer_out_channels(ly);
    int64_t taps = q_layer_weight_count(m, ly) / oc;
    int32_t *v = calloc((size_t)oc, sizeof *v);
    if (!v)
        return NULL;
    for (int32_t c = 0; c < oc; c++) {
        int64_t sum = 0;
        for (int64_t k = 0; k < taps; k++)
            sum += ly->weights[c * taps + k];
        v[c] = (int32_t)(ly->bias[c] - zp * sum);
    }
    char *s = init_s32(v, &oc, 1, 4);
    free(v);
    return s;
}

/* Is ly a conv2d or dwconv2d that the fast kernels do not take (dilation, a channel
 * multiplier, a depthwise layer with other than 8-bit weights), printed as one plain C
 * nest instead (QATC_*_GENERAL)? */
static int is_general(const q_layer *ly)
{
    if (ly->op != Q_OP_CONV2D && ly->op != Q_OP_DWCONV2D)
        return 0;
    return ly->win.dilation_h > 1 || ly->win.dilation_w > 1 ||
           (ly->op == Q_OP_DWCONV2D && (ly->multiplier > 1 || ly->weight_bits != 8));
}

/* ---- depthwise fast path (QATC_DWCONV2D) ------------------------------------------ */

/* The most bytes of one channel's padded input rows a depthwise layer keeps on the stack
 * (its plane; a band of output rows at a time when the whole plane is larger), unless
 * cgen_opts says otherwise. */
#define DW_PLANE_MAX 1024

/* Does channel c of dwconv2d ly still fit int32 with its acc taken times 2^up (through its
 * weights and bias)? The true acc = bias + sum w (x - zp), |x - zp| at most dmax. */
static int dw_fits(const q_layer *ly, int32_t taps, int32_t oc, int64_t dmax, int32_t c,
                   int32_t up)
{
    int64_t sum_abs = 0;
    for (int32_t k = 0; k < taps; k++) {
        int64_t w = ly->weights[(int64_t)k * oc + c];
        sum_abs += w < 0 ? -w : w;
    }
    int64_t b = ly->bias[c] < 0 ? -(int64_t)ly->bias[c] : ly->bias[c];
    return up <= 31 && b + dmax * sum_abs <= (int64_t)INT32_MAX >> up;
}

/* How dwconv2d ly is requantized (QATC_DWCONV2D's RQ_T): from the product's high word
 * (requantize_high) with one t = 31 - shift for every channel, RQ_T = t > 0 (channel c's
 * acc taken times 2^(t - t_c)); from the high word with each channel's own t, at least
 * 33 (times 2^(33 - t_c) where smaller), -1; or by requantize(), 0. The high word needs
 * t >= 33 (2^(t - 1) a multiple of 2^32) and t <= 54 (requantize_high's round_zp fits),
 * and every scaled acc must fit int32. */
static int32_t dw_rq_t(const q_layer *ly, const fxp_requant *rq, int32_t taps, int32_t oc,
                       int32_t zp)
{
    int64_t dmax = zp < 0 ? 127 - (int64_t)zp : (int64_t)zp + 128; /* max |x - zp| */
    int32_t t_max = 33;
    for (int32_t c = 0; c < oc; c++)
        if (31 - rq[c].shift > t_max)
            t_max = 31 - rq[c].shift;
    if (t_max > 54)
        return 0;
    int common = 1, own = 1;
    for (int32_t c = 0; c < oc; c++) {
        int32_t t = 31 - rq[c].shift;
        common = common && dw_fits(ly, taps, oc, dmax, c, t_max - t);
        own = own && dw_fits(ly, taps, oc, dmax, c, t < 33 ? 33 - t : 0);
    }
    return common ? t_max : own ? -1 : 0;
}

/* QATC_DWCONV2D: a depthwise layer (multiplier 1, undilated, 8-bit weights) one channel
 * at a time over its padded plane. Weights channel by channel (w[c][ky * KW + kx]), the
 * bias with the input zero-point folded in for inputs stored as x + 128: bias - (128 +
 * zp) * sum w, modulo 2^32. */
static int emit_dwconv(const ctx *c, int l, const char *com, FILE *f, qerr *e)
{
    const q_model *m = c->m;
    const q_layer *ly = &m->layers[l];
    const q_window *w = &ly->win;
    q_shape in = q_model_tensor_shape(m, ly->input), out = ly->out_shape;
    int32_t zp = q_model_tensor_quant(m, ly->input).zero_point;
    int32_t oc = q_layer_out_channels(ly), taps = w->kernel_h * w->kernel_w;
    int32_t act_min, act_max;
    q_act_range(ly->act, ly->out_q, &act_min, &act_max);
    const fxp_requant *rq = q8_exec_layer_requant(c->x, l);

    /* the plane: PW columns, a band of BAND output rows ((BAND - 1) * STRIDE_H + KERNEL_H
     * input rows) at a time */
    int32_t pw = (out.w - 1) * w->stride_w + w->kernel_w;
    int32_t band = out.h;
    while (band > 1 && ((band - 1) * w->stride_h + w->kernel_h) * pw > c->dw_plane_max)
        band--;
    int32_t left = w->pad_left < pw ? w->pad_left : pw;
    int32_t copy_w = pw - left < in.w ? pw - left : in.w;
    int32_t rq_t = rq ? dw_rq_t(ly, rq, taps, oc, zp) : 0;

    int32_t *wt = malloc((size_t)oc * (size_t)taps * sizeof *wt);
    int32_t *bv = malloc((size_t)oc * sizeof *bv);
    int32_t *mv = malloc((size_t)oc * sizeof *mv);
    int32_t *sv = malloc((size_t)oc * sizeof *sv);
    char *ws = NULL, *bs = NULL, *ms = NULL, *ss = NULL;
    int rc = 0;
    if (rq && wt && bv && mv && sv) {
        for (int32_t ch = 0; ch < oc; ch++) {
            int64_t sum = 0;
            for (int32_t k = 0; k < taps; k++) {
                int32_t v = ly->weights[(int64_t)k * oc + ch]; /* [ky][kx][c] */
                wt[ch * taps + k] = v;
                sum += v;
            }
            bv[ch] = (int32_t)((uint32_t)ly->bias[ch] - (uint32_t)((128 + zp) * sum));
            mv[ch] = rq[ch].multiplier;
            sv[ch] = rq[ch].shift;
        }
        int32_t wdims[2] = {oc, taps};
        ws = init_s32(wt, wdims, 2, 4);
        bs = init_s32(bv, &oc, 1, 4);
        ms = init_s32(mv, &oc, 1, 4);
        ss = init_s32(sv, &oc, 1, 4);
    }
    if (!ws || !bs || !ms || !ss) {
        rc = qerr_set(e, "gen: out of memory");
    } else {
        enumtext en = {{0}, 0};
        enum_window(&en, in, out, w);
        enum_add(&en, "PAD_H", w->pad_top);
        enum_add(&en, "PAD_W", w->pad_left);
        enum_add(&en, "IN_ZP", zp);
        enum_add(&en, "OUT_ZP", ly->out_q.zero_point);
        enum_add(&en, "ACT_MIN", act_min);
        enum_add(&en, "ACT_MAX", act_max);
        enum_add(&en, "PW", pw);
        enum_add(&en, "BAND", band);
        enum_add(&en, "LEFT", left);
        enum_add(&en, "COPY_W", copy_w);
        enum_add(&en, "RQ_T", rq_t);
        char kh[16], kw[16], sh[16];
        snprintf(kh, sizeof kh, "%d", (int)w->kernel_h);
        snprintf(kw, sizeof kw, "%d", (int)w->kernel_w);
        snprintf(sh, sizeof sh, "%d", (int)w->stride_h);
        call(f, "QATC_DWCONV2D", 11, m->name, c->fn[l], com, en.s, ws, bs, ms, ss, kh, kw, sh);
    }
    free(wt), free(bv), free(mv), free(sv), free(ws), free(bs), free(ms), free(ss);
    return rc;
}

/* ---- division by a known count --------------------------------------------------- */

int64_t cgen_div_max(int32_t count)
{
    return 128 * (int64_t)count + count / 2;
}

/* With n <= N = cgen_div_max(count), e = recip * count - 2^shift in [0, count) and
 * n = q * count + r: n * recip / 2^shift = q + (r + n e / 2^shift) / count, whose floor is
 * q when n e < 2^shift (then r + n e / 2^shift < r + 1 <= count). Since n e <= N (count - 1),
 * the smallest shift with 2^shift > N (count - 1) does. Then recip <= 2 N (count - 1) /
 * count + 1 < 257 count. */
int cgen_reciprocal(int32_t count, cgen_recip *r)
{
    if (count < 1 || count > Q_MAX_ELEMS)
        return -1;
    uint64_t bound = (uint64_t)cgen_div_max(count) * (uint64_t)(count - 1);
    int shift = 0;
    while (shift < 63 && ((uint64_t)1 << shift) <= bound)
        shift++;
    uint64_t recip = (((uint64_t)1 << shift) + (uint64_t)count - 1) / (uint64_t)count;
    if (recip > UINT32_MAX)
        return -1;
    r->recip = (uint32_t)recip;
    r->shift = shift;
    r->wide = (uint64_t)cgen_div_max(count) * recip > UINT32_MAX;
    return 0;
}

/* The counts the windows of average pool ly take, first .. first + *n - 1 (the smallest
 * and largest windows inside the input, on both axes), and whether some reciprocal of
 * them needs a 64-bit product (*wide). 0, or -1 when a count has no 32-bit reciprocal. */
static int div_counts(const q_model *m, const q_layer *ly, int32_t *first, int32_t *n, int *wide)
{
    stats_pool_counts(m, ly, first, n);
    *wide = 0;
    for (int32_t k = 0; k < *n; k++) {
        cgen_recip r;
        if (cgen_reciprocal(*first + k, &r))
            return -1;
        *wide |= r.wide;
    }
    return 0;
}

/* An average pool of TFLite's kind (q_avgpool_rescales 0): QATC_AVGPOOL_DIV with the
 * reciprocals of every count from the smallest window inside the input to the largest. */
static int emit_avgpool_div(const ctx *c, int l, const char *com, FILE *f, qerr *e)
{
    const q_model *m = c->m;
    const q_layer *ly = &m->layers[l];
    const q_window *w = &ly->win;
    q_shape in = q_model_tensor_shape(m, ly->input), out = ly->out_shape;
    int32_t first, n, act_min, act_max;
    int wide;
    if (div_counts(m, ly, &first, &n, &wide))
        return qerr_set(e, "gen: layer %d (%s): a window count has no 32-bit reciprocal", l,
                        ly->name);
    q_act_range(ly->act, ly->out_q, &act_min, &act_max);
    uint32_t *rv = malloc((size_t)n * sizeof *rv);
    int32_t *sv = malloc((size_t)n * sizeof *sv);
    int rc = 0;
    char *rs = NULL, *ss = NULL;
    if (!rv || !sv) {
        rc = qerr_set(e, "gen: out of memory");
        goto done;
    }
    for (int32_t k = 0; k < n; k++) {
        cgen_recip r;
        cgen_reciprocal(first + k, &r); /* div_counts checked it */
        rv[k] = r.recip;
        sv[k] = r.shift;
    }
    text t;
    if (text_open(&t, e)) {
        rc = -1;
        goto done;
    }
    fputc('{', t.f); /* six to a line, continuation lines one column in */
    for (int32_t k = 0; k < n; k++)
        fprintf(t.f, "%s%s%luu", k ? "," : "", k && k % 6 == 0 ? "\n     " : k ? " " : "",
                (unsigned long)rv[k]);
    fputc('}', t.f);
    if (text_close(&t, e)) {
        rc = -1;
        goto done;
    }
    rs = t.buf;
    ss = init_s32(sv, &n, 1, 4);
    if (!ss) {
        rc = qerr_set(e, "gen: out of memory");
        goto done;
    }
    enumtext en = {{0}, 0};
    enum_window(&en, in, out, w);
    enum_add(&en, "PAD_TOP", w->pad_top);
    enum_add(&en, "PAD_LEFT", w->pad_left);
    enum_add(&en, "FIRST_COUNT", first);
    enum_add(&en, "N_COUNTS", n);
    enum_add(&en, "ACT_MIN", act_min);
    enum_add(&en, "ACT_MAX", act_max);
    call(f, "QATC_AVGPOOL_DIV", 7, m->name, c->fn[l], com, en.s, rs, ss, wide ? "64" : "32");
done:
    free(rv), free(sv), free(rs), free(ss);
    return rc;
}

/* Does layer l have a function of its own? Not a flatten that is only a view, nor a pool
 * fused into the conv2d before it (that conv's function runs both). */
static int has_function(const ctx *c, int l)
{
    const q_layer *ly = &c->m->layers[l];
    if (ly->op == Q_OP_FLATTEN && l + 1 != c->m->n_layers)
        return 0;
    return c->p->t[ly->input].loc != PLAN_FUSED;
}

/* The layer's function, if it has one (has_function). */
static int emit_layer(const ctx *c, int l, FILE *f, qerr *e)
{
    const q_model *m = c->m;
    const q_layer *ly = &m->layers[l];
    if (!has_function(c, l))
        return 0;
    int fused = c->p->t[l + 1].loc == PLAN_FUSED;
    const q_layer *pool = fused ? &m->layers[l + 1] : NULL;
    q_shape in = q_model_tensor_shape(m, ly->input);
    q_quant iq = q_model_tensor_quant(m, ly->input);
    q_shape out = fused ? pool->out_shape : ly->out_shape;
    int32_t act_min, act_max;
    q_act_range(ly->act, ly->out_q, &act_min, &act_max);

    text com;
    if (text_open(&com, e))
        return -1;
    layer_comment(c, l, com.f);
    if (text_close(&com, e))
        return -1;

    enumtext en = {{0}, 0};
    int rc = 0;
    int padded = ly->win.pad_top || ly->win.pad_bottom || ly->win.pad_left || ly->win.pad_right;
    switch (ly->op) {
    case Q_OP_DWCONV2D:
        if (!is_general(ly)) {
            rc = emit_dwconv(c, l, com.buf, f, e);
            break;
        }
        /* fall through */
    case Q_OP_CONV2D:
    case Q_OP_LINEAR: {
        int32_t oc = q_layer_out_channels(ly);
        int general = is_general(ly), w4 = ly->weight_bits == 4;
        if (general) { /* QATC_CONV2D_GENERAL, QATC_DWCONV2D_GENERAL */
            enum_add(&en, "IN_H", in.h);
            enum_add(&en, "IN_W", in.w);
            enum_add(&en, "IN_C", in.c);
            if (ly->op == Q_OP_DWCONV2D)
                enum_add(&en, "DEPTH_MULT", ly->multiplier);
            enum_add(&en, "OUT_H", out.h);
            enum_add(&en, "OUT_W", out.w);
            enum_add(&en, "OUT_C", oc);
            enum_add(&en, "KERNEL_H", ly->win.kernel_h);
            enum_add(&en, "KERNEL_W", ly->win.kernel_w);
            enum_add(&en, "STRIDE_H", ly->win.stride_h);
            enum_add(&en, "STRIDE_W", ly->win.stride_w);
            enum_add(&en, "DIL_H", ly->win.dilation_h);
            enum_add(&en, "DIL_W", ly->win.dilation_w);
            enum_add(&en, "PAD_TOP", ly->win.pad_top);
            enum_add(&en, "PAD_LEFT", ly->win.pad_left);
        } else if (ly->op == Q_OP_LINEAR) { /* a 1x1 conv2d on one pixel (QATC_LINEAR) */
            int32_t n = q_shape_size(in);
            enum_add(&en, "IN_N", n);
            enum_add(&en, "OUT_N", oc);
            enum_add(&en, "IN_H", 1);
            enum_add(&en, "IN_W", 1);
            enum_add(&en, "IN_C", n);
            enum_add(&en, "OUT_C", oc);
            enum_add(&en, "W_ROWS", w_rows(ly));
            enum_add(&en, "KERNEL_H", 1);
            enum_add(&en, "KERNEL_W", 1);
            enum_add(&en, "STRIDE_H", 1);
            enum_add(&en, "STRIDE_W", 1);
            enum_add(&en, "PAD_H", 0);
            enum_add(&en, "PAD_W", 0);
            enum_add(&en, "W_STEP", n);
        } else {
            enum_add(&en, "IN_H", in.h);
            enum_add(&en, "IN_W", in.w);
            enum_add(&en, ly->op == Q_OP_CONV2D ? "IN_C" : "C", in.c);
            enum_add(&en, "OUT_H", out.h);
            enum_add(&en, "OUT_W", out.w);
            if (ly->op == Q_OP_CONV2D) {
                enum_add(&en, "OUT_C", oc);
                enum_add(&en, "W_ROWS", w_rows(ly));
            }
            enum_add(&en, "KERNEL_H", ly->win.kernel_h);
            enum_add(&en, "KERNEL_W", ly->win.kernel_w);
            enum_add(&en, "STRIDE_H", ly->win.stride_h);
            enum_add(&en, "STRIDE_W", ly->win.stride_w);
            /* rows above and columns left of the input; those below and right follow from
             * OUT_H and OUT_W */
            enum_add(&en, "PAD_H", ly->win.pad_top);
            enum_add(&en, "PAD_W", ly->win.pad_left);
            if (ly->op == Q_OP_CONV2D)
                enum_add(&en, "W_STEP", ly->win.kernel_h * ly->win.kernel_w * in.c);
            if (fused) {
                enum_add(&en, "POOL_H", pool->win.kernel_h);
                enum_add(&en, "POOL_W", pool->win.kernel_w);
            }
        }
        enum_add(&en, "IN_ZP", iq.zero_point);
        if (fused && pool->op == Q_OP_AVGPOOL) {
            /* conv outputs requantized (CONV_*), summed over a window, averaged (POOL_*) */
            const fxp_requant *prq = q8_exec_layer_requant(c->x, l + 1);
            int32_t pool_min, pool_max;
            q_act_range(pool->act, pool->out_q, &pool_min, &pool_max);
            enum_add(&en, "CONV_ZP", ly->out_q.zero_point);
            enum_add(&en, "CONV_MIN", act_min);
            enum_add(&en, "CONV_MAX", act_max);
            enum_add(&en, "POOL_MULT", prq->multiplier);
            enum_add(&en, "POOL_SHIFT", prq->shift);
            enum_add(&en, "OUT_ZP", pool->out_q.zero_point);
            enum_add(&en, "ACT_MIN", pool_min);
            enum_add(&en, "ACT_MAX", pool_max);
        } else {
            enum_add(&en, "OUT_ZP", ly->out_q.zero_point);
            enum_add(&en, "ACT_MIN", act_min);
            enum_add(&en, "ACT_MAX", act_max);
        }

        const fxp_requant *rq = q8_exec_layer_requant(c->x, l);
        int32_t *mult = malloc((size_t)oc * sizeof *mult);
        int32_t *shift = malloc((size_t)oc * sizeof *shift);
        char *ws = NULL, *bs = NULL, *ms = NULL, *ss = NULL, *ps = NULL, *qs = NULL;
        char *us = NULL, *ubs = NULL;
        if (mult && shift && rq) {
            for (int32_t i = 0; i < oc; i++) {
                mult[i] = rq[i].multiplier;
                shift[i] = rq[i].shift;
            }
            if (w4) { /* packed in the flat order (the quads and bytes8 ones below) */
                ws = flat4_weights(m, ly, general || ly->op == Q_OP_DWCONV2D ? 0 : w_rows(ly));
            } else if (ly->op == Q_OP_DWCONV2D) {
                int32_t wdims[3] = {ly->win.kernel_h, ly->win.kernel_w, oc};
                ws = init_s8(ly->weights, q_layer_weight_count(m, ly), wdims, 3, 4);
            } else if (general) { /* OHWI, without padded rows */
                int32_t wdims[4] = {oc, ly->win.kernel_h, ly->win.kernel_w, in.c};
                ws = init_s8(ly->weights, q_layer_weight_count(m, ly), wdims, 4, 4);
            } else {
                ws = padded_weights(m, ly, in);
            }
            if (ly->op == Q_OP_CONV2D && !general && w4) { /* SSE2 reads the flat order */
                ps = strdup("0");
                qs = quad4_weights(m, ly, in.c);
                us = bytes8_4_weights(m, ly);
                ubs = bytes8_bias(m, ly, iq.zero_point);
            } else if ((ly->op == Q_OP_CONV2D && !general) || (ly->op == Q_OP_LINEAR && !w4)) {
                /* the layouts of the versions (kernels.m4); a linear layer's as a 1x1 conv2d's */
                q_layer one = *ly;
                if (ly->op == Q_OP_LINEAR)
                    one.win = one_by_one();
                int32_t in_c = ly->op == Q_OP_LINEAR ? q_shape_size(in) : in.c;
                ps = paired_weights(m, &one);
                qs = quad_weights(m, &one, in_c);
                us = bytes8_weights(m, &one);
                ubs = bytes8_bias(m, &one, iq.zero_point);
            }
            bs = ly->op == Q_OP_LINEAR && !w4 ? linear_bias(m, ly, iq.zero_point)
                                              : init_s32(ly->bias, &oc, 1, 4);
            ms = init_s32(mult, &oc, 1, 4);
            ss = init_s32(shift, &oc, 1, 4);
        }
        const char *macro = general && ly->op == Q_OP_CONV2D ? "QATC_CONV2D_GENERAL"
                            : general                       ? "QATC_DWCONV2D_GENERAL"
                            : ly->op == Q_OP_LINEAR && w4   ? "QATC_LINEAR4"
                            : ly->op == Q_OP_LINEAR         ? "QATC_LINEAR"
                            : ly->op == Q_OP_DWCONV2D ? "QATC_DWCONV2D"
                            : !fused                  ? "QATC_CONV2D"
                            : pool->op == Q_OP_MAXPOOL ? "QATC_CONV2D_MAXPOOL"
                                                       : "QATC_CONV2D_AVGPOOL";
        char name[64];
        snprintf(name, sizeof name, "%s%s", macro,
                 ly->op == Q_OP_CONV2D && !general && (w4 || gathers(ly, in, pool)) ? "_COL"
                                                                                    : "");
        /* the weights in the layouts of the versions: conv2d, and linear (not 4-bit) */
        int layouts = (ly->op == Q_OP_CONV2D && !general) || (ly->op == Q_OP_LINEAR && !w4);
        int conv_ok = !layouts || (ps && qs && us && ubs);
        if (!ws || !bs || !ms || !ss || !conv_ok) {
            rc = qerr_set(e, "gen: out of memory");
        } else {
            if (w4) /* the templates print this layer's weights and sums for 4 bits */
                call(f, "QATC_WEIGHT_BITS", 1, "4");
            if (layouts)
                call(f, name, 12, m->name, c->fn[l], com.buf, en.s, ws, bs, ms, ss, ps, qs, us,
                     ubs);
            else
                call(f, name, 8, m->name, c->fn[l], com.buf, en.s, ws, bs, ms, ss);
            if (w4)
                call(f, "QATC_WEIGHT_BITS", 1, "8");
        }
        free(mult), free(shift), free(ws), free(bs), free(ms), free(ss), free(ps), free(qs);
        free(us), free(ubs);
        break;
    }
    case Q_OP_AVGPOOL:
        if (!q_avgpool_rescales(m, ly)) {
            rc = emit_avgpool_div(c, l, com.buf, f, e);
            break;
        }
        /* fall through */
    case Q_OP_MAXPOOL:
        enum_window(&en, in, out, &ly->win);
        if (padded) {
            enum_add(&en, "PAD_TOP", ly->win.pad_top);
            enum_add(&en, "PAD_LEFT", ly->win.pad_left);
        }
        if (ly->op == Q_OP_AVGPOOL) {
            const fxp_requant *rq = q8_exec_layer_requant(c->x, l);
            enum_add(&en, "IN_ZP", iq.zero_point);
            enum_add(&en, "OUT_ZP", ly->out_q.zero_point);
            enum_add(&en, "ACT_MIN", act_min);
            enum_add(&en, "ACT_MAX", act_max);
            enum_add(&en, "MULT", rq->multiplier);
            enum_add(&en, "SHIFT", rq->shift);
        }
        call(f, ly->op == Q_OP_AVGPOOL ? "QATC_AVGPOOL" : padded ? "QATC_MAXPOOL_PAD" : "QATC_MAXPOOL",
             4, m->name, c->fn[l], com.buf, en.s);
        break;
    case Q_OP_SOFTMAX: {
        const int32_t *table = q8_exec_layer_softmax_table(c->x, l);
        int32_t n = Q8_SOFTMAX_TABLE;
        char *ts = table ? init_s32(table, &n, 1, 4) : NULL;
        enum_add(&en, "ROWS", out.h * out.w);
        enum_add(&en, "N", out.c);
        if (!ts)
            rc = qerr_set(e, "gen: out of memory");
        else
            call(f, "QATC_SOFTMAX", 5, m->name, c->fn[l], com.buf, en.s, ts);
        free(ts);
        break;
    }
    case Q_OP_ADD: {
        /* zero-points, clamp and multipliers exactly as the interpreter runs them */
        const q8_add_params *ap = q8_exec_layer_add(c->x, l);
        enum_add(&en, "N", q_shape_size(out));
        enum_add(&en, "IN1_ZP", ap->in1_zp);
        enum_add(&en, "IN2_ZP", ap->in2_zp);
        enum_add(&en, "OUT_ZP", ap->out_zp);
        enum_add(&en, "LEFT_SHIFT", Q8_ADD_LEFT_SHIFT);
        enum_add(&en, "IN1_MULT", ap->in1_rq.multiplier);
        enum_add(&en, "IN1_SHIFT", ap->in1_rq.shift);
        enum_add(&en, "IN2_MULT", ap->in2_rq.multiplier);
        enum_add(&en, "IN2_SHIFT", ap->in2_rq.shift);
        enum_add(&en, "OUT_MULT", ap->out_rq.multiplier);
        enum_add(&en, "OUT_SHIFT", ap->out_rq.shift);
        enum_add(&en, "ACT_MIN", ap->act_min);
        enum_add(&en, "ACT_MAX", ap->act_max);
        call(f, "QATC_ADD", 4, m->name, c->fn[l], com.buf, en.s);
        break;
    }
    case Q_OP_FLATTEN:
        enum_add(&en, "N", q_shape_size(out));
        call(f, "QATC_COPY", 4, m->name, c->fn[l], com.buf, en.s);
        break;
    default:
        rc = qerr_set(e, "gen: layer %d: unknown op %d", l, (int)ly->op);
    }
    free(com.buf);
    return rc;
}

/* The arena plan as a comment (without its markers). */
static void plan_comment(const ctx *c, FILE *f)
{
    const q_model *m = c->m;
    const plan *p = c->p;
    fprintf(f, "Arena plan: %d bytes; lower bound %d (the most bytes live at one step",
            (int)p->arena_size, (int)p->lower_bound);
    if (p->scratch_size)
        fprintf(f, ",\n * less what the output buffer holds until the last step writes it");
    fprintf(f, ").\n");
    fprintf(f, " * Checked by gen/plan's verifier: no tensor is overwritten while a later step\n"
               " * reads it. Step s runs layer s; a tensor lives from the step writing it to\n"
               " * the last step reading it.\n");
    show_plan(f, m, p, " *   ", "a");
    fprintf(f, " * The model input is read from the caller's buffer and the output written to\n"
               " * the caller's; a flatten is its input's bytes seen with another shape.");
    if (p->scratch_size)
        fprintf(f, "\n * Tensors at output + N live in the caller's output buffer (its first %d\n"
                   " * bytes), which is scratch until the last step writes the output.",
                (int)p->scratch_size);
    if (p->n_fused)
        fprintf(f, "\n * A conv2d output never stored is pooled as it is computed: the step of the\n"
                   " * pool runs both layers, reading the conv's input.");
}

/* What write(c, f) writes, as a malloc'd string; NULL with e set when memory runs out. */
static char *text_of(void (*write)(const ctx *, FILE *), const ctx *c, qerr *e)
{
    text t;
    if (text_open(&t, e))
        return NULL;
    write(c, t.f);
    if (text_close(&t, e))
        return NULL;
    return t.buf;
}

/* The lines of the table of contents at the top of NAME.c that name the layer functions
 * and the entry points (without the last newline). */
static void contents(const ctx *c, FILE *f)
{
    const q_model *m = c->m;
    int width = (int)(strlen(m->name) + strlen("_run_static"));
    for (int l = 0; l < m->n_layers; l++) {
        int w = (int)(strlen(m->name) + strlen("_layer_") + strlen(c->fn[l]));
        if (has_function(c, l) && w > width)
            width = w;
    }
    const char *sep = "";
    for (int l = 0; l < m->n_layers; l++) {
        if (!has_function(c, l))
            continue;
        const q_layer *ly = &m->layers[l];
        char fn[3 * Q_NAME_MAX + 16];
        snprintf(fn, sizeof fn, "%s_layer_%s", m->name, c->fn[l]);
        fprintf(f, "%s *   %-*s  ", sep, width, fn);
        if (c->p->t[l + 1].loc == PLAN_FUSED)
            fprintf(f, "layers %d, %d: %s, then %s", l, l + 1, q_op_names[ly->op],
                    q_op_names[m->layers[l + 1].op]);
        else
            fprintf(f, "layer %d: %s", l, q_op_names[ly->op]);
        sep = "\n";
    }
    char run[Q_NAME_MAX + 16];
    snprintf(run, sizeof run, "%s_run", m->name);
    fprintf(f, "\n *   %-*s  the layers in order, over the arena (its plan above it)", width, run);
    snprintf(run, sizeof run, "%s_run_static", m->name);
    fprintf(f, "\n *   %-*s  the same with a static arena", width, run);
}

/* The m4 program of NAME.c. */
static int program_c(const ctx *c, FILE *f, qerr *e)
{
    const q_model *m = c->m;
    int need_rq = 0, need_rescale = 0, need_conv = 0, need_runs = 0;
    int need_gather = 0, need_linear = 0, need_avg[2] = {0, 0}; /* average32, average64 */
    int need_w4 = 0, need_conv4 = 0, need_linear4 = 0;         /* 4-bit weights */
    int need_dw = 0;
    int count[Q_OP_COUNT] = {0};
    for (int l = 0; l < m->n_layers; l++) {
        const q_layer *ly = &m->layers[l];
        q_op op = ly->op;
        count[op]++;
        int div = op == Q_OP_AVGPOOL && !q_avgpool_rescales(m, ly);
        need_rq |= op != Q_OP_MAXPOOL && op != Q_OP_FLATTEN && op != Q_OP_SOFTMAX && !div;
        need_rescale |= op == Q_OP_ADD;
        int w4 = ly->weight_bits == 4;
        need_conv |= op == Q_OP_CONV2D && !is_general(ly);
        need_conv4 |= op == Q_OP_CONV2D && !is_general(ly) && w4;
        need_linear |= op == Q_OP_LINEAR && !w4;
        need_linear4 |= op == Q_OP_LINEAR && w4;
        need_w4 |= w4;
        need_dw |= op == Q_OP_DWCONV2D && !is_general(ly);
        need_conv |= op == Q_OP_LINEAR && !w4;   /* a 1x1 conv2d on one pixel: */
        need_gather |= op == Q_OP_LINEAR && !w4; /* its input copied by gather() */
        int32_t first, nc;
        int wide;
        if (div && div_counts(m, ly, &first, &nc, &wide) == 0)
            need_avg[wide] = 1;
        if (op == Q_OP_CONV2D && !is_general(ly)) {
            const q_layer *pool = c->p->t[l + 1].loc == PLAN_FUSED ? &m->layers[l + 1] : NULL;
            int g = w4 || gathers(ly, q_model_tensor_shape(m, ly->input), pool);
            need_gather |= g;
            need_runs |= !g;
        }
    }
    stats_layer tot;
    stats_of_model(m, &tot);
    char summary[512];
    int n = snprintf(summary, sizeof summary, "%d layers (", m->n_layers);
    for (int op = 0, first = 1; op < Q_OP_COUNT; op++)
        if (count[op]) {
            n += snprintf(summary + n, sizeof summary - (size_t)n, "%s%d %s", first ? "" : ", ",
                          count[op], q_op_names[op]);
            first = 0;
        }
    snprintf(summary + n, sizeof summary - (size_t)n,
             "),\n * %lld MACs per run, %lld bytes of constant data, arena %d bytes.",
             (long long)tot.macs,
             (long long)(tot.weight_bytes + tot.bias_bytes + tot.requant_bytes + tot.table_bytes),
             (int)c->p->arena_size);
    const cgen_target *t = c->target;
    call(f, "QATC_TARGET", 4, t->name, t->version, t->guard ? t->guard : "1", t->what);
    char *toc = text_of(contents, c, e);
    if (!toc)
        return -1;
    call(f, "QATC_C_BEGIN", 4, m->name, c->source, summary, toc);
    free(toc);
    /* every conv2d layer has a copied-windows nest; those with long kernel rows use it
     * only on the versions that do not walk windows row by row */
    call(f, "QATC_KERNELS", 4, need_linear ? "1" : "0", need_conv ? "1" : "0",
         need_gather ? "1" : "0", need_runs ? "1" : "0");
    if (need_w4) /* unpacking 4-bit weights: the C helpers, then each version's conv2d sums */
        call(f, "QATC_NIBBLES", 1, need_linear4 ? "1" : "0");
    if (need_conv4)
        fputs("QATC_KERNELS4()m4_dnl\n", f);
    if (need_rq) /* after the kernels: its 64-bit product depends on the version */
        fputs("QATC_REQUANTIZE()m4_dnl\n", f);
    if (need_dw)
        fputs("QATC_REQUANTIZE_HIGH()m4_dnl\n", f);
    if (need_rescale)
        fputs("QATC_RESCALE()m4_dnl\n", f);
    for (int k = 0; k < 2; k++)
        if (need_avg[k])
            call(f, "QATC_AVERAGE", 1, k ? "64" : "32");
    for (int l = 0; l < m->n_layers; l++)
        if (emit_layer(c, l, f, e))
            return -1;

    char *pc = text_of(plan_comment, c, e);
    if (!pc)
        return -1;
    char size[16];
    snprintf(size, sizeof size, "%d", (int)c->p->arena_size);
    call(f, "QATC_RUN_BEGIN", 3, m->name, size, pc);
    free(pc);

    for (int l = 0; l < m->n_layers; l++) {
        const q_layer *ly = &m->layers[l];
        int o = l + 1;
        char b1[32], b2[32], b3[32], args[128], com[256], sh[48];
        show_shape(ly->out_shape, sh, sizeof sh);
        if (ly->op == Q_OP_FLATTEN && o != m->n_layers) {
            snprintf(com, sizeof com, "layer %d \"%s\": flatten, t%d is t%d seen as %s: no code",
                     l, ly->name, o, ly->input, sh);
            call(f, "QATC_VIEW", 1, com);
            continue;
        }
        if (c->p->t[o].loc == PLAN_FUSED) {
            snprintf(com, sizeof com, "layer %d \"%s\": runs in the next step, t%d %s is never "
                     "stored", l, ly->name, o, sh);
            call(f, "QATC_VIEW", 1, com);
            continue;
        }
        int fused = c->p->t[ly->input].loc == PLAN_FUSED; /* a pool after its conv */
        const q_layer *owner = fused ? &m->layers[l - 1] : ly; /* whose function runs the step */
        const char *in1 = tensor_place(c, owner->input, b1, sizeof b1);
        const char *out = tensor_place(c, o, b3, sizeof b3);
        if (ly->op == Q_OP_ADD)
            snprintf(args, sizeof args, "%s, %s, %s", in1,
                     tensor_place(c, ly->input2, b2, sizeof b2), out);
        else
            snprintf(args, sizeof args, "%s, %s", in1, out);
        if (fused)
            snprintf(com, sizeof com, "%s + %s: t%d %s", owner->name, ly->name, o, sh);
        else
            snprintf(com, sizeof com, "t%d %s%s", o, sh,
                     c->p->t[o].shares >= 0 ? ", in place" : "");
        call(f, "QATC_STEP", 4, m->name, c->fn[l], args, com);
    }
    char words[16];
    snprintf(words, sizeof words, "%d", (int)(c->p->arena_size > 0 ? c->p->arena_size / 4 : 1));
    call(f, "QATC_RUN_END", 2, m->name, words);
    return 0;
}

static void quant_comment(q_quant q, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.17g", q.scale);
}

/* The m4 program of NAME.h; golden: NAME_golden.c is written too. */
static int program_h(const ctx *c, FILE *f, int golden)
{
    const q_model *m = c->m;
    char guard[Q_NAME_MAX + 16], prefix[Q_NAME_MAX + 16], summary[256];
    snprintf(guard, sizeof guard, "QATC_%s_H", c->upper);
    stats_layer tot;
    stats_of_model(m, &tot);
    snprintf(summary, sizeof summary,
             "integer-only int8 inference generated by qatc;\n"
             " * %d layers, %lld MACs per run, arena %d bytes.",
             m->n_layers, (long long)tot.macs, (int)c->p->arena_size);
    call(f, "QATC_H_BEGIN", 4, m->name, guard, c->source, summary);
    for (int k = 0; k < 2; k++) {
        int t = k ? m->n_layers : 0;
        q_shape s = q_model_tensor_shape(m, t);
        q_quant q = q_model_tensor_quant(m, t);
        char h[16], w[16], ch[16], size[16], zp[16], sc[40];
        snprintf(prefix, sizeof prefix, "%s_%s", c->upper, k ? "OUTPUT" : "INPUT");
        snprintf(h, sizeof h, "%d", (int)s.h);
        snprintf(w, sizeof w, "%d", (int)s.w);
        snprintf(ch, sizeof ch, "%d", (int)s.c);
        snprintf(size, sizeof size, "%d", (int)q_shape_size(s));
        snprintf(zp, sizeof zp, "%d", (int)q.zero_point);
        quant_comment(q, sc, sizeof sc);
        call(f, "QATC_H_TENSOR", 8, prefix, k ? "Output" : "Input", h, w, ch, size, zp, sc);
    }
    char arena[16];
    snprintf(arena, sizeof arena, "%d", (int)c->p->arena_size);
    call(f, "QATC_H_END", 5, m->name, guard, c->upper, arena, golden ? "1" : "0");
    return 0;
}

/* The m4 program of NAME_golden.c. */
static int program_golden(const ctx *c, const cgen_opts *o, FILE *f, qerr *e)
{
    const q_model *m = c->m;
    int32_t in_n = q_shape_size(m->in_shape);
    int32_t out_n = q_shape_size(m->layers[m->n_layers - 1].out_shape);
    int64_t n = o->n_golden;
    int8_t *outs = malloc((size_t)(n * out_n));
    if (!outs)
        return qerr_set(e, "gen: out of memory");
    for (int64_t i = 0; i < n; i++)
        q8_exec_run(c->x, o->golden_in + i * in_n, outs + i * out_n);
    int32_t din[2] = {(int32_t)n, in_n}, dout[2] = {(int32_t)n, out_n};
    char *si = init_s8(o->golden_in, n * in_n, din, 2, 0);
    char *so = init_s8(outs, n * out_n, dout, 2, 0);
    free(outs);
    int rc = 0;
    if (si && so) {
        char count[16], origin[512];
        snprintf(count, sizeof count, "%lld", (long long)n);
        comment_text(o->golden_origin ? o->golden_origin : "given inputs", origin,
                     sizeof origin);
        call(f, "QATC_GOLDEN", 7, m->name, c->upper, c->source, count, origin, si, so);
    } else {
        rc = qerr_set(e, "gen: out of memory");
    }
    free(si), free(so);
    return rc;
}

/* ---- writing ---------------------------------------------------------------- */

enum { F_C, F_H, F_GOLDEN, N_FILES };

/* The forms beyond format version 1 (q_layer_features) that the templates print. A model
 * with any other is refused by name, before anything is written: printing a form the
 * templates do not know would give wrong C, not an error. */
#define CGEN_FEATURES                                                                    \
    (Q_FEAT_DILATION | Q_FEAT_ASYMMETRIC_PAD | Q_FEAT_POOL_PAD | Q_FEAT_MULTIPLIER |           \
     Q_FEAT_AVGPOOL_DIV | Q_FEAT_SOFTMAX | Q_FEAT_WEIGHT4)

/* 0 when every layer of m uses only CGEN_FEATURES; else -1 with e naming the first layer
 * and form that does not. */
static int check_features(const q_model *m, qerr *e)
{
    for (int l = 0; l < m->n_layers; l++) {
        const q_layer *ly = &m->layers[l];
        unsigned f = q_layer_features(m, ly) & ~CGEN_FEATURES;
        if (!f)
            continue;
        int i = 0;
        while (!(f & 1u << i))
            i++;
        return qerr_set(e, "gen: layer %d (%s, %s): %s is not printed by the C generator yet "
                           "(qatc eval runs it)",
                        l, ly->name, q_op_names[ly->op], q_feature_names[i]);
    }
    return 0;
}

int cgen_write(const q_model *m, const char *dir, const cgen_opts *o, qerr *e)
{
    if (m->n_layers < 1)
        return qerr_set(e, "gen: the model has no layers");
    if (o->n_golden < 0 || (o->n_golden > 0 && !o->golden_in))
        return qerr_set(e, "gen: golden inputs missing");
    if (check_features(m, e))
        return -1;
    ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.dw_plane_max = o->dw_plane_max > 0 ? o->dw_plane_max : DW_PLANE_MAX;
    c.target = cgen_target_find(o->target ? o->target : "all");
    if (!c.target)
        return qerr_set(e, "gen: no target '%s'", o->target);
    source_label(o->source ? o->source : "an in-memory model", c.source, sizeof c.source);
    for (size_t i = 0; i < sizeof c.upper && m->name[i]; i++)
        c.upper[i] = (char)(m->name[i] >= 'a' && m->name[i] <= 'z' ? m->name[i] - 32 : m->name[i]);

    const char *suffix[N_FILES] = {".c", ".h", "_golden.c"};
    const char *tmpl[N_FILES] = {"model_c.m4", "model_h.m4", "golden_c.m4"};
    int nf = o->n_golden > 0 ? 3 : 2;
    char path[N_FILES][4096];
    const char *inputs[] = {o->source, o->images};
    for (int i = 0; i < nf; i++) {
        if (snprintf(path[i], sizeof path[i], "%s/%s%s", dir, m->name, suffix[i]) >=
            (int)sizeof path[i])
            return qerr_set(e, "%s/%s%s: path too long", dir, m->name, suffix[i]);
        if (qfile_check_not_input(path[i], inputs, 2, e))
            return -1;
    }

    plan p;
    if (plan_build(m, &p, e))
        return o->source ? qerr_set(e, "%s: %s", o->source, e->msg) : -1;
    c.p = &p;
    c.fn = calloc((size_t)m->n_layers, sizeof *c.fn);
    if (!c.fn) {
        plan_free(&p);
        return qerr_set(e, "gen: out of memory");
    }
    function_names(&c);
    c.x = q8_exec_new(m, e);
    if (!c.x) {
        free(c.fn);
        plan_free(&p);
        return -1;
    }

    qfile_set set; /* all of the files replace the old ones, or none does */
    qfile_set_init(&set);
    int rc = 0;
    for (int i = 0; i < nf && !rc; i++) {
        text prog;
        if (text_open(&prog, e)) {
            rc = -1;
            break;
        }
        int prc = i == F_C   ? program_c(&c, prog.f, e)
                  : i == F_H ? program_h(&c, prog.f, o->n_golden > 0)
                             : program_golden(&c, o, prog.f, e);
        if (prc) {
            text_free(&prog);
            rc = -1;
            break;
        }
        if (text_close(&prog, e)) {
            rc = -1;
            break;
        }
        FILE *out = qfile_set_add(&set, path[i], e);
        if (!out) {
            free(prog.buf);
            rc = -1;
            break;
        }
        rc = m4run(o->templates, tmpl[i], prog.buf, prog.len, out, e);
        if (rc) /* name the file being written (e.g. its disk is full) */
            qerr_set(e, "%s: %s", path[i], e->msg);
        free(prog.buf);
    }
    if (rc)
        qfile_set_abort(&set);
    else
        rc = qfile_set_commit(&set, e);
    q8_exec_free(c.x);
    free(c.fn);
    plan_free(&p);
    return rc;
}
