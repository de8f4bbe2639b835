/* qatc — one program, git-style subcommands. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "gemm.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"train", cmd_train, "train a model with QAT from a config; write NAME.frozen.yaml"},
    {"eval", cmd_eval, "int8 top-1 accuracy of a frozen model on IDX data"},
    {"gen", cmd_gen, "generate NAME.c and NAME.h (and a golden self-test)"},
    {"report", cmd_report, "per-layer shapes, MACs, bytes, scales and the arena plan"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: qatc COMMAND [ARGS]   (qatc COMMAND --help for details)\n\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    /* Idle OpenMP threads must not spin for milliseconds on shared cores: this
     * re-executes qatc once with GOMP_SPINCOUNT set (see gemm.h), unless the
     * user chose a wait policy. On failure it simply goes on. It is the only
     * re-execution (the OpenBLAS kernel set is fixed in process: gemm.h). */
    gemm_spin_setup(argv);
    if (argc < 2) { /* an error is one line: the list is on --help */
        fprintf(stderr, "qatc: which command? (train, eval, gen, report; qatc --help)\n");
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "qatc: unknown command '%s' (try qatc --help)\n", argv[1]);
    return 2;
}
