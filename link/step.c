/* Single-steps a program and every thread it starts, and prints each distinct instruction
 * address it executes inside [LO, HI) as a hexadecimal offset from LO, in the order first
 * executed. Address-space randomisation is turned off in the child, so a position-independent
 * executable is loaded at the same place each run. Used by link/text_order.py (Linux, x86-64).
 *
 *     step LO HI PROGRAM [ARG ...]      (LO and HI in hexadecimal)
 *
 * The program's own output goes where this program's goes; the addresses go to the file
 * named by the STEP_OUT environment variable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 4 || !getenv("STEP_OUT")) {
        fprintf(stderr, "usage: STEP_OUT=FILE step LO HI PROGRAM [ARG ...]\n");
        return 2;
    }
    unsigned long lo = strtoul(argv[1], 0, 16), hi = strtoul(argv[2], 0, 16);
    if (hi <= lo || hi - lo > (1ul << 32)) {
        fprintf(stderr, "step: bad range %s-%s\n", argv[1], argv[2]);
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
        execv(argv[3], argv + 3);
        _exit(127);
    }
    int status;
    if (waitpid(child, &status, 0) < 0 || !WIFSTOPPED(status)) {
        fprintf(stderr, "step: %s did not start\n", argv[3]);
        return 1;
    }
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
