/* The machine's ceilings for context: spawn + wait of the stamp job per second, and renames per
 * second on the benchmark's filesystem. Prints one JSON object.
 * Usage: ceilings STAMP DIR [SECONDS] */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: ceilings STAMP DIR [SECONDS]\n");
    return 64;
  }
  double seconds = argc > 3 ? atof(argv[3]) : 2.0;
  char log[4096], a[4096], b[4096];
  snprintf(log, sizeof log, "%s/ceilings.log", argv[2]);

  /* spawn + wait, one at a time, as a serial watcher loop would */
  long spawns = 0;
  double t0 = now(), t;
  char* args[] = {argv[1], log, "ceiling-probe", NULL};
  do {
    pid_t pid;
    if (posix_spawn(&pid, argv[1], NULL, NULL, args, environ) != 0) { perror("posix_spawn"); return 1; }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    ++spawns;
  } while ((t = now()) - t0 < seconds);
  double spawn_rate = spawns / (t - t0);

  /* rename a file back and forth between two names in the same folder */
  snprintf(a, sizeof a, "%s/ceiling-a", argv[2]);
  snprintf(b, sizeof b, "%s/ceiling-b", argv[2]);
  int fd = open(a, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) { perror(a); return 1; }
  close(fd);
  long renames = 0;
  t0 = now();
  do {
    for (int i = 0; i < 1000; ++i) {
      if (rename(renames % 2 ? b : a, renames % 2 ? a : b) != 0) { perror("rename"); return 1; }
      ++renames;
    }
  } while ((t = now()) - t0 < seconds / 2);
  double rename_rate = renames / (t - t0);
  unlink(a);
  unlink(b);
  unlink(log);
  printf("{\"spawn_wait_per_s\": %.1f, \"renames_per_s\": %.1f}\n", spawn_rate, rename_rate);
  return 0;
}
