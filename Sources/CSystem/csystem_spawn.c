// pipe2 is a GNU extension.
#define _GNU_SOURCE
#include "csystem_spawn.h"

#include <fcntl.h>
#include <unistd.h>

int csystem_pipe_cloexec(int ends[2]) {
    return pipe2(ends, O_CLOEXEC);
}
