// fsbench: the in-container file-system benchmark of make bench (bench/bench.ts). Each subcommand
// prints one number on stdout, nothing else; errors go to stderr with exit status 1.
//
//   fsbench stat ROOT N           ns per stat() of existing image files and directories under ROOT
//                                 (the busybox image's), round robin, after one warm-up pass
//   fsbench smallread DIR N       ns per open + read(4 KiB) + close of SMALL_FILES files of 4 KiB
//                                 that it first creates in DIR (once, then kept: warm)
//   fsbench seqwrite FILE MIB     MB/s (10^6 bytes) writing MIB MiB in 1 MiB writes, fsync included
//   fsbench seqread FILE MIB      MB/s reading the first MIB MiB of FILE in 1 MiB reads, warm: one
//                                 untimed pass first (a container cannot drop the host's caches)
//   fsbench createdelete DIR N    µs per file to create N empty files in DIR, then delete them
//   fsbench tar ARCHIVE DIR       ms for `/bin/tar -xf ARCHIVE -C DIR` (posix_spawn, waited for)
//
// The same static binary runs under every runtime, so the differences are the runtime's.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SMALL_FILES 64
#define SMALL_SIZE 4096
#define BUF_SIZE (1 << 20)
#define MAX_PATH 512

// Paths under ROOT that the stat loop uses when they exist: the busybox image's binary, its
// /etc files and directories of one to three components.
static const char *const stat_paths[] = {
    "", "bin", "bin/busybox", "etc", "etc/passwd", "etc/group", "home", "home/user", "root", "tmp", "var",
};

static void die(const char *what, const char *arg) {
  fprintf(stderr, "fsbench: %s %s: %s\n", what, arg ? arg : "", strerror(errno));
  exit(1);
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static long positive(const char *s, const char *what) {
  char *end;
  long n = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || n <= 0) {
    fprintf(stderr, "fsbench: %s must be a positive number, not \"%s\"\n", what, s);
    exit(2);
  }
  return n;
}

static int run_stat(const char *root, long n) {
  char paths[sizeof stat_paths / sizeof stat_paths[0]][MAX_PATH];
  int count = 0;
  struct stat st;
  for (size_t i = 0; i < sizeof stat_paths / sizeof stat_paths[0]; i++) {
    const char *sep = root[0] != '\0' && root[strlen(root) - 1] == '/' ? "" : "/";
    snprintf(paths[count], MAX_PATH, "%s%s%s", root, sep, stat_paths[i]);
    if (stat(paths[count], &st) == 0) count++;
  }
  if (count == 0) die("no image files found under", root);
  for (int i = 0; i < count; i++) stat(paths[i], &st);  // warm-up pass
  double t0 = now_ns();
  for (long i = 0; i < n; i++) {
    if (stat(paths[i % count], &st) != 0) die("stat", paths[i % count]);
  }
  printf("%.1f\n", (now_ns() - t0) / (double)n);
  return 0;
}

// One open + read + close of a file.
static void read_one(const char *p, char *buf) {
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open", p);
  if (read(fd, buf, SMALL_SIZE) != SMALL_SIZE) die("read", p);
  close(fd);
}

static int run_smallread(const char *dir, long n) {
  static char buf[SMALL_SIZE];
  char name[SMALL_FILES][MAX_PATH];
  memset(buf, 'x', sizeof buf);
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) die("mkdir", dir);
  for (int i = 0; i < SMALL_FILES; i++) {
    snprintf(name[i], MAX_PATH, "%s/small-%03d", dir, i);
    int fd = open(name[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) die("create", name[i]);
    if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) die("write", name[i]);
    close(fd);
  }
  for (int i = 0; i < SMALL_FILES; i++) read_one(name[i], buf);  // warm-up pass
  double t0 = now_ns();
  for (long i = 0; i < n; i++) read_one(name[i % SMALL_FILES], buf);
  printf("%.1f\n", (now_ns() - t0) / (double)n);
  return 0;
}

static char *big_buffer(void) {
  char *buf = malloc(BUF_SIZE);
  if (!buf) die("malloc", NULL);
  for (int i = 0; i < BUF_SIZE; i++) buf[i] = (char)(i * 131 + (i >> 12));
  return buf;
}

static int run_seqwrite(const char *file, long mib) {
  char *buf = big_buffer();
  double t0 = now_ns();
  int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("create", file);
  for (long i = 0; i < mib; i++) {
    if (write(fd, buf, BUF_SIZE) != BUF_SIZE) die("write", file);
  }
  if (fsync(fd) != 0) die("fsync", file);
  if (close(fd) != 0) die("close", file);
  printf("%.1f\n", mib * (double)BUF_SIZE / ((now_ns() - t0) / 1e9) / 1e6);
  return 0;
}

// Reads the first mib MiB of file once; returns the time taken in ns.
static double read_pass(const char *file, long mib, char *buf) {
  double t0 = now_ns();
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open", file);
  for (long i = 0; i < mib; i++) {
    if (read(fd, buf, BUF_SIZE) != BUF_SIZE) die("read (file too short?)", file);
  }
  close(fd);
  return now_ns() - t0;
}

static int run_seqread(const char *file, long mib) {
  char *buf = big_buffer();
  read_pass(file, mib, buf);  // warm-up pass
  printf("%.1f\n", mib * (double)BUF_SIZE / (read_pass(file, mib, buf) / 1e9) / 1e6);
  return 0;
}

static int run_createdelete(const char *dir, long n) {
  char p[MAX_PATH];
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) die("mkdir", dir);
  double t0 = now_ns();
  for (long i = 0; i < n; i++) {
    snprintf(p, sizeof p, "%s/f%06ld", dir, i);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) die("create", p);
    close(fd);
  }
  for (long i = 0; i < n; i++) {
    snprintf(p, sizeof p, "%s/f%06ld", dir, i);
    if (unlink(p) != 0) die("unlink", p);
  }
  printf("%.2f\n", (now_ns() - t0) / 1e3 / (double)n);
  return 0;
}

static int run_tar(const char *archive, const char *dir) {
  char *argv[] = {"tar", "-xf", (char *)archive, "-C", (char *)dir, NULL};
  pid_t pid;
  int status;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) die("mkdir", dir);
  double t0 = now_ns();
  int err = posix_spawn(&pid, "/bin/tar", NULL, NULL, argv, environ);
  if (err != 0) {
    errno = err;
    die("posix_spawn", "/bin/tar");
  }
  if (waitpid(pid, &status, 0) != pid) die("waitpid", "tar");
  double ms = (now_ns() - t0) / 1e6;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "fsbench: /bin/tar -xf %s -C %s: status 0x%x\n", archive, dir, status);
    return 1;
  }
  printf("%.1f\n", ms);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4) {
    const char *cmd = argv[1];
    if (strcmp(cmd, "stat") == 0) return run_stat(argv[2], positive(argv[3], "N"));
    if (strcmp(cmd, "smallread") == 0) return run_smallread(argv[2], positive(argv[3], "N"));
    if (strcmp(cmd, "seqwrite") == 0) return run_seqwrite(argv[2], positive(argv[3], "MIB"));
    if (strcmp(cmd, "seqread") == 0) return run_seqread(argv[2], positive(argv[3], "MIB"));
    if (strcmp(cmd, "createdelete") == 0) return run_createdelete(argv[2], positive(argv[3], "N"));
    if (strcmp(cmd, "tar") == 0) return run_tar(argv[2], argv[3]);
  }
  fprintf(stderr,
          "usage: fsbench stat ROOT N | smallread DIR N | seqwrite FILE MIB | seqread FILE MIB |\n"
          "               createdelete DIR N | tar ARCHIVE DIR\n");
  return 2;
}
