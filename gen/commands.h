/* The subcommands of `qatc`. Each takes the arguments after its own name
 * (argv[0] is the subcommand), prints its own --help, and returns the exit
 * status; errors are one line on stderr, "qatc SUB: message". */
#ifndef QATC_COMMANDS_H
#define QATC_COMMANDS_H

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
