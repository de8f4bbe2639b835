/* qatc report — what a frozen model costs and how the generated C runs it:
 * per layer shapes, MACs, constant bytes, scales, requantization
 * multipliers and shifts; the arena plan; totals. */
#include <stdio.h>
#include <string.h>

#include "cgen.h"
#include "commands.h"
#include "frozen_io.h"
#include "plan.h"
#include "q8_exec.h"
#include "qmodel.h"
#include "show.h"
#include "stats.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: qatc report FROZEN.yaml\n"
               "\n"
               "Prints, for the C that `qatc gen` would write: per layer the shapes, MACs,\n"
               "weight bits (8, or 4: packed two per byte) and bytes of constant data (weights,\n"
               "int32 biases, int32 multiplier + int8 shift per channel), scales, zero-points\n"
               "and requantization multipliers\n"
               "(M = M0 * 2^(shift - 31)); the activation arena plan (offsets, lifetimes,\n"
               "lower bound); and the totals: MACs, flash bytes of constant data, arena bytes.\n");
}

static void print_layers(const q_model *m)
{
    printf("\n%-4s %-16s %-9s %-7s %-15s %-15s %10s %4s %8s %6s %7s  %s\n", "#", "name", "op",
           "input", "in shape", "out shape", "MACs", "bits", "weights", "bias", "requant", "act");
    for (int l = 0; l < m->n_layers; l++) {
        const q_layer *ly = &m->layers[l];
        stats_layer s;
        stats_of_layer(m, l, &s);
        char in[48], out[48], src[24];
        if (ly->op == Q_OP_ADD)
            snprintf(src, sizeof src, "t%d+t%d", ly->input, ly->input2);
        else
            snprintf(src, sizeof src, "t%d", ly->input);
        char bits[8] = "-";
        if (ly->weight_bits)
            snprintf(bits, sizeof bits, "%d", ly->weight_bits);
        printf("%-4d %-16s %-9s %-7s %-15s %-15s %10lld %4s %8lld %6lld %7lld  %s\n", l,
               ly->name, q_op_names[ly->op], src,
               show_shape(q_model_tensor_shape(m, ly->input), in, sizeof in),
               show_shape(ly->out_shape, out, sizeof out), (long long)s.macs, bits,
               (long long)s.weight_bytes, (long long)s.bias_bytes, (long long)s.requant_bytes,
               q_act_names[ly->act]);
    }
}

/* An average pool of TFLite's kind: the reciprocals the generated C divides with. */
static void print_division(const q_model *m, const q_layer *ly)
{
    int32_t first, n;
    stats_pool_counts(m, ly, &first, &n);
    printf("    no multiplier: the window's sum divided by its count (%d", (int)first);
    if (n > 1)
        printf(" to %d", (int)(first + n - 1));
    printf("), rounded half away from zero;\n    in the generated C floor(n / count) = "
           "(n * recip) >> shift:");
    for (int32_t k = 0; k < n && k < 12; k++) {
        cgen_recip r;
        if (cgen_reciprocal(first + k, &r)) {
            printf(" %d: none (too large)", (int)(first + k));
            break;
        }
        printf("%s%d: %u >> %d%s", k % 4 == 0 ? "\n      " : ", ", (int)(first + k),
               (unsigned)r.recip, r.shift, r.wide ? " (64-bit)" : "");
    }
    printf("%s\n", n > 12 ? ", ..." : "");
}

/* The window of each conv and pool layer beyond kernel and stride's defaults. */
static void print_windows(const q_model *m)
{
    int any = 0;
    for (int l = 0; l < m->n_layers; l++) {
        const q_layer *ly = &m->layers[l];
        const q_window *w = &ly->win;
        if (ly->op != Q_OP_CONV2D && ly->op != Q_OP_DWCONV2D && ly->op != Q_OP_MAXPOOL &&
            ly->op != Q_OP_AVGPOOL)
            continue;
        if (!any)
            printf("\nwindows (kernel, stride, dilation h x w; pad top, bottom, left, right):\n");
        any = 1;
        printf("  %d %s: kernel %dx%d, stride %dx%d, dilation %dx%d, pad [%d, %d, %d, %d]", l,
               ly->name, (int)w->kernel_h, (int)w->kernel_w, (int)w->stride_h, (int)w->stride_w,
               (int)w->dilation_h, (int)w->dilation_w, (int)w->pad_top, (int)w->pad_bottom,
               (int)w->pad_left, (int)w->pad_right);
        if (ly->op == Q_OP_DWCONV2D)
            printf(", channel multiplier %d", (int)ly->multiplier);
        if (ly->op == Q_OP_AVGPOOL)
            printf(q_avgpool_rescales(m, ly) ? ", rescaled" : ", divided by the count");
        printf("\n");
    }
}

/* Per layer: input and output quantization, weight scales and the
 * requantization parameters the generated code uses (from q8_exec). */
static void print_quantization(const q_model *m, const q8_exec *x)
{
    printf("\nquantization (real = scale * (q - zero_point); M = M0 * 2^(shift - 31)):\n");
    for (int l = 0; l < m->n_layers; l++) {
        const q_layer *ly = &m->layers[l];
        q_quant iq = q_model_tensor_quant(m, ly->input);
        int32_t lo, hi;
        q_act_range(ly->act, ly->out_q, &lo, &hi);
        printf("  %d %s: in scale %.9g zp %d", l, ly->name, iq.scale, (int)iq.zero_point);
        if (ly->op == Q_OP_ADD) {
            q_quant i2 = q_model_tensor_quant(m, ly->input2);
            printf(", in2 scale %.9g zp %d", i2.scale, (int)i2.zero_point);
        }
        printf(" -> out scale %.9g zp %d, clamp [%d, %d]\n", ly->out_q.scale,
               (int)ly->out_q.zero_point, (int)lo, (int)hi);
        int32_t oc = q_layer_out_channels(ly);
        if (oc > 0) {
            int nw = ly->per_channel ? (int)oc : 1;
            printf("    weight scales (%s):", ly->per_channel ? "per channel" : "per tensor");
            for (int c = 0; c < nw; c++)
                printf("%s%.6g", c % 8 == 0 ? "\n      " : " ", ly->w_scale[c]);
            printf("\n    M0/shift per channel:");
            const fxp_requant *rq = q8_exec_layer_requant(x, l);
            for (int32_t c = 0; c < oc; c++)
                printf("%s%d/%d", c % 6 == 0 ? "\n      " : " ", (int)rq[c].multiplier,
                       (int)rq[c].shift);
            printf("\n");
        } else if (ly->op == Q_OP_AVGPOOL) {
            const fxp_requant *rq = q8_exec_layer_requant(x, l);
            if (rq)
                printf("    M0/shift: %d/%d  (s_in / (s_out * %d * %d))\n", (int)rq->multiplier,
                       (int)rq->shift, (int)ly->win.kernel_h, (int)ly->win.kernel_w);
            else
                print_division(m, ly);
        } else if (ly->op == Q_OP_SOFTMAX) {
            const int32_t *t = q8_exec_layer_softmax_table(x, l);
            printf("    exp table e[d] = round(2^20 e^(-s_in d)), d = max - x: e[0..3] %d %d %d %d, "
                   "e[255] %d;\n    per row one quotient floor(2^47 / sum e), no divide\n",
                   (int)t[0], (int)t[1], (int)t[2], (int)t[3], (int)t[255]);
        } else if (ly->op == Q_OP_ADD) {
            const q8_add_params *ap = q8_exec_layer_add(x, l);
            printf("    M0/shift: in1 %d/%d, in2 %d/%d, out %d/%d  (inputs << %d)\n",
                   (int)ap->in1_rq.multiplier, (int)ap->in1_rq.shift, (int)ap->in2_rq.multiplier,
                   (int)ap->in2_rq.shift, (int)ap->out_rq.multiplier, (int)ap->out_rq.shift,
                   Q8_ADD_LEFT_SHIFT);
        }
    }
}

static void print_plan(const q_model *m, const plan *p)
{
    printf("\narena plan (verified: no tensor is overwritten while a later step reads it):\n");
    show_plan(stdout, m, p, "  ", "arena");
    printf("  arena %d bytes, lower bound %d bytes (most bytes live at one step%s), %d in-place "
           "add%s, %d conv + pool pair%s fused (the conv output never stored)\n",
           (int)p->arena_size, (int)p->lower_bound,
           p->scratch_size ? ", less what the output buffer holds before the last step" : "",
           p->n_inplace, p->n_inplace == 1 ? "" : "s", p->n_fused, p->n_fused == 1 ? "" : "s");
    if (p->peak_step >= 0)
        printf("  peak: step %d (layer %s)\n", p->peak_step, m->layers[p->peak_step].name);
    if (p->scratch_size)
        printf("  the caller's output buffer (%d bytes) is scratch until the last step: %d bytes "
               "of it used; arena + output buffer %d bytes\n",
               (int)p->t[m->n_layers].size, (int)p->scratch_size,
               (int)(p->arena_size + p->t[m->n_layers].size));
}

int cmd_report(int argc, char **argv)
{
    const char *frozen = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "qatc report: unknown option '%s' (qatc report --help)\n", argv[i]);
            return 2;
        }
        if (frozen) {
            fprintf(stderr, "qatc report: one frozen model only\n");
            return 2;
        }
        frozen = argv[i];
    }
    if (!frozen) {
        fprintf(stderr, "qatc report: which frozen model? (qatc report --help)\n");
        return 2;
    }
    qerr e = {{0}};
    q_model m;
    if (frozen_read(frozen, &m, &e)) {
        fprintf(stderr, "qatc report: %s\n", e.msg);
        return 1;
    }
    plan p;
    q8_exec *x = NULL;
    if (plan_build(&m, &p, &e) || !(x = q8_exec_new(&m, &e))) {
        fprintf(stderr, "qatc report: %s: %s\n", frozen, e.msg);
        plan_free(&p);
        q_model_free(&m);
        return 1;
    }
    char sh[48];
    q_shape out = m.layers[m.n_layers - 1].out_shape;
    q_quant oq = m.layers[m.n_layers - 1].out_q;
    printf("model %s (%s): %d layers\n", m.name, frozen, m.n_layers);
    printf("input  %s int8, scale %.9g, zero-point %d\n", show_shape(m.in_shape, sh, sizeof sh),
           m.in_q.scale, (int)m.in_q.zero_point);
    printf("output %s int8, scale %.9g, zero-point %d\n", show_shape(out, sh, sizeof sh),
           oq.scale, (int)oq.zero_point);
    print_layers(&m);
    print_windows(&m);
    print_quantization(&m, x);
    print_plan(&m, &p);

    stats_layer t;
    stats_of_model(&m, &t);
    long long flash = t.weight_bytes + t.bias_bytes + t.requant_bytes + t.table_bytes;
    printf("\ntotals: %lld MACs per run; flash %lld bytes of constant data (weights %lld, "
           "biases %lld, multipliers+shifts %lld",
           (long long)t.macs, flash, (long long)t.weight_bytes, (long long)t.bias_bytes,
           (long long)t.requant_bytes);
    if (t.table_bytes)
        printf(", tables %lld", (long long)t.table_bytes);
    printf("); arena %d bytes (lower bound %d)\n", (int)p.arena_size, (int)p.lower_bound);
    q8_exec_free(x);
    plan_free(&p);
    q_model_free(&m);
    return 0;
}
