/* Single-steps a program and every thread it starts, and prints each distinct instruction
 * address it executes inside [LO, HI) of the program's own code as a hexadecimal offset from
 * LO, in the order first executed. LO, HI and FIRST are addresses as linked (the ELF file's
 * virtual addresses, FIRST its first LOAD segment's, which maps the file from its start); where
 * the program was loaded is read from /proc/PID/maps once it is (a position-independent
 * executable lands at one place with a dynamic loader and at another without one; address-space
 * randomisation is turned off in the child, for steady runs). Used by link/text_order.py
 * (Linux, x86-64).
 *
 *     step FIRST LO HI PROGRAM [ARG ...]      (FIRST, LO and HI in hexadecimal)
 *
 * The program's own output goes where this program's goes; the addresses go to the file
 * named by the STEP_OUT environment variable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

/* Where `path` starts in `pid`'s memory: its mapping of file offset 0; 0 if none. */
static unsigned long loaded_at(pid_t pid, const char *path) {
    char maps[64], line[PATH_MAX + 128];
    snprintf(maps, sizeof maps, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(maps, "r");
    unsigned long at = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long start, end, offset;
        int name = 0;
        if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &start, &end, &offset, &name) < 3 || !name)
            continue;
        line[strcspn(line, "\n")] = 0;
        if (offset == 0 && strcmp(line + name, path) == 0) {
            at = start;
            break;
        }
    }
    if (f)
        fclose(f);
    return at;
}

int main(int argc, char **argv) {
    if (argc < 5 || !getenv("STEP_OUT")) {
        fprintf(stderr, "usage: STEP_OUT=FILE step FIRST LO HI PROGRAM [ARG ...]\n");
        return 2;
    }
    unsigned long first = strtoul(argv[1], 0, 16);
    unsigned long lo = strtoul(argv[2], 0, 16), hi = strtoul(argv[3], 0, 16);
    if (hi <= lo || lo < first || hi - lo > (1ul << 32)) {
        fprintf(stderr, "step: bad range %s-%s\n", argv[2], argv[3]);
        return 2;
    }
    char program[PATH_MAX];
    if (!realpath(argv[4], program)) {
        perror(argv[4]);
        return 2;
    }
    unsigned char *seen = calloc(hi - lo, 1);
    FILE *out = fopen(getenv("STEP_OUT"), "w");
    if (!seen || !out) {
        perror("step");
        return 1;
    }
    pid_t child = fork();
    if (child == 0) {
        personality(ADDR_NO_RANDOMIZE);
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        execv(argv[4], argv + 4);
        _exit(127);
    }
    int status;
    if (waitpid(child, &status, 0) < 0 || !WIFSTOPPED(status)) {
        fprintf(stderr, "step: %s did not start\n", argv[4]);
        return 1;
    }
    /* Stopped at its first instruction, after the exec: the program is mapped. */
    unsigned long at = loaded_at(child, program);
    if (!at || at < first) {
        fprintf(stderr, "step: %s is not mapped from its start\n", program);
        return 1;
    }
    lo += at - first;
    hi += at - first;
    ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL);
    ptrace(PTRACE_SINGLESTEP, child, 0, 0);
    int alive = 1, code = 0;
    unsigned long steps = 0;
    while (alive > 0) {
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0)
            break;
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (pid == child)
                code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            alive--;
            continue;
        }
        if (!WIFSTOPPED(status))
            continue;
        int sig = WSTOPSIG(status);
        if (sig == SIGTRAP && (status >> 16) == PTRACE_EVENT_CLONE) {
            alive++; /* the new thread starts stopped, and is stepped from its first stop */
        } else if (sig == SIGTRAP) {
            struct user_regs_struct r;
            ptrace(PTRACE_GETREGS, pid, 0, &r);
            steps++;
            if (r.rip >= lo && r.rip < hi && !seen[r.rip - lo]) {
                seen[r.rip - lo] = 1;
                fprintf(out, "%llx\n", (unsigned long long)(r.rip - lo));
            }
        } else if (sig != SIGSTOP) {
            ptrace(PTRACE_SINGLESTEP, pid, 0, sig); /* the program's own signal */
            continue;
        }
        ptrace(PTRACE_SINGLESTEP, pid, 0, 0);
    }
    fclose(out);
    fprintf(stderr, "step: %lu instructions, exit code %d\n", steps, code);
    return code;
}
