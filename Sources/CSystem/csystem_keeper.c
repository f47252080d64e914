// close_range and pipe2 are GNU extensions.
#define _GNU_SOURCE
#include "csystem_keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <time.h>
#include <unistd.h>

// Everything below runs in processes forked from a multithreaded program: only async-signal-safe
// calls (system calls, no malloc, no stdio, no locks) until execve or _exit.

enum { RECORD_STARTED = 1, RECORD_FAILED = 2, RECORD_ENDED = 3 };

static void write_record(int fd, int32_t kind, int32_t value) {
    int32_t record[2] = {kind, value};
    const char *bytes = (const char *)record;
    size_t left = sizeof record;
    while (left > 0) {
        ssize_t written = write(fd, bytes, left);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return;
        bytes += written;
        left -= (size_t)written;
    }
}

/// Reads one record; 0 on success, -1 at the end of the pipe.
static int read_record(int fd, int32_t record[2]) {
    char *bytes = (char *)record;
    size_t got = 0;
    while (got < 2 * sizeof(int32_t)) {
        ssize_t count = read(fd, bytes + got, 2 * sizeof(int32_t) - got);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) return -1;
        got += (size_t)count;
    }
    return 0;
}

static void close_range_or_each(unsigned int first, unsigned int last) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, first, last, 0) == 0) return;
#endif
    struct rlimit limit;
    unsigned int end = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 1U << 20 ? (unsigned int)limit.rlim_cur : 1U << 16;
    for (unsigned int fd = first; fd <= last && fd < end; fd++) close((int)fd);
}

/// Closes every descriptor from `low` up except `keep_a` and `keep_b` (-1: none).
static void close_from_except(int low, int keep_a, int keep_b) {
    int keeps[2] = {keep_a < keep_b ? keep_a : keep_b, keep_a < keep_b ? keep_b : keep_a};
    unsigned int first = (unsigned int)low;
    for (int i = 0; i < 2; i++) {
        if (keeps[i] < 0 || (unsigned int)keeps[i] < first) continue;
        if ((unsigned int)keeps[i] > first) close_range_or_each(first, (unsigned int)keeps[i] - 1);
        first = (unsigned int)keeps[i] + 1;
    }
    close_range_or_each(first, ~0U);
}

/// `fd` moved to a descriptor of 10 or more (close-on-exec), so that descriptors 0–3 can be set
/// without overwriting it; -1 on failure.
static int moved_high(int fd) {
    if (fd >= 10) return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    if (high >= 0) close(fd);
    return high;
}

static void pause_briefly(void) {
    struct timespec wait = {0, 5 * 1000 * 1000};
    nanosleep(&wait, NULL);
}

/// Kills every child of this process (a subreaper: what its helper left behind outside its group
/// became its child), with the group each leads, and reaps them, until it has none or `rounds` ran out.
static void end_children(int rounds) {
    char path[64] = "/proc/self/task/";
    // The thread's id is the process's: the keeper has one thread.
    pid_t self = getpid();
    char digits[16];
    int length = 0;
    for (pid_t rest = self; rest > 0 && length < 15; rest /= 10) digits[length++] = (char)('0' + rest % 10);
    size_t at = strlen(path);
    while (length > 0) path[at++] = digits[--length];
    memcpy(path + at, "/children", 10);
    for (int round = 0; round < rounds; round++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            char buffer[4096];
            long value = -1;
            for (;;) {
                ssize_t count = read(fd, buffer, sizeof buffer);
                if (count < 0 && errno == EINTR) continue;
                if (count <= 0) break;
                for (ssize_t i = 0; i < count; i++) {
                    char c = buffer[i];
                    if (c >= '0' && c <= '9') {
                        value = (value < 0 ? 0 : value * 10) + (c - '0');
                    } else if (value > 0) {
                        // A live child's pid names no group but the one it leads, if any.
                        kill(-(pid_t)value, SIGKILL);
                        kill((pid_t)value, SIGKILL);
                        value = -1;
                    }
                }
            }
            if (value > 0) { kill(-(pid_t)value, SIGKILL); kill((pid_t)value, SIGKILL); }
            close(fd);
        }
        int status;
        pid_t reaped;
        while ((reaped = waitpid(-1, &status, WNOHANG)) > 0) {}
        if (reaped < 0 && errno == ECHILD) return;
        pause_briefly();
    }
}

static void run_helper(const char *path, char *const argv[], char *const envp[], const int *sources, int count, int check) {
    setpgid(0, 0);
    struct sigaction standard;
    memset(&standard, 0, sizeof standard);
    standard.sa_handler = SIG_DFL;
    for (int signal = 1; signal < NSIG; signal++) sigaction(signal, &standard, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    // Each source first above 9, so that setting descriptor i never overwrites the source of another.
    int high[8];
    if (count > 8) { errno = EINVAL; goto failed; }
    for (int target = 0; target < count; target++) {
        int source = sources[target];
        if (source < 0) source = open("/dev/null", (target == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
        high[target] = source < 0 ? -1 : fcntl(source, F_DUPFD_CLOEXEC, 10);
        if (high[target] < 0) goto failed;
    }
    for (int target = 0; target < count; target++) {
        if (dup2(high[target], target) < 0) goto failed;
    }
    close_from_except(count, check, -1);
    execve(path, argv, envp);
failed:;
    int error = errno;
    ssize_t ignored = write(check, &error, sizeof error);
    (void)ignored;
    _exit(127);
}

static void run_keeper(const char *path, char *const argv[], char *const envp[], const int *sources, int count, int report) {
    setpgid(0, 0);
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    // Stopping is pkgfetch's to decide (it signals the helper's group); a pipe closed early is no reason to die.
    int ignored[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE};
    for (unsigned i = 0; i < sizeof ignored / sizeof ignored[0]; i++) sigaction(ignored[i], &ignore, NULL);
    struct sigaction standard;
    memset(&standard, 0, sizeof standard);
    standard.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &standard, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
#if defined(__linux__) && defined(PR_SET_CHILD_SUBREAPER)
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
#endif
    int check[2];
    if (pipe2(check, O_CLOEXEC) < 0) { write_record(report, RECORD_FAILED, errno); _exit(0); }
    check[1] = moved_high(check[1]);
    if (check[1] < 0) { write_record(report, RECORD_FAILED, errno); _exit(0); }
    pid_t helper = fork();
    if (helper == 0) run_helper(path, argv, envp, sources, count, check[1]);
    int fork_error = errno;
    close(check[1]);
    // Nothing of pkgfetch's stays open here: the helper's pipes end when the helper's side closes them.
    close_from_except(0, report, check[0]);
    if (helper < 0) { write_record(report, RECORD_FAILED, fork_error); _exit(0); }
    int error = 0;
    ssize_t got;
    do { got = read(check[0], &error, sizeof error); } while (got < 0 && errno == EINTR);
    close(check[0]);
    if (got == (ssize_t)sizeof error) {
        while (waitpid(helper, NULL, 0) < 0 && errno == EINTR) {}
        write_record(report, RECORD_FAILED, error);
        _exit(0);
    }
    write_record(report, RECORD_STARTED, helper);
    // The helper's exit, not yet reaped: its id still names its group while what is left there is killed.
    siginfo_t info;
    while (waitid(P_PID, (id_t)helper, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {}
    kill(-helper, SIGKILL);
    int status = 0;
    while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {}
    // What left the group (setsid) and was orphaned is this subreaper's child: ended too, 2 s at most.
    end_children(400);
    write_record(report, RECORD_ENDED, status);
    _exit(0);
}

int csystem_spawn_kept(const char *path, char *const argv[], char *const envp[], const int *sources, int count,
                       pid_t *keeper, pid_t *helper, int *report) {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) < 0) return errno;
    pid_t child = fork();
    if (child < 0) {
        int error = errno;
        close(ends[0]);
        close(ends[1]);
        return error;
    }
    if (child == 0) {
        close(ends[0]);
        run_keeper(path, argv, envp, sources, count, ends[1]);
    }
    close(ends[1]);
    int32_t record[2];
    if (read_record(ends[0], record) < 0 || record[0] != RECORD_STARTED) {
        int error = record[0] == RECORD_FAILED ? record[1] : EIO;
        close(ends[0]);
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {}
        return error != 0 ? error : EIO;
    }
    *keeper = child;
    *helper = record[1];
    *report = ends[0];
    return 0;
}

int csystem_kept_wait(pid_t keeper, int report, int *status) {
    int32_t record[2];
    int ended = read_record(report, record) == 0 && record[0] == RECORD_ENDED;
    while (waitpid(keeper, NULL, 0) < 0 && errno == EINTR) {}
    *status = ended ? record[1] : SIGKILL;
    return ended ? 0 : EIO;
}
