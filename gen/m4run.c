/* m4run — finding the templates and running m4 (see m4run.h). */
#include "m4run.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int has_templates(const char *dir)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/qatc.m4", dir);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int m4run_find_templates(char *dir, size_t cap, qerr *e)
{
    const char *env = getenv("QATC_TEMPLATES");
    if (env && *env) {
        if (!has_templates(env))
            return qerr_set(e, "QATC_TEMPLATES=%s: no qatc.m4 there", env);
        if (strlen(env) >= cap)
            return qerr_set(e, "QATC_TEMPLATES: path too long");
        strcpy(dir, env);
        return 0;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return qerr_set(e, "templates: cannot find the qatc executable (/proc/self/exe); "
                           "set QATC_TEMPLATES");
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    const char *rel[] = {"/../share/qatc/templates", "/templates"};
    char tried[2][4200];
    for (int i = 0; i < 2; i++) {
        snprintf(tried[i], sizeof tried[i], "%s%s", exe, rel[i]);
        if (has_templates(tried[i])) {
            if (strlen(tried[i]) >= cap)
                return qerr_set(e, "templates: path too long");
            strcpy(dir, tried[i]);
            return 0;
        }
    }
    return qerr_set(e, "templates: no qatc.m4 in %s or %s; set QATC_TEMPLATES", tried[0],
                    tried[1]);
}

/* The first line of f (from the start), without its newline. */
static void first_line(FILE *f, char *out, size_t cap)
{
    out[0] = '\0';
    rewind(f);
    if (!fgets(out, (int)cap, f))
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
}

int m4run(const char *dir, const char *template_name, const char *program, size_t len,
          FILE *out, qerr *e)
{
    char common[4200], tmpl[4200];
    snprintf(common, sizeof common, "%s/qatc.m4", dir);
    snprintf(tmpl, sizeof tmpl, "%s/%s", dir, template_name);
    if (access(tmpl, R_OK) != 0)
        return qerr_set(e, "%s: %s", tmpl, strerror(errno));

    FILE *in = tmpfile();
    FILE *err = tmpfile();
    if (!in || !err) {
        int saved = errno;
        if (in)
            fclose(in);
        if (err)
            fclose(err);
        return qerr_set(e, "m4: cannot create a temporary file: %s", strerror(saved));
    }
    int rc = 0;
    if (fwrite(program, 1, len, in) != len || fflush(in) != 0 || fflush(out) != 0) {
        rc = qerr_set(e, "m4: cannot write its input: %s", strerror(errno));
        goto done;
    }
    rewind(in);

    pid_t pid = fork();
    if (pid < 0) {
        rc = qerr_set(e, "m4: fork: %s", strerror(errno));
        goto done;
    }
    if (pid == 0) {
        if (dup2(fileno(in), 0) < 0 || dup2(fileno(out), 1) < 0 || dup2(fileno(err), 2) < 0)
            _exit(127);
        execlp("m4", "m4", "-P", "-I", dir, common, tmpl, "-", (char *)NULL);
        fprintf(stderr, "cannot run m4: %s\n", strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            rc = qerr_set(e, "m4: waitpid: %s", strerror(errno));
            goto done;
        }
    }
    char line[400];
    first_line(err, line, sizeof line);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || line[0]) {
        if (line[0])
            rc = qerr_set(e, "m4 (%s): %s", template_name, line);
        else
            rc = qerr_set(e, "m4 (%s): failed with status %d", template_name,
                          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        goto done;
    }
    /* m4 wrote through its own descriptor: bring our stream to the end. */
    if (fseek(out, 0, SEEK_END) != 0)
        rc = qerr_set(e, "m4: cannot seek its output: %s", strerror(errno));
done:
    fclose(in);
    fclose(err);
    return rc;
}
