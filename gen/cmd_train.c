/* qatc train — QAT from a config; writes NAME.frozen.yaml (runtime/train/train.h). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "qnum.h"
#include "train.h"

static volatile sig_atomic_t interrupted;

/* The first Ctrl-C asks for a checkpoint at the end of the current batch; a
 * second one stops at once. */
static void on_sigint(int sig)
{
    if (interrupted) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    interrupted = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: qatc train CONFIG.yaml [-o DIR] [--resume] [--threads N] [--seed S]\n"
            "                  [--quiet] [--sqnr] [--attribution]\n"
            "\n"
            "Float pretraining, post-training quantization (measured), then quantization-\n"
            "aware training with the config's freeze schedule; after every QAT epoch the\n"
            "int8 model is evaluated (metric top1, mse or auc) and the best one kept:\n"
            "best on data.validation when the config has it, else on the eval set.\n"
            "\n"
            "Writes into DIR (default: the current folder):\n"
            "  NAME.frozen.yaml  the best int8 model (for qatc gen / eval / report)\n"
            "  NAME.ckpt         checkpoint after every epoch and on Ctrl-C\n"
            "  NAME.csv          per epoch: epoch,phase,loss,float_M,int8_M,lr,seconds\n"
            "                    (M the metric, on the eval set); with a validation set\n"
            "                    val_float_M,val_int8_M before lr\n"
            "\n"
            "  -o DIR        output folder, created if missing (default: the current\n"
            "                folder); a file in it that is one of the inputs (the config,\n"
            "                a data file) is never written over\n"
            "  --resume      continue from DIR/NAME.ckpt exactly where it stopped (the\n"
            "                config's settings must be those it was trained with)\n"
            "  --threads N   threads for training and evaluation (default: all cores)\n"
            "  --seed S      random seed (default: tuning.random_seed)\n"
            "  --quiet       no progress line and no per-epoch lines\n"
            "  --sqnr        at the end, per-layer SQNR (dB) of int8 vs float activations\n"
            "                on a batch of eval data\n"
            "  --attribution after PTQ calibration and again at the end: the metric with\n"
            "                weights only, activations only and both fake-quantized, and\n"
            "                per weighted layer the drop when it alone is quantized (its\n"
            "                weights at their bits and at 4 bits, its output); a table on\n"
            "                stdout and DIR/NAME.attribution.csv\n"
            "\n"
            "Ctrl-C writes a checkpoint and stops (exit status 130; a second Ctrl-C\n"
            "stops at once). The same seed gives the same model, with or without\n"
            "interruptions and whatever the thread count.\n");
}

/* An option's integer in [lo, hi], with the config's rules (qnum): 0, or
 * -1 after printing why. */
static int option_int(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    qnum_status st = qnum_int(s, lo, hi, out);
    if (st == QNUM_OK)
        return 0;
    char why[200];
    fprintf(stderr, "qatc train: %s: %s\n", opt, qnum_why(st, s, 1, lo, hi, why, sizeof why));
    return -1;
}

int cmd_train(int argc, char **argv)
{
    train_opts o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int64_t v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-o") && i + 1 < argc) {
            o.out_dir = argv[++i];
        } else if (!strcmp(a, "--resume")) {
            o.resume = 1;
        } else if (!strcmp(a, "--quiet")) {
            o.quiet = 1;
        } else if (!strcmp(a, "--sqnr")) {
            o.sqnr = 1;
        } else if (!strcmp(a, "--attribution")) {
            o.attribution = 1;
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            if (option_int(a, argv[++i], 1, 1024, &v))
                return 2;
            o.threads = (int)v;
        } else if (!strcmp(a, "--seed") && i + 1 < argc) {
            if (option_int(a, argv[++i], 0, INT64_MAX, &v)) /* as tuning.random_seed */
                return 2;
            o.have_seed = 1;
            o.seed = (uint64_t)v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "qatc train: unknown or incomplete option '%s' (try --help)\n", a);
            return 2;
        } else if (!o.config_path) {
            o.config_path = a;
        } else {
            fprintf(stderr, "qatc train: one config only ('%s' is extra)\n", a);
            return 2;
        }
    }
    if (!o.config_path) {
        fprintf(stderr, "qatc train: which config? (qatc train --help)\n");
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    o.interrupt = &interrupted;

    qerr e = {{0}};
    train_result r;
    int rc = train_run(&o, &r, &e);
    signal(SIGINT, SIG_DFL);
    if (rc < 0) {
        fprintf(stderr, "qatc train: %s\n", e.msg);
        return 1;
    }
    return rc == 1 ? 130 : 0;
}
