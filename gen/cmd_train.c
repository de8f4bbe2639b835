/* Placeholder until its owner lands the real command. */
#include <stdio.h>

#include "commands.h"

int cmd_train(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "qatc train: not implemented yet\n");
    return 1;
}
