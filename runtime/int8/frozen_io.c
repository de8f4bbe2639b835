/* frozen_io — the frozen model file: a versioned YAML document
 * (docs/frozen-format.md), read with yamlx, written through qfile.
 *
 * The writer always writes format version 2; the reader takes versions 1
 * and 2 (version 1: pad [ph, pw] on convs only, no dilation, multiplier,
 * weight_bits or softmax). The reader checks types, keys and element counts
 * with the line of the offending node, bounds every size the file states
 * before computing with it (tensor shapes as they are read, a weighted
 * layer's geometry through q_geom_derive before its weights), then leaves
 * the semantics (shapes, ranges, references, accumulator bounds,
 * multipliers) to q_model_check, which names the layer's line. The writer
 * refuses a model q_model_check rejects, so whatever it writes reads back,
 * and writes the same bytes again.
 */
#include "frozen_io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "qfile.h"
#include "yamlx.h"

/* ---- shared ---------------------------------------------------------------- */

/* The weights of a layer as a matrix of rows x len int8, as the file lists them:
 *   conv2d   (out_c, kh, kw, in_c)  rows = out_c,   len = kh*kw*in_c
 *   dwconv2d (kh, kw, in_c*M)       rows = kh*kw,   len = out_c = in_c*M
 *   linear   (out_c, in_n)          rows = out_c,   len = h*w*c of the input
 * in is the input tensor's shape, out_c the layer's output channels. A size
 * over Q_MAX_ELEMS gives -1, computed without overflow (q_size_mul). */
static void weight_matrix(const q_layer *l, q_shape in, int64_t out_c, int64_t *rows,
                          int64_t *len)
{
    switch (l->op) {
    case Q_OP_CONV2D:
        *rows = out_c;
        *len = q_size_mul(q_size_mul(l->win.kernel_h, l->win.kernel_w), in.c);
        break;
    case Q_OP_DWCONV2D:
        *rows = q_size_mul(l->win.kernel_h, l->win.kernel_w);
        *len = out_c;
        break;
    case Q_OP_LINEAR:
        *rows = out_c;
        *len = q_shape_elems(in);
        break;
    default:
        *rows = *len = 0;
    }
}

static int has_weights(q_op op)
{
    return op == Q_OP_CONV2D || op == Q_OP_DWCONV2D || op == Q_OP_LINEAR;
}

static int has_window(q_op op)
{
    return op == Q_OP_CONV2D || op == Q_OP_DWCONV2D || op == Q_OP_MAXPOOL || op == Q_OP_AVGPOOL;
}

static int has_act(q_op op)
{
    return has_weights(op) || op == Q_OP_ADD;
}

/* ---- writing --------------------------------------------------------------- */

/* The shortest "%.*g" form that reads back (strtod) as exactly v; 17
 * significant digits always do for an IEEE double. */
static void put_double(FILE *f, double v)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
}

/* A name, quoted when YAML 1.1 tools would read the plain word as a boolean
 * or null (qatc itself reads either form). */
static void put_name(FILE *f, const char *name)
{
    static const char *const special[] = {"y", "n", "yes", "no", "on", "off", "true", "false",
                                          "null", NULL};
    for (int i = 0; special[i]; i++)
        if (strcasecmp(name, special[i]) == 0) {
            fprintf(f, "\"%s\"", name);
            return;
        }
    fputs(name, f);
}

static void put_tensor_ref(FILE *f, const q_model *m, int t)
{
    if (t == 0)
        fputs("input", f);
    else
        put_name(f, m->layers[t - 1].name);
}

static void put_quant(FILE *f, q_shape s, q_quant q)
{
    fprintf(f, "{shape: [%d, %d, %d], scale: ", (int)s.h, (int)s.w, (int)s.c);
    put_double(f, q.scale);
    fprintf(f, ", zero_point: %d}\n", (int)q.zero_point);
}

static void put_weights(FILE *f, const q_model *m, const q_layer *l)
{
    q_shape in = q_model_tensor_shape(m, l->input);
    int32_t out_c = q_layer_out_channels(l);
    int n_scales = l->per_channel ? out_c : 1;
    fprintf(f, "    per_channel: %s\n", l->per_channel ? "true" : "false");
    fputs("    weight_scale: [", f);
    for (int c = 0; c < n_scales; c++) {
        if (c)
            fputs(", ", f);
        put_double(f, l->w_scale[c]);
    }
    fputs("]\n    bias: [", f);
    for (int32_t c = 0; c < out_c; c++)
        fprintf(f, "%s%d", c ? ", " : "", (int)l->bias[c]);
    fputs("]\n", f);

    int64_t rows, len;
    weight_matrix(l, in, out_c, &rows, &len);
    if (l->op == Q_OP_CONV2D)
        fprintf(f, "    weights:  # (%d, %d, %d, %d) OHWI: one row per output channel\n",
                (int)out_c, (int)l->win.kernel_h, (int)l->win.kernel_w, (int)in.c);
    else if (l->op == Q_OP_DWCONV2D)
        fprintf(f, "    weights:  # (%d, %d, %d) HWC: one row per kernel position\n",
                (int)l->win.kernel_h, (int)l->win.kernel_w, (int)out_c);
    else
        fprintf(f, "    weights:  # (%d, %d): one row per output, inputs in NHWC order\n",
                (int)out_c, (int)len);
    for (int64_t r = 0; r < rows; r++) {
        fputs("      - [", f);
        for (int64_t j = 0; j < len; j++)
            fprintf(f, "%s%d", j ? ", " : "", (int)l->weights[r * len + j]);
        fputs("]\n", f);
    }
}

/* Keys in the order the reader's tables list them; dilation and multiplier
 * only when they are not 1, so that models without them read as before. */
static void put_layer(FILE *f, const q_model *m, int i)
{
    const q_layer *l = &m->layers[i];
    const q_window *w = &l->win;
    fprintf(f, "  - op: %s\n    name: ", q_op_names[l->op]);
    put_name(f, l->name);
    fputs("\n    input: ", f);
    put_tensor_ref(f, m, l->input);
    fputc('\n', f);
    if (l->op == Q_OP_ADD) {
        fputs("    with: ", f);
        put_tensor_ref(f, m, l->input2);
        fputc('\n', f);
    }
    if (has_window(l->op)) {
        fprintf(f, "    kernel: [%d, %d]\n    stride: [%d, %d]\n", (int)w->kernel_h,
                (int)w->kernel_w, (int)w->stride_h, (int)w->stride_w);
        if (w->dilation_h != 1 || w->dilation_w != 1)
            fprintf(f, "    dilation: [%d, %d]\n", (int)w->dilation_h, (int)w->dilation_w);
        fprintf(f, "    pad: [%d, %d, %d, %d]\n", (int)w->pad_top, (int)w->pad_bottom,
                (int)w->pad_left, (int)w->pad_right);
    }
    if (l->op == Q_OP_DWCONV2D && l->multiplier != 1)
        fprintf(f, "    multiplier: %d\n", (int)l->multiplier);
    if (has_act(l->op))
        fprintf(f, "    act: %s\n", q_act_names[l->act]);
    fputs("    output: ", f);
    put_quant(f, l->out_shape, l->out_q);
    if (has_weights(l->op)) {
        fprintf(f, "    weight_bits: %d\n", l->weight_bits);
        put_weights(f, m, l);
    }
}

int frozen_write(const char *path, const q_model *m, qerr *e)
{
    /* Check (and derive shapes on) a shallow copy: the arrays are shared, the
     * layer structs are not, so m stays untouched. */
    q_model c = *m;
    c.layers = m->n_layers > 0 ? malloc(sizeof *c.layers * (size_t)m->n_layers) : NULL;
    if (m->n_layers > 0 && !c.layers)
        return qerr_set(e, "%s: out of memory", path);
    if (c.layers)
        memcpy(c.layers, m->layers, sizeof *c.layers * (size_t)m->n_layers);
    qerr ce;
    if (q_model_check(&c, "model", &ce)) {
        free(c.layers);
        return qerr_set(e, "%s: refusing to write an invalid model: %s", path, ce.msg);
    }

    qfile q;
    if (qfile_begin(&q, path, e)) {
        free(c.layers);
        return -1;
    }
    FILE *f = q.f;
    fprintf(f, "qatc_frozen: %d\n", Q_FORMAT_VERSION);
    fputs("# A frozen int8 model written by qatc (docs/frozen-format.md).\n"
          "# real = scale * (q - zero_point); shapes are [h, w, c] (NHWC).\n", f);
    fputs("name: ", f);
    put_name(f, c.name);
    fputs("\ninput: ", f);
    put_quant(f, c.in_shape, c.in_q);
    fputs("layers:\n", f);
    for (int i = 0; i < c.n_layers; i++)
        put_layer(f, &c, i);
    /* Last, so that a file cut short anywhere is missing it. */
    fputs("output: ", f);
    put_name(f, c.layers[c.n_layers - 1].name);
    fputc('\n', f);
    free(c.layers);
    return qfile_commit(&q, e);
}

/* ---- reading --------------------------------------------------------------- */

typedef struct {
    yx_doc d;
    q_model *m;
    qerr *e;
    int version; /* qatc_frozen: 1 or 2 */
} reader;

/* The value of key in map, or NULL after "FILE:LINE: FIELD: missing". */
static yaml_node_t *need(reader *r, yaml_node_t *map, const char *key, const char *field)
{
    yaml_node_t *n = yx_get(&r->d, map, key);
    if (!n)
        qerr_at(r->e, r->d.file, yx_line(map), "%s: missing", field);
    return n;
}

/* A sequence of exactly n items, else -1 naming field and the counts. */
static int expect_len(reader *r, yaml_node_t *seq, const char *field, int64_t n, const char *what)
{
    if (yx_expect_seq(&r->d, seq, field, r->e))
        return -1;
    if (yx_seq_len(seq) != n)
        return qerr_at(r->e, r->d.file, yx_line(seq), "%s: expected %lld %s, found %d", field,
                       (long long)n, what, yx_seq_len(seq));
    return 0;
}

/* Item i of seq as an integer in [lo, hi]; the field "FIELD[i]" is only
 * formatted when the value is bad. */
static int item_int(reader *r, yaml_node_t *seq, int i, const char *field, int64_t lo,
                    int64_t hi, int64_t *out)
{
    yaml_node_t *n = yx_seq_item(&r->d, seq, i);
    if (yx_int(&r->d, n, "", lo, hi, out, NULL) == 0)
        return 0;
    char f[160];
    snprintf(f, sizeof f, "%s[%d]", field, i);
    return yx_int(&r->d, n, f, lo, hi, out, r->e);
}

static int item_double(reader *r, yaml_node_t *seq, int i, const char *field, double *out)
{
    char f[160];
    snprintf(f, sizeof f, "%s[%d]", field, i);
    return yx_double(&r->d, yx_seq_item(&r->d, seq, i), f, out, r->e);
}

/* [a, b] or [a, b, c]: n integers in [lo, hi]. */
static int read_ints(reader *r, yaml_node_t *map, const char *key, const char *field, int n,
                     int64_t lo, int64_t hi, int32_t *out[])
{
    yaml_node_t *seq = need(r, map, key, field);
    if (!seq || expect_len(r, seq, field, n, "integers"))
        return -1;
    for (int i = 0; i < n; i++) {
        int64_t v;
        if (item_int(r, seq, i, field, lo, hi, &v))
            return -1;
        *out[i] = (int32_t)v;
    }
    return 0;
}

/* {shape: [h, w, c], scale: S, zero_point: Z} */
static int read_quant(reader *r, yaml_node_t *map, const char *field, q_shape *s, q_quant *q)
{
    static const char *const keys[] = {"shape", "scale", "zero_point", NULL};
    char f[128];
    if (yx_check_keys(&r->d, map, keys, field, r->e))
        return -1;
    snprintf(f, sizeof f, "%s.shape", field);
    if (read_ints(r, map, "shape", f, 3, 1, Q_MAX_ELEMS, (int32_t *[]){&s->h, &s->w, &s->c}))
        return -1;
    if (q_shape_elems(*s) < 0) /* every tensor size bounded before a later layer uses it */
        return qerr_at(r->e, r->d.file, yx_line(yx_get(&r->d, map, "shape")),
                       "%s: [%d, %d, %d] exceeds %d elements", f, (int)s->h, (int)s->w,
                       (int)s->c, Q_MAX_ELEMS);
    snprintf(f, sizeof f, "%s.scale", field);
    yaml_node_t *n = need(r, map, "scale", f);
    if (!n || yx_double(&r->d, n, f, &q->scale, r->e))
        return -1;
    snprintf(f, sizeof f, "%s.zero_point", field);
    int64_t zp;
    n = need(r, map, "zero_point", f);
    if (!n || yx_int(&r->d, n, f, -128, 127, &zp, r->e))
        return -1;
    q->zero_point = (int32_t)zp;
    return 0;
}

/* A tensor by name: "input" is tensor 0, an earlier layer's name its tensor. */
static int read_ref(reader *r, yaml_node_t *map, const char *key, int i, int *out)
{
    char field[64], name[Q_NAME_MAX];
    snprintf(field, sizeof field, "layers[%d].%s", i, key);
    yaml_node_t *n = need(r, map, key, field);
    if (!n || yx_string(&r->d, n, field, name, sizeof name, r->e))
        return -1;
    if (strcmp(name, "input") == 0) {
        *out = 0;
        return 0;
    }
    const q_model *m = r->m;
    for (int j = 0; j < i; j++)
        if (strcmp(m->layers[j].name, name) == 0) {
            *out = j + 1;
            return 0;
        }
    for (int j = i; j < m->n_layers; j++)
        if (strcmp(m->layers[j].name, name) == 0)
            return qerr_at(r->e, r->d.file, yx_line(n),
                           "%s: '%s' is layers[%d], not an earlier layer (references point back)",
                           field, name, j);
    return qerr_at(r->e, r->d.file, yx_line(n),
                   "%s: no tensor named '%s' (expected 'input' or an earlier layer's name)",
                   field, name);
}

/* per_channel, weight_scale, bias and weights of a conv2d, dwconv2d or linear. */
static int read_weights(reader *r, yaml_node_t *map, int i)
{
    q_model *m = r->m;
    q_layer *l = &m->layers[i];
    char f[64];
    /* Counts follow the shapes the file states (q_model_check then verifies
     * those), through the shape rule, which bounds every size before anything
     * is allocated. */
    q_shape in = q_model_tensor_shape(m, l->input), derived;
    q_geom g = {.op = l->op, .win = l->win, .pad_rule = Q_PAD_SIDES, .out_c = l->out_shape.c,
                .multiplier = l->multiplier};
    const char *key;
    char why[200];
    if (q_geom_derive(&g, in, in, &derived, NULL, &key, why, sizeof why))
        return qerr_at(r->e, r->d.file, l->line, "layers[%d].%s: %s", i,
                       q_geom_field(l->op, key), why);
    int64_t out_c = derived.c;

    snprintf(f, sizeof f, "layers[%d].per_channel", i);
    yaml_node_t *n = need(r, map, "per_channel", f);
    if (!n || yx_bool(&r->d, n, f, &l->per_channel, r->e))
        return -1;

    int64_t n_scales = l->per_channel ? out_c : 1;
    snprintf(f, sizeof f, "layers[%d].weight_scale", i);
    n = need(r, map, "weight_scale", f);
    if (!n || expect_len(r, n, f, n_scales,
                         l->per_channel ? "scales (one per output channel)" : "scale (per tensor)"))
        return -1;
    l->w_scale = malloc(sizeof(double) * (size_t)n_scales);
    if (!l->w_scale)
        return qerr_set(r->e, "%s: out of memory", r->d.file);
    for (int c = 0; c < n_scales; c++)
        if (item_double(r, n, c, f, &l->w_scale[c]))
            return -1;

    snprintf(f, sizeof f, "layers[%d].bias", i);
    n = need(r, map, "bias", f);
    if (!n || expect_len(r, n, f, out_c, "values (one per output channel)"))
        return -1;
    l->bias = malloc(sizeof(int32_t) * (size_t)out_c);
    if (!l->bias)
        return qerr_set(r->e, "%s: out of memory", r->d.file);
    for (int c = 0; c < out_c; c++) {
        int64_t v;
        if (item_int(r, n, c, f, INT32_MIN, INT32_MAX, &v))
            return -1;
        l->bias[c] = (int32_t)v;
    }

    int64_t rows, len;
    weight_matrix(l, in, out_c, &rows, &len);
    snprintf(f, sizeof f, "layers[%d].weights", i);
    n = need(r, map, "weights", f);
    if (!n || yx_expect_seq(&r->d, n, f, r->e))
        return -1;
    if (yx_seq_len(n) != rows)
        return qerr_at(r->e, r->d.file, yx_line(n),
                       "%s: expected %lld rows of %lld values, found %d rows", f,
                       (long long)rows, (long long)len, yx_seq_len(n));
    /* rows * len <= Q_MAX_ELEMS (q_geom_derive); the allocation after the rows
     * are counted: a short file cannot ask for more than it holds */
    for (int row = 0; row < rows; row++) {
        char rf[80];
        snprintf(rf, sizeof rf, "%s[%d]", f, row);
        if (expect_len(r, yx_seq_item(&r->d, n, row), rf, len, "values"))
            return -1;
    }
    l->weights = malloc((size_t)(rows * len > 0 ? rows * len : 1));
    if (!l->weights)
        return qerr_set(r->e, "%s: out of memory", r->d.file);
    int32_t wmax = q_weight_max(l->weight_bits); /* symmetric: [-127, 127] or [-7, 7] */
    for (int row = 0; row < rows; row++) {
        char rf[80];
        snprintf(rf, sizeof rf, "%s[%d]", f, row);
        yaml_node_t *rn = yx_seq_item(&r->d, n, row);
        for (int j = 0; j < len; j++) {
            int64_t v;
            if (item_int(r, rn, j, rf, -wmax, wmax, &v))
                return -1;
            l->weights[row * len + j] = (int8_t)v;
        }
    }
    return 0;
}

/* Keys by op, in the order the writer prints them: format version 2, then 1. */
static const char *const keys_conv[] = {"op", "name", "input", "kernel", "stride", "dilation",
                                        "pad", "act", "output", "weight_bits", "per_channel",
                                        "weight_scale", "bias", "weights", NULL};
static const char *const keys_dwconv[] = {"op", "name", "input", "kernel", "stride",
                                          "dilation", "pad", "multiplier", "act", "output",
                                          "weight_bits", "per_channel", "weight_scale", "bias",
                                          "weights", NULL};
static const char *const keys_linear[] = {"op", "name", "input", "act", "output",
                                          "weight_bits", "per_channel", "weight_scale", "bias",
                                          "weights", NULL};
static const char *const keys_pool[] = {"op", "name", "input", "kernel", "stride", "pad",
                                        "output", NULL};
static const char *const keys_add[] = {"op", "name", "input", "with", "act", "output", NULL};
static const char *const keys_plain[] = {"op", "name", "input", "output", NULL};
static const char *const *const keys_v2[Q_OP_COUNT] = {
    [Q_OP_CONV2D] = keys_conv,  [Q_OP_DWCONV2D] = keys_dwconv, [Q_OP_LINEAR] = keys_linear,
    [Q_OP_MAXPOOL] = keys_pool, [Q_OP_AVGPOOL] = keys_pool,    [Q_OP_ADD] = keys_add,
    [Q_OP_FLATTEN] = keys_plain, [Q_OP_SOFTMAX] = keys_plain,
};

static const char *const keys_conv_v1[] = {"op", "name", "input", "kernel", "stride", "pad",
                                           "act", "output", "per_channel", "weight_scale",
                                           "bias", "weights", NULL};
static const char *const keys_linear_v1[] = {"op", "name", "input", "act", "output",
                                             "per_channel", "weight_scale", "bias", "weights",
                                             NULL};
static const char *const keys_pool_v1[] = {"op", "name", "input", "kernel", "stride",
                                           "output", NULL};
static const char *const *const keys_v1[Q_OP_COUNT] = {
    [Q_OP_CONV2D] = keys_conv_v1,  [Q_OP_DWCONV2D] = keys_conv_v1, [Q_OP_LINEAR] = keys_linear_v1,
    [Q_OP_MAXPOOL] = keys_pool_v1, [Q_OP_AVGPOOL] = keys_pool_v1,  [Q_OP_ADD] = keys_add,
    [Q_OP_FLATTEN] = keys_plain,   [Q_OP_SOFTMAX] = NULL, /* not in version 1 */
};

/* kernel, stride, dilation, pad, multiplier of a windowed layer.
 *   version 2: pad [top, bottom, left, right] (every windowed op); dilation
 *              [h, w] (convs, optional, default [1, 1]); multiplier (dwconv2d,
 *              optional, default 1)
 *   version 1: pad [h, w] on both sides (convs only), no dilation, no multiplier */
static int read_window(reader *r, yaml_node_t *map, int i)
{
    q_layer *l = &r->m->layers[i];
    q_window *w = &l->win;
    int conv = l->op == Q_OP_CONV2D || l->op == Q_OP_DWCONV2D;
    char f[64];
    snprintf(f, sizeof f, "layers[%d].kernel", i);
    if (read_ints(r, map, "kernel", f, 2, 1, Q_MAX_ELEMS, (int32_t *[]){&w->kernel_h, &w->kernel_w}))
        return -1;
    snprintf(f, sizeof f, "layers[%d].stride", i);
    if (read_ints(r, map, "stride", f, 2, 1, Q_MAX_ELEMS, (int32_t *[]){&w->stride_h, &w->stride_w}))
        return -1;
    w->dilation_h = w->dilation_w = 1;
    snprintf(f, sizeof f, "layers[%d].pad", i);
    if (r->version == 1) {
        if (conv && read_ints(r, map, "pad", f, 2, 0, Q_MAX_ELEMS,
                              (int32_t *[]){&w->pad_top, &w->pad_left}))
            return -1;
        w->pad_bottom = w->pad_top;
        w->pad_right = w->pad_left;
        return 0;
    }
    if (read_ints(r, map, "pad", f, 4, 0, Q_MAX_ELEMS,
                  (int32_t *[]){&w->pad_top, &w->pad_bottom, &w->pad_left, &w->pad_right}))
        return -1;
    snprintf(f, sizeof f, "layers[%d].dilation", i);
    if (conv && yx_get(&r->d, map, "dilation") &&
        read_ints(r, map, "dilation", f, 2, 1, Q_MAX_ELEMS,
                  (int32_t *[]){&w->dilation_h, &w->dilation_w}))
        return -1;
    l->multiplier = 1;
    yaml_node_t *n = l->op == Q_OP_DWCONV2D ? yx_get(&r->d, map, "multiplier") : NULL;
    if (n) {
        int64_t v;
        snprintf(f, sizeof f, "layers[%d].multiplier", i);
        if (yx_int(&r->d, n, f, 1, Q_MAX_ELEMS, &v, r->e))
            return -1;
        l->multiplier = (int32_t)v;
    }
    return 0;
}

static int read_layer(reader *r, yaml_node_t *map, int i)
{
    q_model *m = r->m;
    q_layer *l = &m->layers[i];
    char f[64];
    snprintf(f, sizeof f, "layers[%d]", i);
    if (yx_expect_map(&r->d, map, f, r->e))
        return -1;
    l->line = yx_line(map);
    l->input2 = -1;

    snprintf(f, sizeof f, "layers[%d].op", i);
    yaml_node_t *n = need(r, map, "op", f);
    int op;
    if (!n || yx_enum(&r->d, n, f, q_op_names, &op, r->e))
        return -1;
    l->op = (q_op)op;
    const char *const *keys = (r->version == 1 ? keys_v1 : keys_v2)[l->op];
    if (!keys)
        return qerr_at(r->e, r->d.file, yx_line(n),
                       "%s: %s needs format version 2 (qatc_frozen: 2)", f, q_op_names[l->op]);
    snprintf(f, sizeof f, "layers[%d]", i);
    if (yx_check_keys(&r->d, map, keys, f, r->e))
        return -1;

    /* name was read for every layer before (read_names), so references resolve */
    if (read_ref(r, map, "input", i, &l->input))
        return -1;
    if (l->op == Q_OP_ADD && read_ref(r, map, "with", i, &l->input2))
        return -1;

    if (has_window(l->op) && read_window(r, map, i))
        return -1;
    if (has_act(l->op)) {
        snprintf(f, sizeof f, "layers[%d].act", i);
        n = yx_get(&r->d, map, "act");
        int act = Q_ACT_NONE;
        if (n && yx_enum(&r->d, n, f, q_act_names, &act, r->e))
            return -1;
        l->act = (q_act)act;
    }
    snprintf(f, sizeof f, "layers[%d].output", i);
    n = need(r, map, "output", f);
    if (!n || read_quant(r, n, f, &l->out_shape, &l->out_q))
        return -1;
    if (!has_weights(l->op))
        return 0;
    l->weight_bits = 8; /* version 1: 8-bit weights only */
    if (r->version >= 2) {
        snprintf(f, sizeof f, "layers[%d].weight_bits", i);
        n = need(r, map, "weight_bits", f);
        int64_t bits;
        if (!n || yx_int(&r->d, n, f, INT32_MIN, INT32_MAX, &bits, r->e))
            return -1;
        if (bits != 8 && bits != 4)
            return qerr_at(r->e, r->d.file, yx_line(n), "%s: %lld is not supported (8 or 4)",
                           f, (long long)bits);
        l->weight_bits = (int)bits;
    }
    return read_weights(r, map, i);
}

/* Every layer's name first (absent: "l<i>"), so that `input` and `with` can name them. */
static int read_names(reader *r, yaml_node_t *layers)
{
    for (int i = 0; i < r->m->n_layers; i++) {
        yaml_node_t *map = yx_seq_item(&r->d, layers, i);
        char f[64];
        snprintf(f, sizeof f, "layers[%d]", i);
        if (yx_expect_map(&r->d, map, f, r->e))
            return -1;
        q_layer *l = &r->m->layers[i];
        yaml_node_t *n = yx_get(&r->d, map, "name");
        snprintf(f, sizeof f, "layers[%d].name", i);
        if (!n)
            snprintf(l->name, sizeof l->name, "l%d", i);
        else if (yx_string(&r->d, n, f, l->name, sizeof l->name, r->e))
            return -1;
        if (n && !q_is_identifier(l->name))
            return qerr_at(r->e, r->d.file, yx_line(n), "%s: '%s' is not a C identifier", f,
                           l->name);
        for (int j = 0; j < i; j++)
            if (strcmp(r->m->layers[j].name, l->name) == 0)
                return qerr_at(r->e, r->d.file, n ? yx_line(n) : yx_line(map),
                               "%s: '%s' is already the name of layers[%d]", f, l->name, j);
    }
    return 0;
}

static int read_model(reader *r, const char *path)
{
    q_model *m = r->m;
    yaml_node_t *root = yx_root(&r->d);
    if (!root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0))
        return qerr_at(r->e, path, 1, "qatc_frozen: missing: the file is empty, "
                                      "expected a qatc frozen model");
    if (yx_expect_map(&r->d, root, "qatc_frozen", r->e))
        return -1;
    yaml_node_t *n = yx_get(&r->d, root, "qatc_frozen");
    if (!n)
        return qerr_at(r->e, path, yx_line(root),
                       "qatc_frozen: missing: this is not a qatc frozen model");
    int64_t version;
    if (yx_int(&r->d, n, "qatc_frozen", INT32_MIN, INT32_MAX, &version, r->e))
        return -1;
    if (version < 1 || version > Q_FORMAT_VERSION)
        return qerr_at(r->e, path, yx_line(n),
                       "qatc_frozen: version %lld is not supported (this qatc reads versions 1 "
                       "to %d)",
                       (long long)version, Q_FORMAT_VERSION);
    r->version = (int)version;
    static const char *const keys[] = {"qatc_frozen", "name", "input", "layers", "output",
                                       NULL};
    if (yx_check_keys(&r->d, root, keys, "", r->e))
        return -1;

    n = need(r, root, "name", "name");
    if (!n || yx_string(&r->d, n, "name", m->name, sizeof m->name, r->e))
        return -1;
    m->name_line = yx_line(n);
    n = need(r, root, "input", "input");
    if (!n || read_quant(r, n, "input", &m->in_shape, &m->in_q))
        return -1;
    m->input_line = yx_line(n);

    yaml_node_t *layers = need(r, root, "layers", "layers");
    if (!layers || yx_expect_seq(&r->d, layers, "layers", r->e))
        return -1;
    int n_layers = yx_seq_len(layers);
    if (n_layers < 1)
        return qerr_at(r->e, path, yx_line(layers), "layers: empty, expected at least one layer");
    if (n_layers > Q_MAX_LAYERS) /* before anything that grows with it (names: n^2) */
        return qerr_at(r->e, path, yx_line(layers), "layers: %d layers, at most %d", n_layers,
                       Q_MAX_LAYERS);
    m->layers = calloc((size_t)n_layers, sizeof *m->layers);
    if (!m->layers)
        return qerr_set(r->e, "%s: out of memory", path);
    m->n_layers = n_layers;
    if (read_names(r, layers))
        return -1;
    for (int i = 0; i < n_layers; i++)
        if (read_layer(r, yx_seq_item(&r->d, layers, i), i))
            return -1;

    /* The last key the writer prints: without it the file was cut short. */
    char out[Q_NAME_MAX];
    n = yx_get(&r->d, root, "output");
    if (!n)
        return qerr_at(r->e, path, yx_line(root),
                       "output: missing (the name of the last layer; is the file truncated?)");
    if (yx_string(&r->d, n, "output", out, sizeof out, r->e))
        return -1;
    if (strcmp(out, m->layers[n_layers - 1].name) != 0)
        return qerr_at(r->e, path, yx_line(n),
                       "output: '%s' is not the last layer '%s' (the model output)", out,
                       m->layers[n_layers - 1].name);
    return q_model_check(m, path, r->e);
}

int frozen_read(const char *path, q_model *m, qerr *e)
{
    memset(m, 0, sizeof *m);
    reader r = {.m = m, .e = e};
    if (yx_load(&r.d, path, e))
        return -1;
    int rc = read_model(&r, path);
    yx_free(&r.d);
    if (rc)
        q_model_free(m);
    return rc;
}
