/* The benchmark job, the same for every peer: appends "<CLOCK_REALTIME sec.nsec> <name>\n" per
 * name to LOG with one O_APPEND write, so concurrent jobs never interleave their lines.
 * Usage: stamp LOG NAME...   or   stamp LOG -   (names one per line on stdin, as Watchman's
 * NAME_PER_LINE gives a batch). A path is reduced to its basename. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char* buf;
static size_t len, cap;
static char stamp[40];

static void add(const char* name, size_t n) {
  const char* slash = memrchr(name, '/', n);
  if (slash) {
    n -= (size_t)(slash + 1 - name);
    name = slash + 1;
  }
  size_t s = strlen(stamp), need = len + s + n + 2;
  if (need > cap) {
    cap = need * 2;
    buf = realloc(buf, cap);
    if (!buf) exit(1);
  }
  memcpy(buf + len, stamp, s);
  len += s;
  buf[len++] = ' ';
  memcpy(buf + len, name, n);
  len += n;
  buf[len++] = '\n';
}

int main(int argc, char** argv) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts); /* first thing: the moment the job started */
  if (argc < 3) {
    static const char usage[] = "usage: stamp LOG NAME... | stamp LOG -\n";
    if (write(2, usage, sizeof usage - 1) < 0) return 64;
    return 64;
  }
  snprintf(stamp, sizeof stamp, "%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec);
  if (argc == 3 && strcmp(argv[2], "-") == 0) {
    char* line = NULL;
    size_t lcap = 0;
    ssize_t n;
    while ((n = getline(&line, &lcap, stdin)) > 0) {
      if (line[n - 1] == '\n') --n;
      if (n > 0) add(line, (size_t)n);
    }
    free(line);
  } else {
    for (int i = 2; i < argc; ++i) add(argv[i], strlen(argv[i]));
  }
  if (len == 0) return 0;
  int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return 1;
  ssize_t w = write(fd, buf, len);
  close(fd);
  return w == (ssize_t)len ? 0 : 1;
}
