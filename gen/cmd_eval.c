/* Placeholder until its owner lands the real command. */
#include <stdio.h>

#include "commands.h"

int cmd_eval(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "qatc eval: not implemented yet\n");
    return 1;
}
