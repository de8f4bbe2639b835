/* train — float pretraining, PTQ, QAT with the freeze schedule, int8
 * evaluation, checkpoints and resume (see train.h). */
#include "train.h"

#include <math.h>
#include <stdarg.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attrib.h"
#include "augment.h"
#include "cfgcanon.h"
#include "checkpoint.h"
#include "config.h"
#include "convert.h"
#include "dataset.h"
#include "frozen_io.h"
#include "gemm.h"
#include "metric.h"
#include "net.h"
#include "optim.h"
#include "q8_exec.h"
#include "qfile.h"
#include "rng.h"

#define CSV_ROW_MAX 200
/* Salt of the validation split's seed: its rng is not the one that draws the
 * weights and the epochs' orders. */
#define TRAIN_SPLIT_STREAM 0x76616c6964617465ull /* "validate" */

typedef struct {
    const train_opts *o;
    cfg_config cfg;
    net n;
    optim opt;
    dataset train, val, eval; /* val: data.validation (n = 0 without one) */
    dataset *choose;          /* the set that chooses the kept model and measures the
                                 criterion: &val, or &eval without a validation set */
    int32_t *order;           /* (train.n) the epoch's visiting order */
    int32_t *set_order;       /* (max(val.n, eval.n)) identity: the evaluation order */
    int32_t *labels;          /* (batch_cap) */
    uint8_t *labels8;         /* (batch_cap) */
    float *targets;           /* (batch_cap, output) a batch's float targets (loss: mse) */
    float *aug_scratch;       /* (input) one input, for augment */
    rng_state aug_rng;        /* data.augment's draws: seeded from h.rng at the epoch's start */
    double *score;            /* (max(val.n, eval.n)) per-example mse of the last eval_net */
    uint8_t *pred_net;        /* (eval.n) top-1 on the eval set of the last eval_net */
    uint8_t *pred_int8;       /* (eval.n) top-1 on the eval set of the last int8 evaluation */
    double agreement;         /* last QAT epoch: share of equal top-1, net vs int8 */
    double min_agreement;     /* the lowest over this run's QAT epochs */
    int64_t batches_run;      /* training batches in this run (stop_after) */
    int wrote_model;          /* this run wrote path_model */
    char *csv;                /* the log so far, CSV_ROW_MAX per row */
    size_t csv_cap;
    ckpt_header h;
    cfgcanon canon;           /* the config's settings, for --resume */
    char path_model[4200], path_ckpt[4200], path_csv[4200], path_attrib[4200];
    char path_trial[4200];    /* mixed_precision: a trial's best model before it is kept */
    const char *write_model;  /* where convert_eval writes the best model: path_model,
                                 or path_trial during tuning */
    int tuning;               /* mixed_precision trials are running: no checkpoints */
    char label[16];           /* the log's phase for QAT epochs: "qat", or "trial3" */
    double run_start;         /* wall clock of this run */
    double elapsed_at_start;
    int tty;
    double last_progress;
} trainer;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the whole process (every thread). */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double elapsed(const trainer *t)
{
    return t->elapsed_at_start + (now_s() - t->run_start);
}

/* exit_policy.timeout: the time since quantization started (PTQ, then QAT),
 * over all runs of a resumed schedule, is up. */
static int timed_out(const trainer *t)
{
    return t->cfg.timeout_s > 0 && t->h.ptq_done &&
           elapsed(t) - t->h.quant_start >= t->cfg.timeout_s;
}

static const cfg_phase *phase_cfg(const trainer *t, int phase)
{
    return phase == CKPT_PHASE_PRETRAIN ? &t->cfg.pretrain : &t->cfg.qat;
}

static const char *phase_name(int phase)
{
    return phase == CKPT_PHASE_PRETRAIN ? "float" : "qat";
}

static void say(const trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const trainer *t, const char *fmt, ...)
{
    if (t->o->quiet)
        return;
    if (t->tty)
        fputs("\r\033[K", stderr);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

/* ---- checkpoint ----------------------------------------------------------- */

/* What the checkpoint holds besides t->h. */
static ckpt_parts ckpt_parts_of(trainer *t)
{
    const cfg_config *c = &t->cfg;
    return (ckpt_parts){&t->n,
                        &t->opt,
                        t->csv,
                        t->csv_cap,
                        &t->canon,
                        c->config_path,
                        {c->pretrain.epochs, c->qat.epochs},
                        {dataset_batches(&t->train, c->pretrain.batch, c->pretrain.iterations),
                         dataset_batches(&t->train, c->qat.batch, c->qat.iterations)}};
}

static int checkpoint(trainer *t, qerr *e)
{
    if (t->tuning) /* the last checkpoint (end of pretraining) is where a resumed run starts */
        return 0;
    ckpt_parts p = ckpt_parts_of(t);
    t->h.elapsed = elapsed(t);
    return ckpt_write(t->path_ckpt, &t->h, &p, e);
}

/* Builds the optimizer of a phase (fresh state). */
static int build_optim(trainer *t, int phase, qerr *e)
{
    const cfg_optimizer *c = &phase_cfg(t, phase)->optimizer;
    optim_config oc = {
        .type = c->type == CFG_ADAM ? OPTIM_ADAM : OPTIM_SGD,
        .momentum = (float)c->momentum,
        .nesterov = c->nesterov,
        .weight_decay = (float)c->weight_decay,
        .beta1 = (float)c->beta1,
        .beta2 = (float)c->beta2,
        .eps = (float)c->eps,
    };
    optim_free(&t->opt);
    return optim_build(&t->opt, &oc, t->n.n_params, e);
}

/* --resume: the state of the checkpoint, with the optimizer of its phase. */
static int resume(trainer *t, qerr *e)
{
    ckpt_parts p = ckpt_parts_of(t);
    ckpt_reader r;
    if (ckpt_read_begin(&r, t->path_ckpt, &p, &t->h, e))
        return -1;
    int phase = t->h.phase == CKPT_PHASE_PRETRAIN ? CKPT_PHASE_PRETRAIN : CKPT_PHASE_QAT;
    if (build_optim(t, phase, e)) {
        ckpt_read_abort(&r);
        return -1;
    }
    if (ckpt_read_end(&r, &t->h, &p, e))
        return -1;
    t->elapsed_at_start = t->h.elapsed;
    return 0;
}

/* Whether a validation set chooses (else the eval set does). */
static int have_validation(const trainer *t)
{
    return t->choose == &t->val;
}

static int csv_write(trainer *t, qerr *e)
{
    qfile q;
    if (qfile_begin(&q, t->path_csv, e))
        return -1;
    const char *m = metric_names[t->cfg.metric];
    fprintf(q.f, "epoch,phase,loss,float_%s,int8_%s,", m, m);
    if (have_validation(t))
        fprintf(q.f, "val_float_%s,val_int8_%s,", m, m);
    fputs("lr,seconds\n", q.f);
    fputs(t->csv, q.f);
    return qfile_commit(&q, e);
}

/* A metric's CSV column: top1 in percent, mse and auc as they are; empty for v < 0. */
static void csv_value(const trainer *t, double v, char *buf, size_t cap)
{
    if (v < 0)
        buf[0] = '\0';
    else if (t->cfg.metric == METRIC_TOP1)
        snprintf(buf, cap, "%.4f", 100.0 * v);
    else if (t->cfg.metric == METRIC_MSE)
        snprintf(buf, cap, "%.6g", v);
    else
        snprintf(buf, cap, "%.6f", v);
}

/* What one epoch measured: the float (or fake-quant) and the int8 model on
 * the eval set and, with a validation set, on it; < 0 = not measured. */
typedef struct {
    double eval_float, eval_int8, val_float, val_int8;
} measured;

/* Appends one row. */
static void csv_row(trainer *t, int epoch, const char *phase, double loss, measured m,
                    double lr, double seconds)
{
    char fa[32], ia[32], vf[32], vi[32], ls[32] = "", val[80] = "";
    csv_value(t, m.eval_float, fa, sizeof fa);
    csv_value(t, m.eval_int8, ia, sizeof ia);
    if (have_validation(t)) {
        csv_value(t, m.val_float, vf, sizeof vf);
        csv_value(t, m.val_int8, vi, sizeof vi);
        snprintf(val, sizeof val, "%s,%s,", vf, vi);
    }
    if (loss >= 0)
        snprintf(ls, sizeof ls, "%.6f", loss);
    size_t len = strlen(t->csv);
    if (len + CSV_ROW_MAX < t->csv_cap)
        snprintf(t->csv + len, CSV_ROW_MAX, "%d,%s,%s,%s,%s,%s%.6g,%.2f\n", epoch, phase, ls,
                 fa, ia, val, lr, seconds);
}

/* "top1 91.23%", "mse 0.0123457", "auc 0.9123": a value with its metric's name. */
static const char *named(const trainer *t, double v, char *buf, size_t cap)
{
    char num[48];
    snprintf(buf, cap, "%s %s", metric_names[t->cfg.metric],
             metric_format(t->cfg.metric, v, num, sizeof num));
    return buf;
}

/* ---- evaluation ----------------------------------------------------------- */

/* The metric of the net (float or fake-quant, running BN statistics) on ds,
 * batch by batch in file order; pred (ds->n, may be NULL) receives top1's
 * predictions. Returns 0, or -1 with e set (memory for the AUC). */
static int eval_net(trainer *t, const dataset *ds, uint8_t *pred, double *value, qerr *e)
{
    net *n = &t->n;
    metric_kind k = t->cfg.metric;
    int32_t cap = n->batch_cap, out = n->n_classes;
    int32_t nb = dataset_batches(ds, cap, 0);
    int64_t ok = 0;
    for (int32_t b = 0; b < nb; b++) {
        int32_t cnt = dataset_batch_float(ds, t->set_order, b, cap, net_input(n),
                                          k == METRIC_TOP1 ? t->labels8 : NULL);
        const float *target = net_input(n); /* an autoencoder's target: its input */
        if (ds->targets) {
            dataset_batch_targets(ds, t->set_order, b, cap, t->targets);
            target = t->targets;
        }
        const float *y = net_forward(n, cnt, 0);
        for (int32_t i = 0; i < cnt; i++) {
            size_t at = (size_t)b * (size_t)cap + (size_t)i;
            if (k == METRIC_TOP1) {
                int top = ly_argmax(y + (size_t)i * (size_t)out, out);
                if (pred)
                    pred[at] = (uint8_t)top;
                ok += top == t->labels8[i];
            } else {
                t->score[at] = metric_example_mse(y + (size_t)i * (size_t)out,
                                                  target + (size_t)i * (size_t)out, out);
            }
        }
    }
    return metric_value(k, ds->n, ok, t->score, ds->labels, value, e);
}

/* The net on the choosing set (*chosen) and on the eval set (*reported; the
 * same value without a validation set); top1's eval predictions to pred_net. */
static int judge_net(trainer *t, double *chosen, double *reported, qerr *e)
{
    if (eval_net(t, &t->eval, t->pred_net, reported, e))
        return -1;
    if (!have_validation(t)) {
        *chosen = *reported;
        return 0;
    }
    return eval_net(t, t->choose, NULL, chosen, e);
}

/* The int8 model with the reference kernels (metric_int8: one executor per
 * thread), likewise; top1's eval predictions to pred_int8. */
static int judge_int8(trainer *t, const q_model *m, double *chosen, double *reported, qerr *e)
{
    metric_kind k = t->cfg.metric;
    if (metric_int8(m, &t->eval, k, k == METRIC_TOP1 ? t->pred_int8 : NULL, NULL, NULL,
                    reported, e))
        return -1;
    if (!have_validation(t)) {
        *chosen = *reported;
        return 0;
    }
    return metric_int8(m, t->choose, k, NULL, NULL, NULL, chosen, e);
}

/* ---- progress ------------------------------------------------------------- */

static void fmt_eta(double s, char *buf, size_t n)
{
    if (!(s >= 0) || s > 1e7)
        snprintf(buf, n, "?");
    else if (s >= 3600)
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

static void progress(trainer *t, int phase, int epoch, int32_t b, int32_t nb, double loss,
                     double ips, int force)
{
    if (t->o->quiet || !t->tty)
        return;
    double now = now_s();
    if (!force && now - t->last_progress < 0.25)
        return;
    t->last_progress = now;
    const cfg_phase *pc = phase_cfg(t, phase);
    double left = (double)(nb - b) + (double)(pc->epochs - epoch - 1) * nb;
    char eta[32];
    fmt_eta(ips > 0 ? left * pc->batch / ips : -1, eta, sizeof eta);
    fprintf(stderr, "\r\033[K%s epoch %d/%d batch %d/%d loss %.4f %.0f img/s ETA %s",
            phase_name(phase), epoch + 1, pc->epochs, b, nb, loss, ips, eta);
    fflush(stderr);
}

/* ---- one epoch of training ------------------------------------------------ */

enum { EPOCH_DONE, EPOCH_INTERRUPTED, EPOCH_TIMEOUT };

/* The learning-rate schedule of a phase with nb batches per epoch. */
static optim_lr_schedule lr_schedule(const cfg_phase *pc, int32_t nb)
{
    optim_lr_schedule s = {
        .type = pc->lr_schedule == CFG_LR_COSINE ? OPTIM_LR_COSINE
                : pc->lr_schedule == CFG_LR_STEP ? OPTIM_LR_STEP : OPTIM_LR_CONSTANT,
        .base = (float)pc->optimizer.lr,
        .total_iters = (int64_t)pc->epochs * nb,
        .step_iters = (int64_t)(pc->step_epochs > 0 ? pc->step_epochs : 1) * nb,
        .gamma = (float)pc->step_gamma,
        .eta_min = 0.0f,
    };
    return s;
}

static int run_epoch(trainer *t, int phase, qerr *e)
{
    const cfg_phase *pc = phase_cfg(t, phase);
    ckpt_header *h = &t->h;
    int32_t nb = dataset_batches(&t->train, pc->batch, pc->iterations);
    if (h->batch == 0) {
        h->rng_epoch = h->rng;
        h->loss_sum = 0, h->loss_images = 0, h->epoch_seconds = 0;
    }
    rng_state r = h->rng_epoch; /* the order depends only on the state at the epoch's start */
    dataset_epoch_order(&t->train, t->order, &r);
    const aug_config *aug = &t->cfg.augment;
    int32_t ih = t->train.h, iw = t->train.w, ic = t->train.c;
    if (aug_enabled(aug)) { /* its own rng, seeded from the epoch's; replayed to h->batch */
        rng_seed(&t->aug_rng, rng_u64(&r));
        int64_t done = (int64_t)h->batch * pc->batch;
        aug_skip(aug, &t->aug_rng, done < t->train.n ? done : t->train.n, ih, iw);
    }
    h->rng = r;
    optim_lr_schedule s = lr_schedule(pc, nb);
    double t0 = now_s();
    double ips = 0;
    for (int32_t b = h->batch; b < nb; b++) {
        double tb = now_s(), cb = cpu_s();
        int mse = t->cfg.loss == CFG_LOSS_MSE;
        int32_t cnt = dataset_batch_float(&t->train, t->order, b, pc->batch, net_input(&t->n),
                                          mse ? NULL : t->labels8);
        if (aug_enabled(aug))
            aug_batch(aug, &t->aug_rng, net_input(&t->n), cnt, ih, iw, ic, t->aug_scratch);
        const float *target = net_input(&t->n); /* target: input, after augmentation */
        if (t->train.targets) {
            dataset_batch_targets(&t->train, t->order, b, pc->batch, t->targets);
            target = t->targets;
        }
        float lr = optim_lr_at(&s, (int64_t)h->epoch * nb + b);
        if (cnt >= 2) { /* batch norm needs two samples */
            for (int32_t i = 0; i < cnt && !mse; i++)
                t->labels[i] = t->labels8[i];
            net_forward(&t->n, cnt, 1);
            net_zero_grad(&t->n);
            float loss = mse ? net_mse_backward(&t->n, target, 1)
                             : net_loss_backward(&t->n, t->labels, 1);
            if (!isfinite(loss)) {
                int have = access(t->path_ckpt, F_OK) == 0;
                return qerr_set(e,
                                "%s: %s epoch %d batch %d: the loss is %s (lr %g); stopped. %s%s",
                                t->cfg.config_path, phase_name(phase), h->epoch, b,
                                isnan(loss) ? "NaN" : "infinite", (double)lr,
                                have ? "The last good checkpoint is " : "No checkpoint yet",
                                have ? t->path_ckpt : " (it diverged in the first epoch)");
            }
            optim_step(&t->opt, t->n.params, t->n.grads, lr);
            h->loss_sum += (double)loss * cnt;
            h->loss_images += cnt;
            h->images[phase == CKPT_PHASE_PRETRAIN ? 0 : 1] += cnt;
        }
        double dt = now_s() - tb;
        h->train_seconds[phase == CKPT_PHASE_PRETRAIN ? 0 : 1] += dt;
        h->train_cpu[phase == CKPT_PHASE_PRETRAIN ? 0 : 1] += cpu_s() - cb;
        ips = ips == 0 ? cnt / dt : 0.9 * ips + 0.1 * cnt / dt;
        h->batch = b + 1;
        progress(t, phase, h->epoch, b + 1, nb,
                 h->loss_images ? h->loss_sum / (double)h->loss_images : 0, ips, b + 1 == nb);
        t->batches_run++;
        if ((t->o->interrupt && *t->o->interrupt) ||
            (t->o->stop_after > 0 && t->batches_run >= t->o->stop_after)) {
            h->epoch_seconds += now_s() - t0;
            return EPOCH_INTERRUPTED;
        }
        if (phase == CKPT_PHASE_QAT && timed_out(t) && b + 1 < nb) {
            h->timed_out = 1;
            break;
        }
    }
    h->epoch_seconds += now_s() - t0;
    return h->timed_out ? EPOCH_TIMEOUT : EPOCH_DONE;
}

/* ---- quantization steps ---------------------------------------------------- */

/* Calibrates the observers for PTQ: float forward (no fake quantization), BN
 * on running statistics, calibration_batches batches of training data in
 * file order. Leaves the net in QAT mode with the observers frozen. */
static void calibrate(trainer *t)
{
    net *n = &t->n;
    net_set_qat(n, 1);
    net_set_bn_frozen(n, 1);
    net_set_fake_quant(n, 0, 0);
    int32_t batch = n->batch_cap;
    int32_t nb = dataset_batches(&t->train, batch, t->cfg.calibration_batches);
    dataset_epoch_order(&t->train, t->order, NULL);
    for (int32_t b = 0; b < nb; b++) {
        int32_t cnt = dataset_batch_float(&t->train, t->order, b, batch, net_input(n), NULL);
        net_forward(n, cnt, 1);
    }
    net_set_fake_quant(n, t->cfg.fake_quant_weights, t->cfg.fake_quant_acts);
    net_set_observers(n, 0);
}

/* Converts the net and evaluates the int8 model on the choosing set (*acc)
 * and the eval set (*reported); writes it as the result when it is the best
 * so far on the choosing set (or when force). */
static int convert_eval(trainer *t, int epoch, double *acc, double *reported, int force,
                        qerr *e)
{
    q_model m;
    convert_stats st;
    if (convert_net(&t->n, &t->cfg, &m, &st, e)) {
        /* Weights or scales out of range after an epoch: most likely diverged. */
        char at[48];
        if (epoch < 0)
            snprintf(at, sizeof at, "post-training quantization");
        else
            snprintf(at, sizeof at, "qat epoch %d", epoch);
        int have = access(t->path_ckpt, F_OK) == 0;
        return qerr_set(e, "%s (converting to int8 after %s; if training diverged, lower the "
                           "learning rate. %s%s)",
                        e->msg, at, have ? "The last good checkpoint is " : "No checkpoint yet",
                        have ? t->path_ckpt : "");
    }
    if (st.saturated_biases)
        say(t, "note: %d int32 biases saturated at the accumulator bound\n",
            st.saturated_biases);
    if (st.clamped_weights)
        say(t, "note: %d weights clamped to their range (+-127, or +-7 at 4 bits: they grew "
               "past their frozen scale)\n", st.clamped_weights);
    int rc = judge_int8(t, &m, acc, reported, e);
    if (rc == 0 &&
        (force || !t->h.have_best || metric_better(t->cfg.metric, *acc, t->h.best_acc))) {
        rc = frozen_write(t->write_model, &m, e);
        if (rc == 0) {
            t->wrote_model = 1;
            t->h.have_best = 1;
            t->h.best_acc = *acc;
            t->h.best_epoch = epoch;
        }
    }
    q_model_free(&m);
    return rc;
}

/* ---- attribution ----------------------------------------------------------- */

/* The set that chooses, for messages: "the 500 validation inputs". */
static const char *chooser(const trainer *t, char *buf, size_t cap)
{
    snprintf(buf, cap, "the %d %s inputs", (int)t->choose->n,
             have_validation(t) ? "validation" : "eval");
    return buf;
}

static int attrib_eval(void *ctx, double *value, qerr *e)
{
    trainer *t = ctx;
    return eval_net(t, t->choose, NULL, value, e);
}

/* The rows of an earlier run's NAME.attribution.csv that start with
 * "ptq," (a resumed run keeps them); "" when there is no such file. */
static char *earlier_ptq_rows(const trainer *t)
{
    FILE *f = fopen(t->path_attrib, "r");
    char line[512];
    size_t len = 0, cap = 1;
    char *out = calloc(1, 1);
    while (f && out && fgets(line, sizeof line, f)) {
        if (strncmp(line, "ptq,", 4) != 0)
            continue;
        size_t n = strlen(line);
        char *grown = realloc(out, cap + n);
        if (!grown) {
            free(out);
            out = NULL;
            break;
        }
        out = grown;
        memcpy(out + len, line, n + 1);
        len += n, cap += n;
    }
    if (f)
        fclose(f);
    return out;
}

/* Writes NAME.attribution.csv with tab as stage "ptq" or "end" (at "end"
 * after the file's "ptq" rows). */
static int attribution_csv(trainer *t, const attrib_table *tab, const char *stage, qerr *e)
{
    char *kept = strcmp(stage, "ptq") ? earlier_ptq_rows(t) : calloc(1, 1);
    if (!kept)
        return qerr_set(e, "train: out of memory");
    qfile q;
    if (qfile_begin(&q, t->path_attrib, e)) {
        free(kept);
        return -1;
    }
    attrib_csv_header(tab, q.f);
    fputs(kept, q.f);
    free(kept);
    attrib_csv_rows(tab, stage, q.f);
    return qfile_commit(&q, e);
}

/* Measures the attribution table of stage "ptq" or "end" (attrib.h), prints
 * it and writes NAME.attribution.csv. */
static int attribution(trainer *t, const char *stage, qerr *e)
{
    attrib_table tab;
    if (attrib_measure(&t->n, &t->cfg, attrib_eval, t, &tab, e))
        return -1;
    char who[64];
    if (t->tty && !t->o->quiet)
        fputs("\r\033[K", stderr);
    attrib_print(&tab, strcmp(stage, "ptq") ? "at the end" : "after PTQ calibration",
                 chooser(t, who, sizeof who), stdout);
    fflush(stdout);
    return attribution_csv(t, &tab, stage, e);
}

/* PTQ of the current float net, measured (and the result when ptq_only).
 * The observers are reset afterwards for QAT. */
static int ptq(trainer *t, int ptq_only, qerr *e)
{
    double t0 = now_s(), acc, rep;
    calibrate(t);
    if (convert_eval(t, -1, &acc, &rep, 0, e))
        return -1;
    t->h.ptq_acc = acc;
    t->h.ptq_done = 1;
    double secs = now_s() - t0;
    csv_row(t, 0, "ptq", -1, (measured){-1, rep, -1, acc}, 0, secs);
    char a[48], b[48], also[80] = "";
    if (have_validation(t))
        snprintf(also, sizeof also, "; eval: int8 %s", named(t, rep, b, sizeof b));
    say(t, "ptq: int8 %s%s (calibrated on %d batches) %.1f s\n", named(t, acc, a, sizeof a),
        also, (int)t->cfg.calibration_batches, secs);
    if (t->o->attribution && !t->tuning && attribution(t, "ptq", e))
        return -1;
    if (!ptq_only) {
        net_set_qat(&t->n, 1); /* fresh observers for QAT, BN not frozen */
        net_set_fake_quant(&t->n, t->cfg.fake_quant_weights, t->cfg.fake_quant_acts);
    }
    return 0;
}

void train_qat_flags(const cfg_config *c, int epoch, int *bn_frozen, int *observers)
{
    *bn_frozen = epoch >= c->freeze_bn_after;
    *observers = !(epoch >= c->disable_observer_after);
}

/* Puts the net in the QAT schedule state of epoch e. */
static void qat_schedule(trainer *t, int e)
{
    int bn_frozen, observers;
    train_qat_flags(&t->cfg, e, &bn_frozen, &observers);
    net_set_bn_frozen(&t->n, bn_frozen);
    net_set_observers(&t->n, observers);
}

/* ---- SQNR ----------------------------------------------------------------- */

/* Per-layer SQNR between the float net (fake quantization off, running BN
 * statistics, the BN-folded weights unrounded) and the int8 model on the first
 * batch of eval data. */
static int print_sqnr(trainer *t, qerr *e)
{
    net *n = &t->n;
    q_model m;
    if (convert_net(n, &t->cfg, &m, NULL, e))
        return -1;
    q8_exec *x = q8_exec_new(&m, e);
    if (!x) {
        q_model_free(&m);
        return -1;
    }
    int fw = n->fq_weights, fa = n->fq_acts;
    net_set_fake_quant(n, 0, 0);
    int32_t cnt = dataset_batch_float(&t->eval, t->set_order, 0, n->batch_cap, net_input(n),
                                      NULL);
    net_forward(n, cnt, 0);
    net_set_fake_quant(n, fw, fa);
    double sig[NET_MAX_TENSORS] = {0}, noise[NET_MAX_TENSORS] = {0};
    int8_t *out = malloc((size_t)n->n_classes);
    int8_t *in = malloc((size_t)dataset_image_size(&t->eval));
    for (int32_t i = 0; i < cnt && out && in; i++) {
        dataset_batch_int8(&t->eval, t->set_order, i, 1, in, NULL); /* input i */
        q8_exec_run(x, in, out);
        for (int l = 0; l < n->n_layers; l++) {
            int tt = l + 1;
            int32_t sz = q_shape_size(n->tshape[tt]);
            q_quant q = q_model_tensor_quant(&m, tt);
            const int8_t *qi = q8_exec_tensor(x, tt);
            const float *f = n->t[tt] + (size_t)i * (size_t)sz;
            for (int32_t j = 0; j < sz; j++) {
                double deq = q.scale * (qi[j] - q.zero_point);
                sig[tt] += (double)f[j] * f[j];
                noise[tt] += (f[j] - deq) * (f[j] - deq);
            }
        }
    }
    free(out);
    free(in);
    printf("per-layer SQNR, float (fake quantization off) vs int8, %d eval images:\n", cnt);
    printf("  %-16s %-9s %10s\n", "layer", "op", "SQNR dB");
    for (int l = 0; l < n->n_layers; l++) {
        double db = noise[l + 1] > 0 ? 10.0 * log10(sig[l + 1] / noise[l + 1]) : INFINITY;
        printf("  %-16s %-9s %10.2f\n", m.layers[l].name, q_op_names[m.layers[l].op], db);
    }
    q8_exec_free(x);
    q_model_free(&m);
    return 0;
}

/* ---- the schedule --------------------------------------------------------- */

/* The kept model (NAME.frozen.yaml) on the eval set, read back: with a
 * validation set it chose without seeing the eval set. */
static int kept_on_eval(trainer *t, double *value, qerr *e)
{
    q_model m;
    if (frozen_read(t->path_model, &m, e))
        return -1;
    int rc = metric_int8(&m, &t->eval, t->cfg.metric, NULL, NULL, NULL, value, e);
    q_model_free(&m);
    return rc;
}

static int end_of_run(trainer *t, train_result *r, qerr *e)
{
    ckpt_header *h = &t->h;
    metric_kind k = t->cfg.metric;
    double target = metric_bound(k, h->float_acc, t->cfg.criterion_relative, t->cfg.criterion);
    int met = h->have_best && metric_meets(k, h->best_acc, target);
    double on_eval = h->best_acc;
    if (have_validation(t) && h->have_best && kept_on_eval(t, &on_eval, e))
        return -1;
    if (r) {
        r->metric = k;
        r->float_acc = h->float_acc;
        r->ptq_acc = h->ptq_done ? h->ptq_acc : -1;
        r->best_acc = h->best_acc;
        r->best_eval = on_eval;
        r->best_epoch = h->best_epoch;
        r->criterion_met = met;
        r->timed_out = h->timed_out;
        r->agreement = t->agreement;
        r->min_agreement = t->min_agreement;
    }
    /* A resumed run that found no better model (or resumed a finished one)
     * writes none: the one an earlier run wrote must still be there (the
     * checkpoint holds the last epoch's net, not necessarily the best). */
    if (!t->wrote_model && access(t->path_model, F_OK) != 0)
        return qerr_set(e, "%s: missing: the best model was written by an earlier run and is "
                           "not in %s; train again without --resume", t->path_model,
                        t->path_ckpt);
    if (t->o->sqnr && print_sqnr(t, e))
        return -1;
    if (t->o->attribution && t->cfg.qat.epochs > 0 && t->cfg.strategy == CFG_STRATEGY_BASIC &&
        attribution(t, "end", e))
        return -1;
    if (!t->o->quiet) {
        for (int p = 0; p < 2; p++)
            if (h->images[p] > 0)
                printf("%s training: %lld images in %.1f s, %.0f images/s "
                       "(%.0f images per CPU-second)\n",
                       p == 0 ? "float" : "qat", (long long)h->images[p], h->train_seconds[p],
                       (double)h->images[p] / h->train_seconds[p],
                       (double)h->images[p] / h->train_cpu[p]);
        /* top1 as it always read ("float 91.00%"), the others with their name */
        const char *name = k == METRIC_TOP1 ? "" : metric_names[k];
        const char *sp = k == METRIC_TOP1 ? "" : " ";
        char v[48], who[64];
        printf("float %s%s%s", name, sp, metric_format(k, h->float_acc, v, sizeof v));
        if (h->ptq_done)
            printf(", ptq int8 %s%s%s", name, sp, metric_format(k, h->ptq_acc, v, sizeof v));
        if (h->best_epoch >= 0) /* epochs counted from 1, as the epoch lines count them */
            printf(", best int8 %s%s%s (qat epoch %d)", name, sp,
                   metric_format(k, h->best_acc, v, sizeof v), h->best_epoch + 1);
        printf(" on %s%s\n", chooser(t, who, sizeof who),
               h->best_epoch >= 0 ? "" : ": the PTQ model is the result");
        if (have_validation(t) && h->have_best)
            printf("the kept model on the %d eval inputs: int8 %s\n", (int)t->eval.n,
                   named(t, on_eval, v, sizeof v));
        printf("accuracy criterion %s %g: int8 %s%s%s %s: %s%s\n",
               t->cfg.criterion_relative ? "relative" : "absolute", t->cfg.criterion, name, sp,
               metric_higher_is_better(k) ? ">=" : "<=", metric_format(k, target, v, sizeof v),
               met ? "met" : "NOT met", h->timed_out ? " (stopped by exit_policy.timeout)" : "");
        if (t->wrote_model)
            printf("wrote %s\n", t->path_model);
        else
            printf("kept %s (the best model, written by an earlier run)\n", t->path_model);
    }
    return 0;
}

/* "fake-quant top1 91.00%, int8 top1 90.50% (best)" for one set. */
static void epoch_pair(const trainer *t, const char *net_name, double fa, double ia, int best,
                       char *buf, size_t cap)
{
    char a[64], b[64];
    if (ia < 0)
        snprintf(buf, cap, "%s %s", net_name, named(t, fa, a, sizeof a));
    else
        snprintf(buf, cap, "%s %s, int8 %s%s", net_name, named(t, fa, a, sizeof a),
                 named(t, ia, b, sizeof b), best ? " (best)" : "");
}

/* End of an epoch: schedule switches (QAT), evaluation, log, checkpoint. */
static int end_epoch(trainer *t, int phase, qerr *e)
{
    ckpt_header *h = &t->h;
    const cfg_phase *pc = phase_cfg(t, phase);
    double t0 = now_s();
    double loss = h->loss_images ? h->loss_sum / (double)h->loss_images : -1;
    int32_t nb = dataset_batches(&t->train, pc->batch, pc->iterations);
    optim_lr_schedule s = lr_schedule(pc, nb);
    double lr_last = optim_lr_at(&s, (int64_t)h->epoch * nb + nb - 1);
    measured m = {-1, -1, -1, -1};
    double fa, ia = -1;
    int best = 0;
    char extra[96] = "";
    if (phase == CKPT_PHASE_QAT) {
        qat_schedule(t, h->epoch + 1); /* the seed switches before it evaluates */
        if (judge_net(t, &fa, &m.eval_float, e))
            return -1;
        best = !h->have_best;
        double before = h->best_acc;
        if (convert_eval(t, h->epoch, &ia, &m.eval_int8, 0, e))
            return -1;
        best = best || metric_better(t->cfg.metric, ia, before);
        if (t->cfg.metric == METRIC_TOP1) {
            int64_t same = 0;
            for (int32_t i = 0; i < t->eval.n; i++)
                same += t->pred_net[i] == t->pred_int8[i];
            t->agreement = (double)same / (double)t->eval.n;
            if (t->agreement < t->min_agreement)
                t->min_agreement = t->agreement;
            snprintf(extra, sizeof extra, ", top-1 agreement %.2f%%", 100 * t->agreement);
        }
        size_t len = strlen(extra);
        snprintf(extra + len, sizeof extra - len, "%s%s", t->n.bn_frozen ? ", bn frozen" : "",
                 t->n.observers ? "" : ", observers off");
    } else {
        if (judge_net(t, &fa, &m.eval_float, e))
            return -1;
        h->float_acc = fa, h->have_float = 1;
    }
    if (have_validation(t))
        m.val_float = fa, m.val_int8 = ia;
    h->epoch_seconds += now_s() - t0;
    csv_row(t, h->epoch, phase == CKPT_PHASE_QAT ? t->label : phase_name(phase), loss, m,
            lr_last, h->epoch_seconds);
    const char *net_name = phase == CKPT_PHASE_QAT ? "fake-quant" : "float";
    char sets[320], chosen[144], reported[144];
    epoch_pair(t, net_name, fa, ia, best, chosen, sizeof chosen);
    if (have_validation(t)) {
        epoch_pair(t, net_name, m.eval_float, m.eval_int8, 0, reported, sizeof reported);
        snprintf(sets, sizeof sets, "validation: %s; eval: %s", chosen, reported);
    } else {
        snprintf(sets, sizeof sets, "%s", chosen);
    }
    say(t, "%s epoch %d/%d: loss %.4f, %s%s, %.1f s\n",
        phase == CKPT_PHASE_QAT ? t->label : phase_name(phase), h->epoch + 1,
        pc->epochs, loss, sets, extra, h->epoch_seconds);
    h->epoch++;
    h->batch = 0;
    if (phase == CKPT_PHASE_QAT && (h->epoch >= pc->epochs || h->timed_out))
        h->phase = CKPT_PHASE_DONE;
    return csv_write(t, e) || checkpoint(t, e) ? -1 : 0;
}

/* Start of quantization: the float baseline, PTQ (the result when there is no
 * QAT or time ran out), then the QAT schedule's first state. */
static int start_quantization(trainer *t, qerr *e)
{
    ckpt_header *h = &t->h;
    if (!h->have_float) {
        double reported;
        if (judge_net(t, &h->float_acc, &reported, e))
            return -1;
        h->have_float = 1;
        char v[64], who[64];
        say(t, "float model: %s on %s\n", named(t, h->float_acc, v, sizeof v),
            chooser(t, who, sizeof who));
    }
    int ptq_only = t->cfg.qat.epochs == 0;
    h->quant_start = elapsed(t);
    if (ptq(t, ptq_only, e))
        return -1;
    if (ptq_only)
        h->phase = CKPT_PHASE_DONE;
    else
        qat_schedule(t, 0);
    return csv_write(t, e) || checkpoint(t, e) ? -1 : 0;
}

/* ---- mixed-precision tuning (tuning.strategy: mixed_precision) ------------ */

/* One candidate: the weight width of every layer and what it gave. */
typedef struct {
    int bits[CFG_MAX_LAYERS];
    int64_t bytes;            /* weight bytes: 8-bit weights one each, 4-bit packed two per byte */
    double ptq, acc;          /* its PTQ model's and its best QAT model's metric (choosing set) */
    int epoch;                /* QAT epoch of that model (-1: PTQ) */
    int met;                  /* acc meets the accuracy criterion */
    int done;                 /* it ran (to its end or until the timeout) */
} trial;

static int is_weighted_op(q_op op)
{
    return op == Q_OP_CONV2D || op == Q_OP_DWCONV2D || op == Q_OP_LINEAR;
}

static int64_t trial_bytes(const net *n, const int *bits)
{
    int64_t b = 0;
    for (int i = 0; i < n->n_layers; i++)
        if (is_weighted_op(n->layers[i].op))
            b += q_weight_bytes(n->layers[i].n_w, bits[i]);
    return b;
}

/* a better than b: meeting the criterion first; then fewer bytes when both
 * meet it, else the better metric; then the other key; then the earlier. */
static int trial_better(metric_kind k, const trial *a, const trial *b)
{
    if (!b->done)
        return a->done;
    if (a->met != b->met)
        return a->met;
    if (a->met) {
        if (a->bytes != b->bytes)
            return a->bytes < b->bytes;
        return metric_better(k, a->acc, b->acc);
    }
    if (a->acc != b->acc)
        return metric_better(k, a->acc, b->acc);
    return a->bytes < b->bytes;
}

/* "l0 8, l2 4, l4 4, l7 8" */
static void bits_text(const trainer *t, const int *bits, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->n.n_layers && len < cap; i++) {
        if (!is_weighted_op(t->n.layers[i].op))
            continue;
        char name[Q_NAME_MAX + 8];
        if (t->cfg.layers[i].name[0])
            snprintf(name, sizeof name, "%s", t->cfg.layers[i].name);
        else
            snprintf(name, sizeof name, "l%d", i);
        len += (size_t)snprintf(buf + len, cap - len, "%s%s %d", len ? ", " : "", name, bits[i]);
    }
}

/* Runs one candidate from the state at the start of quantization (params0,
 * state0, rng0): its widths, PTQ, then the QAT schedule, its best model in
 * path_trial. Returns 0, 1 when interrupted, or -1 with e set. */
static int run_trial(trainer *t, int k, const float *params0, const float *state0, rng_state rng0,
                     trial *tr, qerr *e)
{
    net *n = &t->n;
    ckpt_header *h = &t->h;
    memcpy(n->params, params0, n->n_params * sizeof(float));
    memcpy(n->state, state0, n->n_state * sizeof(float));
    h->rng = rng0;
    net_set_qat(n, 0);
    for (int i = 0; i < n->n_layers; i++)
        if (is_weighted_op(n->layers[i].op))
            net_set_weight_bits(n, i, tr->bits[i]);
    h->have_best = 0, h->best_acc = 0, h->best_epoch = -1;
    snprintf(t->label, sizeof t->label, "trial%d", k);
    if (ptq(t, 0, e))
        return -1;
    tr->ptq = h->ptq_acc;
    h->phase = CKPT_PHASE_QAT, h->epoch = 0, h->batch = 0;
    if (build_optim(t, CKPT_PHASE_QAT, e))
        return -1;
    while (h->phase != CKPT_PHASE_DONE) {
        if (h->batch == 0 && h->epoch > 0 && timed_out(t)) {
            h->timed_out = 1;
            break;
        }
        qat_schedule(t, h->epoch);
        int rc = run_epoch(t, CKPT_PHASE_QAT, e);
        if (rc < 0)
            return -1;
        if (rc == EPOCH_INTERRUPTED)
            return 1;
        if (end_epoch(t, CKPT_PHASE_QAT, e))
            return -1;
    }
    tr->acc = h->best_acc;
    tr->epoch = h->best_epoch;
    tr->done = 1;
    return 0;
}

/* tuning.strategy mixed_precision: choose 4 or 8 bits for every weighted
 * layer without a weight_bits of its own, for the fewest weight bytes whose
 * int8 model (PTQ, then QAT from the same float net) meets the accuracy
 * criterion on the choosing set, in the manner of Intel Neural Compressor's
 * basic strategy with 4 bits as the low precision and 8 as the fallback:
 *   1. sensitivity: after PTQ calibration at 8 bits, the attribution table
 *      (attrib.h) gives each layer's drop when its weights alone are at 4;
 *   2. the fallback order: drop at 4 bits per weight byte that 4 bits save,
 *      the highest first (the layer with fewer weights first on ties);
 *   3. trial 0 has every tunable layer at 4 bits, trial j the first j of
 *      the order at 8; each trial is PTQ and the QAT schedule from the same
 *      float weights and rng state; the first trial that meets the
 *      criterion ends the search (a later one only adds bytes);
 *   4. the kept model: the best trial (meeting the criterion, fewest bytes;
 *      without one, the best metric), also when exit_policy.timeout (counted
 *      from the start of quantization, over all trials) stops the search.
 * The order and every trial depend only on the seed. */
static int tune(trainer *t, qerr *e)
{
    ckpt_header *h = &t->h;
    net *n = &t->n;
    metric_kind k = t->cfg.metric;
    if (!h->have_float) {
        double reported;
        if (judge_net(t, &h->float_acc, &reported, e))
            return -1;
        h->have_float = 1;
    }
    char v[64], who[64], bt[600];
    say(t, "float model: %s on %s\n", named(t, h->float_acc, v, sizeof v),
        chooser(t, who, sizeof who));
    double bound = metric_bound(k, h->float_acc, t->cfg.criterion_relative, t->cfg.criterion);
    h->quant_start = elapsed(t);
    t->tuning = 1;
    t->write_model = t->path_trial;
    float *params0 = malloc(n->n_params * sizeof(float));
    float *state0 = malloc(n->n_state * sizeof(float));
    trial *trials = calloc(CFG_MAX_LAYERS + 1, sizeof *trials);
    int rc = -1;
    if (!params0 || !state0 || !trials) {
        qerr_set(e, "train: out of memory");
        goto out;
    }
    memcpy(params0, n->params, n->n_params * sizeof(float));
    memcpy(state0, n->state, n->n_state * sizeof(float));
    rng_state rng0 = h->rng;

    /* 1. sensitivity at 8 bits (a layer's own weight_bits kept) */
    int base[CFG_MAX_LAYERS] = {0}, tunable[CFG_MAX_LAYERS] = {0};
    for (int i = 0; i < n->n_layers; i++) {
        if (!is_weighted_op(n->layers[i].op))
            continue;
        tunable[i] = !t->cfg.layers[i].weight_bits_fixed;
        base[i] = tunable[i] ? 8 : t->cfg.layers[i].weight_bits;
        net_set_weight_bits(n, i, base[i]);
    }
    calibrate(t);
    attrib_table tab;
    if (attrib_measure(n, &t->cfg, attrib_eval, t, &tab, e))
        goto out;
    if (!t->o->quiet)
        attrib_print(&tab, "for mixed precision (after PTQ calibration at 8 bits)",
                     chooser(t, who, sizeof who), stdout);
    if (t->o->attribution && attribution_csv(t, &tab, "ptq", e))
        goto out;

    /* 2. the fallback order */
    int order[CFG_MAX_LAYERS], m = 0;
    double score[CFG_MAX_LAYERS];
    for (int j = 0; j < tab.n; j++) {
        int i = tab.layers[j].layer;
        if (!tunable[i])
            continue;
        int64_t saved = tab.layers[j].weights - q_weight_bytes(tab.layers[j].weights, 4);
        double d = attrib_drop(&tab, tab.layers[j].w4);
        score[i] = (d > 0 ? d : 0) / (double)(saved > 0 ? saved : 1);
        int at = m++;
        while (at > 0) { /* insertion: score descending, then fewer weights, then index */
            int p = order[at - 1];
            int before = score[i] > score[p] ||
                         (score[i] == score[p] && n->layers[i].n_w < n->layers[p].n_w);
            if (!before)
                break;
            order[at] = p;
            at--;
        }
        order[at] = i;
    }
    if (m == 0) {
        qerr_at(e, t->cfg.config_path, 0,
                "tuning.strategy: mixed_precision: no layer to tune (every weighted layer "
                "has weight_bits of its own)");
        goto out;
    }
    int64_t all8 = trial_bytes(n, base);
    say(t, "mixed precision: %d layers to tune, fallback order to 8 bits:", m);
    for (int j = 0; j < m; j++) {
        char nm[Q_NAME_MAX + 8];
        if (t->cfg.layers[order[j]].name[0])
            snprintf(nm, sizeof nm, "%s", t->cfg.layers[order[j]].name);
        else
            snprintf(nm, sizeof nm, "l%d", order[j]);
        say(t, "%s%s", j ? ", " : " ", nm);
    }
    say(t, "; all at 8 bits: %lld weight bytes\n", (long long)all8);

    /* 3. the trials */
    int best = -1, ran = 0;
    for (int j = 0; j <= m; j++) {
        if (j > 0 && (timed_out(t) || h->timed_out)) {
            h->timed_out = 1;
            break;
        }
        trial *tr = &trials[j];
        for (int i = 0; i < n->n_layers; i++)
            tr->bits[i] = tunable[i] ? 4 : base[i];
        for (int q = 0; q < j; q++)
            tr->bits[order[q]] = 8;
        tr->bytes = trial_bytes(n, tr->bits);
        bits_text(t, tr->bits, bt, sizeof bt);
        say(t, "trial %d: %s: %lld weight bytes (%.1f%% of 8-bit)\n", j, bt,
            (long long)tr->bytes, 100.0 * (double)tr->bytes / (double)all8);
        int r = run_trial(t, j, params0, state0, rng0, tr, e);
        if (r < 0)
            goto out;
        if (r == 1) {
            say(t, "interrupted: the best trial so far is kept (--resume runs the tuning again "
                   "from the end of pretraining)\n");
            break;
        }
        ran++;
        tr->met = metric_meets(k, tr->acc, bound);
        char a[48], b[48];
        if (!t->o->quiet)
            printf("trial %d: %s | %lld bytes (%.1f%%) | ptq %s | int8 %s (%s) | %s\n", j, bt,
               (long long)tr->bytes, 100.0 * (double)tr->bytes / (double)all8,
               metric_format(k, tr->ptq, a, sizeof a), metric_format(k, tr->acc, b, sizeof b),
               tr->epoch >= 0 ? "qat" : "ptq", tr->met ? "meets the criterion" : "misses it");
        fflush(stdout);
        if (best < 0 || trial_better(k, tr, &trials[best])) {
            best = j;
            if (rename(t->path_trial, t->path_model) != 0) {
                qerr_set(e, "%s: cannot rename to %s", t->path_trial, t->path_model);
                goto out;
            }
        }
        if (tr->met)
            break;
    }
    remove(t->path_trial);
    if (best < 0) {
        qerr_set(e, "mixed precision: interrupted before the first trial ended");
        rc = 1;
        goto out;
    }

    /* 4. the result, as the end of the run reports it */
    trial *b = &trials[best];
    h->have_best = 1;
    h->best_acc = b->acc;
    h->best_epoch = b->epoch;
    h->ptq_acc = b->ptq;
    h->phase = CKPT_PHASE_DONE;
    if (!t->o->quiet) {
        printf("mixed precision: trial %d kept (%d of at most %d trials run%s)\n", best, ran, m + 1,
               h->timed_out ? ", stopped by exit_policy.timeout" : "");
        printf("  %-16s %-8s %8s %4s %8s\n", "layer", "op", "weights", "bits", "bytes");
        for (int i = 0; i < n->n_layers; i++) {
            if (!is_weighted_op(n->layers[i].op))
                continue;
            char nm[Q_NAME_MAX + 8];
            if (t->cfg.layers[i].name[0])
                snprintf(nm, sizeof nm, "%s", t->cfg.layers[i].name);
            else
                snprintf(nm, sizeof nm, "l%d", i);
            printf("  %-16s %-8s %8lld %4d %8lld%s\n", nm, q_op_names[n->layers[i].op],
                   (long long)n->layers[i].n_w, b->bits[i],
                   (long long)q_weight_bytes(n->layers[i].n_w, b->bits[i]),
                   tunable[i] ? "" : " (its weight_bits)");
        }
        char a[48];
        printf("  %-16s %-8s %8s %4s %8lld (%.1f%% of %lld at 8 bits), int8 %s\n", "total", "",
               "", "", (long long)b->bytes, 100.0 * (double)b->bytes / (double)all8,
               (long long)all8, metric_format(k, b->acc, a, sizeof a));
    }
    rc = 0;
out:
    t->tuning = 0;
    t->write_model = t->path_model;
    free(params0);
    free(state0);
    free(trials);
    return rc;
}

static int run_schedule(trainer *t, train_result *r, qerr *e)
{
    ckpt_header *h = &t->h;
    while (h->phase != CKPT_PHASE_DONE) {
        int phase = h->phase;
        if (phase == CKPT_PHASE_PRETRAIN && h->epoch >= t->cfg.pretrain.epochs) {
            h->phase = CKPT_PHASE_QAT, h->epoch = 0, h->batch = 0;
            if (build_optim(t, CKPT_PHASE_QAT, e))
                return -1;
            continue;
        }
        if (phase == CKPT_PHASE_QAT && !h->ptq_done && t->cfg.strategy == CFG_STRATEGY_MIXED) {
            int rc = tune(t, e);
            if (rc)
                return rc;
            break;
        }
        if (phase == CKPT_PHASE_QAT && !h->ptq_done) {
            if (start_quantization(t, e))
                return -1;
            continue;
        }
        if (phase == CKPT_PHASE_QAT && h->batch == 0 && timed_out(t)) {
            h->timed_out = 1; /* the best model so far stays */
            h->phase = CKPT_PHASE_DONE;
            if (checkpoint(t, e))
                return -1;
            continue;
        }
        if (phase == CKPT_PHASE_QAT && h->batch == 0)
            qat_schedule(t, h->epoch);
        int rc = run_epoch(t, phase, e);
        if (rc < 0)
            return -1;
        if (rc == EPOCH_INTERRUPTED) {
            if (checkpoint(t, e))
                return -1;
            say(t, "interrupted: wrote %s; continue with --resume\n", t->path_ckpt);
            return 1;
        }
        if (end_epoch(t, phase, e))
            return -1;
    }
    return end_of_run(t, r, e);
}

/* ---- setup ---------------------------------------------------------------- */

/* What a set's labels file must hold (cfg_labels_kind), with the model's
 * class count or output shape. */
static dataset_want want_of(const trainer *t, int train)
{
    const cfg_config *c = &t->cfg;
    q_shape out = t->n.tshape[t->n.n_layers];
    dataset_want w = {cfg_labels_kind(c, train), 0, 0, 0, 0};
    if (w.kind == DATASET_CLASSES) /* auc's labels: 1 = anomaly, 0 = normal */
        w.n_classes = c->loss == CFG_LOSS_CROSS_ENTROPY ? t->n.n_classes : 2;
    if (w.kind == DATASET_TARGETS)
        w.h = out.h, w.w = out.w, w.c = out.c;
    return w;
}

/* auc needs both kinds of example in every set it measures. */
static int check_auc_labels(const dataset *ds, qerr *e)
{
    int32_t anomalies = 0;
    for (int32_t i = 0; i < ds->n; i++)
        anomalies += ds->labels[i] == 1;
    if (anomalies == 0 || anomalies == ds->n)
        return qerr_set(e, "%s: %d anomalies (label 1) and %d normal inputs (label 0): metric "
                           "auc needs both",
                        ds->labels_path, (int)anomalies, (int)(ds->n - anomalies));
    return 0;
}

/* The training, validation and eval sets. A validation fraction F takes
 * round(F·n) training inputs, chosen by a shuffle from an rng of its own,
 * seeded with the run's seed: the same inputs for a seed, whatever the
 * thread count, in every resumed run. */
static int load_data(trainer *t, const train_opts *o, qerr *e)
{
    const cfg_config *c = &t->cfg;
    dataset_input in = {c->input_shape.h, c->input_shape.w, c->input_shape.c,
                        c->input_q.scale, c->input_q.zero_point};
    dataset_want wt = want_of(t, 1), we = want_of(t, 0);
    const char *tl = wt.kind == DATASET_NONE ? NULL : c->train_labels;
    const char *el = we.kind == DATASET_NONE ? NULL : c->eval_labels;
    const char *vl = we.kind == DATASET_NONE ? NULL : c->val_labels;
    if (dataset_load_as(&t->train, c->train_images, tl, in, wt, e) ||
        dataset_load_as(&t->eval, c->eval_images, el, in, we, e))
        return -1;
    t->choose = &t->eval;
    if (c->validation == CFG_VALIDATION_FILES) {
        if (dataset_load_as(&t->val, c->val_images, vl, in, we, e))
            return -1;
        t->choose = &t->val;
    } else if (c->validation == CFG_VALIDATION_FRACTION) {
        int32_t n = t->train.n;
        double k = round(c->validation_fraction * (double)n);
        if (k < 1 || k > n - 1)
            return qerr_at(e, c->config_path, c->validation_line,
                           "data.validation.fraction: %g of the %d training inputs is %.0f: "
                           "each side needs at least one", c->validation_fraction, (int)n, k);
        rng_state r;
        rng_seed(&r, (o->have_seed ? o->seed : c->seed) ^ TRAIN_SPLIT_STREAM);
        if (dataset_split(&t->train, &t->val, (int32_t)k, &r, e))
            return -1;
        t->choose = &t->val;
    }
    if (c->metric == METRIC_AUC &&
        (check_auc_labels(&t->eval, e) || (have_validation(t) && check_auc_labels(&t->val, e))))
        return -1;
    return 0;
}

static int setup(trainer *t, const train_opts *o, qerr *e)
{
    t->o = o;
    if (cfg_read(o->config_path, &t->cfg, e))
        return -1;
    cfg_config *c = &t->cfg;
    if (cfgcanon_build(&t->canon, o->config_path, o->have_seed ? o->seed : c->seed, e))
        return -1;
    const char *dir = o->out_dir ? o->out_dir : ".";
    snprintf(t->path_model, sizeof t->path_model, "%s/%s.frozen.yaml", dir, c->name);
    snprintf(t->path_trial, sizeof t->path_trial, "%s/%s.trial.frozen.yaml", dir, c->name);
    t->write_model = t->path_model;
    snprintf(t->label, sizeof t->label, "qat");
    snprintf(t->path_ckpt, sizeof t->path_ckpt, "%s/%s.ckpt", dir, c->name);
    snprintf(t->path_csv, sizeof t->path_csv, "%s/%s.csv", dir, c->name);
    /* No output may be one of the inputs (a config named NAME.frozen.yaml in
     * the output folder, a data file called NAME.csv). */
    const char *inputs[] = {o->config_path, c->train_images, c->train_labels, c->eval_images,
                            c->eval_labels,   c->val_images,   c->val_labels};
    const char *outputs[] = {t->path_model, t->path_ckpt, t->path_csv};
    for (int i = 0; i < 3; i++)
        if (qfile_check_not_input(outputs[i], inputs, 7, e))
            return -1;
    snprintf(t->path_attrib, sizeof t->path_attrib, "%s/%s.attribution.csv", dir, c->name);
    if (c->qat.epochs > 0 && c->disable_observer_after < 1)
        return qerr_at(e, c->config_path, 0,
                       "quantization.train.disable_observer_after: %d leaves the observers "
                       "without data (use >= 1)",
                       (int)c->disable_observer_after);
    gemm_set_threads(o->threads);

    int cap = c->pretrain.batch > c->qat.batch ? c->pretrain.batch : c->qat.batch;
    cap = cap < 2 ? 2 : cap;
    if (net_build(&t->n, c, cap, e))
        return -1;
    if (load_data(t, o, e))
        return -1;
    /* every batch would be skipped: nothing would train */
    if (t->train.n < 2 && c->validation == CFG_VALIDATION_FRACTION)
        return qerr_at(e, c->config_path, c->validation_line,
                       "data.validation.fraction: %g leaves %d input of %s to train on; "
                       "training needs at least 2 (a batch of one is skipped: batch norm "
                       "normalizes over the batch)",
                       c->validation_fraction, (int)t->train.n, c->train_images);
    if (t->train.n < 2)
        return qerr_set(e, "%s: data.train: %s holds %d input; training needs at least 2 (a "
                           "batch of one is skipped: batch norm normalizes over the batch)",
                        c->config_path, c->train_images, (int)t->train.n);
    /* after the config and the data: a bad one leaves no folder behind */
    if (qfile_mkdirs(dir, e))
        return -1;
    int32_t sets = t->val.n > t->eval.n ? t->val.n : t->eval.n;
    size_t out = (size_t)t->n.n_classes;
    t->order = malloc((size_t)t->train.n * sizeof(int32_t));
    t->set_order = malloc((size_t)sets * sizeof(int32_t));
    t->labels = malloc((size_t)cap * sizeof(int32_t));
    t->labels8 = malloc((size_t)cap);
    t->targets = malloc((size_t)cap * out * sizeof(float));
    t->aug_scratch = malloc((size_t)dataset_image_size(&t->train) * sizeof(float));
    t->score = malloc((size_t)sets * sizeof(double));
    t->pred_net = malloc((size_t)t->eval.n);
    t->pred_int8 = malloc((size_t)t->eval.n);
    t->agreement = t->min_agreement = 1.0;
    int trials = c->strategy == CFG_STRATEGY_MIXED ? CFG_MAX_LAYERS + 1 : 1;
    t->csv_cap = (size_t)(c->pretrain.epochs + trials * (c->qat.epochs + 1) + 4) * CSV_ROW_MAX;
    t->csv = calloc(t->csv_cap, 1);
    if (!t->order || !t->set_order || !t->labels || !t->labels8 || !t->targets ||
        !t->aug_scratch || !t->score || !t->pred_net || !t->pred_int8 || !t->csv)
        return qerr_set(e, "train: out of memory");
    for (int32_t i = 0; i < sets; i++)
        t->set_order[i] = i;
    t->tty = isatty(2) && !o->quiet;
    t->run_start = now_s();

    if (o->resume) {
        if (resume(t, e))
            return -1;
    } else {
        ckpt_header *h = &t->h;
        rng_seed(&h->rng, o->have_seed ? o->seed : c->seed);
        net_init(&t->n, &h->rng);
        net_set_fake_quant(&t->n, c->fake_quant_weights, c->fake_quant_acts);
        h->phase = c->pretrain.epochs > 0 ? CKPT_PHASE_PRETRAIN : CKPT_PHASE_QAT;
        h->best_epoch = -1;
        if (build_optim(t, h->phase, e))
            return -1;
    }
    if (have_validation(t))
        say(t, "validation: %d inputs (%s) choose the kept model and measure the accuracy "
               "criterion; the %d eval inputs are reported only; training on %d inputs\n",
            (int)t->val.n,
            c->validation == CFG_VALIDATION_FRACTION ? "a seeded fraction of data.train"
                                                     : "data.validation",
            (int)t->eval.n, (int)t->train.n);
    else
        say(t, "no data.validation: the %d eval inputs choose the kept model and measure the "
               "accuracy criterion; training on %d inputs\n", (int)t->eval.n, (int)t->train.n);
    return 0;
}

static void teardown(trainer *t)
{
    net_free(&t->n);
    optim_free(&t->opt);
    dataset_free(&t->train);
    dataset_free(&t->val);
    dataset_free(&t->eval);
    free(t->order);
    free(t->set_order);
    free(t->labels);
    free(t->labels8);
    free(t->targets);
    free(t->aug_scratch);
    free(t->score);
    free(t->pred_net);
    free(t->pred_int8);
    free(t->csv);
    cfgcanon_free(&t->canon);
}

int train_run(const train_opts *o, train_result *r, qerr *e)
{
    trainer *t = calloc(1, sizeof *t);
    if (!t)
        return qerr_set(e, "train: out of memory");
    int rc = setup(t, o, e);
    if (rc == 0)
        rc = run_schedule(t, r, e);
    if (t->tty && !o->quiet)
        fputs("\r\033[K", stderr);
    teardown(t);
    free(t);
    return rc;
}
