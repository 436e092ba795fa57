/* The cost of a system call, a minor page fault and a pipe round trip on this host (issue 18's
 * profile, docs/performance.md "Into PostgreSQL: the remaining distance, profiled": each file's
 * new PostgreSQL backend and hivehook-etl process pay thousands of first-touch faults).
 *   cc -O2 -o /tmp/page_fault_cost bench/etl/page_fault_cost.c && /tmp/page_fault_cost
 * Prints microseconds per getppid(2), per first touch of a 4 KiB anonymous page (256 MiB mapped
 * privately, one write per page), and per 1-byte write+read through a pipe. */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(void) {
  const int n = 200000;
  double t = now();
  for (int i = 0; i < n; i++) syscall(SYS_getppid);
  const double syscalls = now() - t;

  const size_t size = (size_t)256 << 20;
  char* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return perror("mmap"), 1;
  t = now();
  for (size_t i = 0; i < size; i += 4096) p[i] = 1;
  const double faults = now() - t;

  int fd[2];
  if (pipe(fd) != 0) return perror("pipe"), 1;
  char c[1] = {0};
  t = now();
  for (int i = 0; i < n; i++)
    if (write(fd[1], c, 1) != 1 || read(fd[0], c, 1) != 1) return perror("pipe"), 1;
  const double pipes = now() - t;

  printf("syscall %.2f us, page fault %.2f us, pipe write+read %.2f us\n", syscalls / n * 1e6,
         faults / (double)(size / 4096) * 1e6, pipes / n * 1e6);
  return 0;
}
