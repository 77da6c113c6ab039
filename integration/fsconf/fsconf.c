// fsconf: a file-system conformance program. The same static binary runs inside a runc container
// and inside a runsc-ts container (bind-mounted read-only at /fsconf, like probe/escape.c at
// /probe) and the two outputs are diffed, so everything it prints is deterministic and free of
// what legitimately differs between file systems: no inode or device numbers, f_type, block
// counts, st_blksize, absolute timestamps it did not set itself, directory entry order (names
// are sorted), d_type, or link counts of directories.
//
//   fsconf [--skip-large] [--nonroot-uid UID] [--other-mount DIR] <dir>
//
// makes a fresh scratch directory <dir>/fsconf.<pid>, runs every group of checks in a
// subdirectory of its own and in a child process of its own (a crash or a hang of one group,
// reported as `<group>_exit: SIGSEGV (want ok)`, does not stop the others), removes the scratch
// directory at the end whatever happened, and prints one line per check:
//
//   name: result                  result is `ok`, an errno name (EEXIST) or a small value (size=5)
//   name: result (want expected)  the answer POSIX/Linux defines differs from the result
//
// and last `fsconf: N checks, M unexpected`. Checks whose answer depends on the file system or
// on the container (O_TMPFILE, mknod of a device, exdev) carry no expectation and only show up in
// the diff. Exit status: 0 when every expectation held, 1 when some did not, 2 on usage or
// set-up errors. Expectations assume root (in the container) with the capabilities containerd
// gives it (CHOWN, DAC_OVERRIDE, FOWNER, FSETID, SETUID, SETGID; without them the root-only
// checks print `chown: skipped` and `nonroot: skipped`); the non-root checks run in a child
// that drops to 65534:65534 (or --nonroot-uid UID, used as uid and gid) and reports back over a
// pipe. --skip-large makes the large-directory group use 2,000 files instead of 50,000 (the count
// is part of the check names). --other-mount (default /dev/shm) is a directory on another mount
// for the EXDEV checks; `exdev: skipped` when it is missing or on the scratch directory's device.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define LARGE_FILES 50000
#define SMALL_FILES 2000
#define GROUP_TIMEOUT_S 600  // a group still running after this is killed (SIGALRM)
#define MIB (1024 * 1024)

// ---------------------------------------------------------------------------------------------
// Options and counters.

static int opt_skip_large;
static uid_t opt_nonroot_uid = 65534;
static const char *opt_other_mount = "/dev/shm";

// The counters live in shared memory so that groups, which run in child processes, add to them.
static struct counters {
  int checks, unexpected;
} *counters;

// In a child that reports over a pipe (the non-root child), check() writes records here instead
// of printing; the parent replays them through check().
static int report_fd = -1;

// ---------------------------------------------------------------------------------------------
// Formatting helpers.

// fmt formats into one of a ring of static buffers, so a few results can be alive at once.
static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...) {
  static char bufs[32][512];
  static unsigned next;
  char *b = bufs[next++ % 32];
  va_list ap;
  va_start(ap, f);
  vsnprintf(b, sizeof bufs[0], f, ap);
  va_end(ap);
  return b;
}

// errname names an errno value. ENOTSUP is EOPNOTSUPP, EWOULDBLOCK is EAGAIN, ENOATTR is ENODATA
// and EDEADLOCK is EDEADLK on Linux: each value is printed under the first name.
static const char *errname(int e) {
  static const struct {
    int e;
    const char *name;
  } names[] = {
#define E(x) {x, #x}
      E(EPERM),        E(ENOENT),       E(ESRCH),           E(EINTR),           E(EIO),
      E(ENXIO),        E(E2BIG),        E(ENOEXEC),         E(EBADF),           E(ECHILD),
      E(EAGAIN),       E(ENOMEM),       E(EACCES),          E(EFAULT),          E(ENOTBLK),
      E(EBUSY),        E(EEXIST),       E(EXDEV),           E(ENODEV),          E(ENOTDIR),
      E(EISDIR),       E(EINVAL),       E(ENFILE),          E(EMFILE),          E(ENOTTY),
      E(ETXTBSY),      E(EFBIG),        E(ENOSPC),          E(ESPIPE),          E(EROFS),
      E(EMLINK),       E(EPIPE),        E(EDOM),            E(ERANGE),          E(EDEADLK),
      E(ENAMETOOLONG), E(ENOLCK),       E(ENOSYS),          E(ENOTEMPTY),       E(ELOOP),
      E(ENOMSG),       E(EIDRM),        E(ENOSTR),          E(ENODATA),         E(ETIME),
      E(ENOLINK),      E(EPROTO),       E(EBADMSG),         E(EOVERFLOW),       E(EBADFD),
      E(EILSEQ),       E(EUSERS),       E(ENOTSOCK),        E(EDESTADDRREQ),    E(EMSGSIZE),
      E(EPROTOTYPE),   E(ENOPROTOOPT),  E(EPROTONOSUPPORT), E(EOPNOTSUPP),      E(EAFNOSUPPORT),
      E(EADDRINUSE),   E(EADDRNOTAVAIL), E(ENETDOWN),       E(ENETUNREACH),     E(ECONNABORTED),
      E(ECONNRESET),   E(ENOBUFS),      E(EISCONN),         E(ENOTCONN),        E(ETIMEDOUT),
      E(ECONNREFUSED), E(EHOSTUNREACH), E(EALREADY),        E(EINPROGRESS),     E(ESTALE),
      E(EUCLEAN),      E(EREMOTEIO),    E(EDQUOT),          E(ENOMEDIUM),       E(EMEDIUMTYPE),
      E(ECANCELED),    E(ENOKEY),       E(EKEYEXPIRED),     E(EKEYREVOKED),     E(EKEYREJECTED),
      E(EOWNERDEAD),   E(ENOTRECOVERABLE), E(ERFKILL),      E(EHWPOISON),
#undef E
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (names[i].e == e) return names[i].name;
  return fmt("E%d", e);
}

static const char *signame(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGALRM: return "SIGALRM";
    case SIGKILL: return "SIGKILL";
    case SIGABRT: return "SIGABRT";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGTERM: return "SIGTERM";
    case SIGPIPE: return "SIGPIPE";
    case SIGSYS: return "SIGSYS";
    case SIGXFSZ: return "SIGXFSZ";
    default: return fmt("SIG%d", sig);
  }
}

// rc is the result of a call that returns -1 and sets errno on failure: "ok" or the errno name.
static const char *rc(long r) { return r < 0 ? errname(errno) : "ok"; }

// esc makes bytes printable: printable ASCII but space and backslash as is, the rest as \xNN.
static const char *esc(const void *p, size_t n) {
  char out[400];
  size_t o = 0;
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    if (o + 8 >= sizeof out) {
      o += (size_t)snprintf(out + o, sizeof out - o, "...");
      break;
    }
    if (s[i] > ' ' && s[i] < 0x7f && s[i] != '\\') out[o++] = (char)s[i];
    else o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", s[i]);
  }
  out[o] = 0;
  return fmt("%s", out);
}

static const char *tname(mode_t m) {
  switch (m & S_IFMT) {
    case S_IFREG: return "reg";
    case S_IFDIR: return "dir";
    case S_IFLNK: return "lnk";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "sock";
    case S_IFCHR: return "chr";
    case S_IFBLK: return "blk";
    default: return "unknown";
  }
}

// privileged: euid 0 with the capabilities a container's root normally has (containerd's
// default set) and the root-only checks rely on. Without them those checks print `skipped`.
static int privileged(void) {
  if (geteuid() != 0) return 0;
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) < 0) return 0;
  static const int need[] = {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_SETUID, CAP_SETGID};
  for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
    if (!(data[need[i] / 32].effective & (1U << (need[i] % 32)))) return 0;
  return 1;
}

static const char *tsstr(struct timespec t) { return fmt("%lld.%09ld", (long long)t.tv_sec, t.tv_nsec); }

// ---------------------------------------------------------------------------------------------
// Result printing.

// check records one result; want is the POSIX/Linux answer or NULL when there is none.
static void check(const char *name, const char *got, const char *want) {
  if (report_fd >= 0) {
    dprintf(report_fd, "%s\t%s\t%s\t%d\n", name, got, want ? want : "", want != NULL);
    return;
  }
  __atomic_add_fetch(&counters->checks, 1, __ATOMIC_SEQ_CST);
  if (want && strcmp(got, want) != 0) {
    __atomic_add_fetch(&counters->unexpected, 1, __ATOMIC_SEQ_CST);
    printf("%s: %s (want %s)\n", name, got, want);
  } else {
    printf("%s: %s\n", name, got);
  }
}

// A few checks are written check(name, (action, observation), want): the action's own result
// shows in what is observed after it.

// must reports a set-up step only when it fails (then what follows will show why).
static void must(const char *name, long r) {
  if (r < 0) check(fmt("%s_setup", name), errname(errno), "ok");
}

// ---------------------------------------------------------------------------------------------
// File helpers. Each returns a result string: the value, or the errno name of what failed.

static const char *n_rc(ssize_t n) { return n < 0 ? errname(errno) : fmt("n=%zd", n); }
static const char *pos_rc(off_t r) { return r < 0 ? errname(errno) : fmt("pos=%lld", (long long)r); }

// open_rc opens and closes a path: "ok" or the errno name.
static const char *open_rc(const char *path, int flags) {
  int fd = open(path, flags | O_CLOEXEC, 0644);
  if (fd < 0) return errname(errno);
  close(fd);
  return "ok";
}

// put creates or truncates path (mode 0644 before the umask) and writes data; -1 and errno on failure.
static int put(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  size_t n = strlen(data);
  ssize_t w = write(fd, data, n);
  int saved = errno;
  close(fd);
  if (w != (ssize_t)n) {
    errno = w < 0 ? saved : EIO;
    return -1;
  }
  return 0;
}

static const char *fd_data(int fd) {
  char buf[96];
  ssize_t n = pread(fd, buf, sizeof buf, 0);
  if (n < 0) return errname(errno);
  return fmt("data=%s", esc(buf, (size_t)n));
}

static const char *data_of(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errname(errno);
  const char *r = fd_data(fd);
  close(fd);
  return r;
}

enum what { W_SIZE, W_MODE, W_TYPE, W_NLINK, W_OWNER, W_MTIME, W_ATIME, W_TYPEMODE };

static const char *stat_what(const struct stat *st, enum what w) {
  switch (w) {
    case W_SIZE: return fmt("size=%lld", (long long)st->st_size);
    case W_MODE: return fmt("mode=%04o", (unsigned)(st->st_mode & 07777));
    case W_TYPE: return fmt("type=%s", tname(st->st_mode));
    case W_NLINK: return fmt("nlink=%lu", (unsigned long)st->st_nlink);
    case W_OWNER: return fmt("owner=%u:%u", (unsigned)st->st_uid, (unsigned)st->st_gid);
    case W_MTIME: return fmt("mtime=%s", tsstr(st->st_mtim));
    case W_ATIME: return fmt("atime=%s", tsstr(st->st_atim));
    case W_TYPEMODE: return fmt("type=%s mode=%04o", tname(st->st_mode), (unsigned)(st->st_mode & 07777));
  }
  return "?";
}

static const char *st(const char *path, enum what w) {
  struct stat s;
  if (stat(path, &s) < 0) return errname(errno);
  return stat_what(&s, w);
}

static const char *lst(const char *path, enum what w) {
  struct stat s;
  if (lstat(path, &s) < 0) return errname(errno);
  return stat_what(&s, w);
}

static const char *fst(int fd, enum what w) {
  struct stat s;
  if (fstat(fd, &s) < 0) return errname(errno);
  return stat_what(&s, w);
}

static const char *stat_rc(const char *path) {
  struct stat s;
  return rc(stat(path, &s));
}

// same_inode: "ok" when two paths name the same inode (compared, never printed).
static const char *same_inode(const char *a, const char *b) {
  struct stat x, y;
  if (stat(a, &x) < 0 || stat(b, &y) < 0) return errname(errno);
  return x.st_dev == y.st_dev && x.st_ino == y.st_ino ? "ok" : "different";
}

// recent: "ok" when a time is within 10 s of now (for times the file system set itself).
static const char *recent(struct timespec t) {
  time_t now = time(NULL);
  return t.tv_sec >= now - 10 && t.tv_sec <= now + 10 ? "ok" : "not-recent";
}

// names_of lists a directory's entries, sorted and comma-separated (for small directories).
static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static const char *names_of(const char *path) {
  DIR *d = opendir(path);
  if (!d) return errname(errno);
  char *names[64];
  int n = 0;
  struct dirent *e;
  while (n < 64 && (e = readdir(d)) != NULL) names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmpstr);
  char out[480] = "names=";
  for (int i = 0; i < n; i++) {
    if (i) strncat(out, ",", sizeof out - strlen(out) - 1);
    strncat(out, names[i], sizeof out - strlen(out) - 1);
    free(names[i]);
  }
  return fmt("%s", out);
}

// count_entries counts a directory's entries (with . and ..); -1 and errno on failure.
static long count_entries(const char *path) {
  DIR *d = opendir(path);
  if (!d) return -1;
  long n = 0;
  errno = 0;
  while (readdir(d)) n++;
  int saved = errno;
  closedir(d);
  if (saved) {
    errno = saved;
    return -1;
  }
  return n;
}

static const char *count_rc(long n) { return n < 0 ? errname(errno) : fmt("count=%ld", n); }

// in_child runs fn in a forked child and returns the string it produced (sent over a pipe).
typedef const char *(*child_fn)(void *arg);
static const char *in_child(child_fn fn, void *arg) {
  int p[2];
  if (pipe(p) < 0) return errname(errno);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    int saved = errno;
    close(p[0]);
    close(p[1]);
    return errname(saved);
  }
  if (pid == 0) {
    close(p[0]);
    const char *r = fn(arg);
    if (write(p[1], r, strlen(r)) < 0) _exit(3);
    _exit(0);
  }
  close(p[1]);
  char buf[256];
  size_t n = 0;
  ssize_t k;
  while (n < sizeof buf - 1 && (k = read(p[0], buf + n, sizeof buf - 1 - n)) != 0) {
    if (k < 0) {
      if (errno == EINTR) continue;
      break;
    }
    n += (size_t)k;
  }
  close(p[0]);
  int status;
  waitpid(pid, &status, 0);
  buf[n] = 0;
  if (WIFSIGNALED(status)) return fmt("child-%s", signame(WTERMSIG(status)));
  return n ? fmt("%s", buf) : "no-answer";
}

// ---------------------------------------------------------------------------------------------
// Group: open, create, read, write, truncate.

static void g_open(void) {
  int fd = open("f", O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
  check("open_creat_excl", rc(fd), "ok");
  check("open_creat_stat", st("f", W_TYPEMODE), "type=reg mode=0644");
  check("open_creat_size", st("f", W_SIZE), "size=0");
  check("open_creat_nlink", st("f", W_NLINK), "nlink=1");
  check("open_creat_owner", st("f", W_OWNER), fmt("owner=%u:%u", (unsigned)geteuid(), (unsigned)getegid()));
  check("open_creat_excl_exists", open_rc("f", O_CREAT | O_EXCL | O_RDWR), "EEXIST");
  check("open_creat_existing", open_rc("f", O_CREAT | O_RDWR), "ok");
  check("open_missing", open_rc("missing", O_RDONLY), "ENOENT");
  check("open_creat_missing_parent", open_rc("nodir/f", O_CREAT | O_RDWR), "ENOENT");
  check("open_through_file", open_rc("f/x", O_RDONLY), "ENOTDIR");
  check("open_file_trailing_slash", open_rc("f/", O_RDONLY), "ENOTDIR");
  check("open_empty_path", open_rc("", O_RDONLY), "ENOENT");
  check("write", n_rc(write(fd, "hello", 5)), "n=5");
  check("lseek_cur", pos_rc(lseek(fd, 0, SEEK_CUR)), "pos=5");
  check("lseek_end", pos_rc(lseek(fd, 0, SEEK_END)), "pos=5");
  check("lseek_negative", pos_rc(lseek(fd, -1, SEEK_SET)), "EINVAL");
  char buf[64];
  lseek(fd, 0, SEEK_SET);
  ssize_t n = read(fd, buf, sizeof buf);
  check("read", n < 0 ? errname(errno) : fmt("data=%s", esc(buf, (size_t)n)), "data=hello");
  check("read_eof", n_rc(read(fd, buf, sizeof buf)), "n=0");
  check("pwrite", n_rc(pwrite(fd, "E", 1, 1)), "n=1");
  check("pwrite_keeps_offset", pos_rc(lseek(fd, 0, SEEK_CUR)), "pos=5");
  n = pread(fd, buf, 3, 1);
  check("pread", n < 0 ? errname(errno) : fmt("data=%s", esc(buf, (size_t)n)), "data=Ell");
  check("pwrite_past_eof", n_rc(pwrite(fd, "Z", 1, 8)), "n=1");
  check("pwrite_past_eof_data", fd_data(fd), "data=hEllo\\x00\\x00\\x00Z");
  check("fstat_size", fst(fd, W_SIZE), "size=9");
  int fd2 = open("f", O_RDONLY | O_CLOEXEC);
  pwrite(fd, "W", 1, 0);
  check("second_fd_sees_write", fd_data(fd2), "data=WEllo\\x00\\x00\\x00Z");
  check("second_fd_sees_size", (pwrite(fd, "+", 1, 9), fst(fd2, W_SIZE)), "size=10");
  check("path_sees_size", st("f", W_SIZE), "size=10");
  check("write_rdonly_fd", n_rc(write(fd2, "x", 1)), "EBADF");
  close(fd2);
  close(fd);
  fd = open("f", O_WRONLY | O_CLOEXEC);
  check("read_wronly_fd", n_rc(read(fd, buf, 1)), "EBADF");
  close(fd);

  check("open_trunc", open_rc("f", O_WRONLY | O_TRUNC), "ok");
  check("open_trunc_size", st("f", W_SIZE), "size=0");

  must("append", put("a", "abc"));
  fd = open("a", O_WRONLY | O_APPEND | O_CLOEXEC);
  check("open_append", rc(fd), "ok");
  lseek(fd, 0, SEEK_SET);
  check("append_write", n_rc(write(fd, "def", 3)), "n=3");
  check("append_offset", pos_rc(lseek(fd, 0, SEEK_CUR)), "pos=6");
  check("append_data", data_of("a"), "data=abcdef");
  // Linux (unlike POSIX) appends a pwrite on an O_APPEND fd whatever its offset (pwrite(2), BUGS).
  check("append_pwrite", n_rc(pwrite(fd, "g", 1, 0)), "n=1");
  check("append_pwrite_data", data_of("a"), "data=abcdefg");
  close(fd);

  must("trunc", put("t", "abc"));
  fd = open("t", O_RDWR | O_CLOEXEC);
  check("ftruncate_grow", rc(ftruncate(fd, 10)), "ok");
  check("ftruncate_grow_size", fst(fd, W_SIZE), "size=10");
  check("ftruncate_grow_data", fd_data(fd), "data=abc\\x00\\x00\\x00\\x00\\x00\\x00\\x00");
  check("ftruncate_shrink", rc(ftruncate(fd, 2)), "ok");
  check("ftruncate_shrink_data", fd_data(fd), "data=ab");
  check("ftruncate_regrow_zeros", (ftruncate(fd, 4), fd_data(fd)), "data=ab\\x00\\x00");
  check("ftruncate_negative", rc(ftruncate(fd, -1)), "EINVAL");
  close(fd);
  check("truncate_path", rc(truncate("t", 1)), "ok");
  check("truncate_path_data", data_of("t"), "data=a");
  check("truncate_missing", rc(truncate("missing", 0)), "ENOENT");
  fd = open("t", O_RDONLY | O_CLOEXEC);
  check("ftruncate_rdonly_fd", rc(ftruncate(fd, 0)), "EINVAL");
  close(fd);

  must("dir", mkdir("d", 0755));
  check("truncate_dir", rc(truncate("d", 0)), "EISDIR");
  check("open_odirectory_file", open_rc("t", O_RDONLY | O_DIRECTORY), "ENOTDIR");
  check("open_odirectory_dir", open_rc("d", O_RDONLY | O_DIRECTORY), "ok");
  check("open_dir_rdonly", open_rc("d", O_RDONLY), "ok");
  check("open_dir_wronly", open_rc("d", O_WRONLY), "EISDIR");
  check("open_dir_rdwr", open_rc("d", O_RDWR), "EISDIR");
  check("open_dir_creat", open_rc("d", O_CREAT | O_RDWR), "EISDIR");
  check("open_dir_creat_excl", open_rc("d", O_CREAT | O_EXCL | O_RDWR), "EEXIST");
  fd = open("d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  check("read_dir_fd", n_rc(read(fd, buf, sizeof buf)), "EISDIR");
  close(fd);

  must("recreate", put("r", "1"));
  check("recreate_stat", stat_rc("r"), "ok");
  check("recreate_unlink", rc(unlink("r")), "ok");
  check("recreate_stat_gone", stat_rc("r"), "ENOENT");
  check("recreate_open_gone", open_rc("r", O_RDONLY), "ENOENT");
  check("recreate_create", rc(put("r", "22")), "ok");
  check("recreate_data", data_of("r"), "data=22");
}

// ---------------------------------------------------------------------------------------------
// Group: mkdir, rmdir, unlink, directory semantics.

static void g_dirs(void) {
  check("mkdir", rc(mkdir("d", 0777)), "ok");
  check("mkdir_stat", st("d", W_TYPEMODE), "type=dir mode=0755");
  check("mkdir_exists", rc(mkdir("d", 0777)), "EEXIST");
  must("file", put("f", "x"));
  check("mkdir_over_file", rc(mkdir("f", 0777)), "EEXIST");
  check("mkdir_missing_parent", rc(mkdir("nodir/sub", 0777)), "ENOENT");
  check("mkdir_parent_is_file", rc(mkdir("f/sub", 0777)), "ENOTDIR");
  check("mkdir_empty_name", rc(mkdir("", 0777)), "ENOENT");
  check("mkdir_trailing_slash", rc(mkdir("d2/", 0777)), "ok");
  check("mkdir_mode_bits", (mkdir("d3", 0700), st("d3", W_MODE)), "mode=0700");
  check("readdir_empty", names_of("d"), "names=.,..");
  must("d/x", put("d/x", ""));
  check("rmdir_nonempty", rc(rmdir("d")), "ENOTEMPTY");
  check("rmdir_file", rc(rmdir("f")), "ENOTDIR");
  check("rmdir_missing", rc(rmdir("missing")), "ENOENT");
  check("rmdir_dot", rc(rmdir(".")), "EINVAL");
  check("rmdir_sub_dot", rc(rmdir("d2/.")), "EINVAL");
  check("rmdir_dotdot", rc(rmdir("..")), "ENOTEMPTY");
  check("unlink_dir", rc(unlink("d")), "EISDIR");
  check("unlink_missing", rc(unlink("missing")), "ENOENT");
  check("unlink_file_trailing_slash", rc(unlink("f/")), "ENOTDIR");
  check("unlink_file", rc(unlink("d/x")), "ok");
  check("unlink_file_gone", stat_rc("d/x"), "ENOENT");
  check("rmdir_empty", rc(rmdir("d")), "ok");
  check("rmdir_gone", stat_rc("d"), "ENOENT");
  check("rmdir_trailing_slash", rc(rmdir("d2/")), "ok");

  must("list", mkdir("list", 0755));
  put("list/b", "");
  put("list/a", "");
  put("list/c", "");
  mkdir("list/sub", 0755);
  check("readdir_names", names_of("list"), "names=.,..,a,b,c,sub");
  unlink("list/b");
  check("readdir_after_unlink", names_of("list"), "names=.,..,a,c,sub");

  char name[300];
  memset(name, 'n', 255);
  name[255] = 0;
  check("name_255_create", open_rc(name, O_CREAT | O_WRONLY), "ok");
  check("name_255_unlink", rc(unlink(name)), "ok");
  name[255] = 'n';
  name[256] = 0;
  check("name_256_create", open_rc(name, O_CREAT | O_WRONLY), "ENAMETOOLONG");
  check("name_256_mkdir", rc(mkdir(name, 0755)), "ENAMETOOLONG");
  check("name_256_stat", stat_rc(name), "ENAMETOOLONG");
  char *longpath = malloc(PATH_MAX + 16);
  memset(longpath, 'a', PATH_MAX + 8);
  for (int i = 100; i < PATH_MAX + 8; i += 101) longpath[i] = '/';
  longpath[PATH_MAX + 8] = 0;
  check("path_too_long", stat_rc(longpath), "ENAMETOOLONG");
  free(longpath);

  // A removed directory still open: nothing can be created in it and getdents fails.
  must("gone", mkdir("gone", 0755));
  int dfd = open("gone", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  check("removed_dir_rmdir", rc(rmdir("gone")), "ok");
  int fd = openat(dfd, "x", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  check("removed_dir_create", rc(fd), "ENOENT");
  if (fd >= 0) close(fd);
  check("removed_dir_mkdir", rc(mkdirat(dfd, "y", 0755)), "ENOENT");
  char dents[4096];
  check("removed_dir_getdents", n_rc(syscall(SYS_getdents64, dfd, dents, sizeof dents)), "ENOENT");
  close(dfd);

  // A directory's mtime and ctime move when entries are created, renamed and removed.
  must("times", mkdir("times", 0755));
  struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
  struct stat s;
  utimensat(AT_FDCWD, "times", old, 0);
  put("times/a", "");
  check("dir_mtime_on_create", stat("times", &s) < 0 ? errname(errno) : recent(s.st_mtim), "ok");
  check("dir_ctime_on_create", stat("times", &s) < 0 ? errname(errno) : recent(s.st_ctim), "ok");
  utimensat(AT_FDCWD, "times", old, 0);
  rename("times/a", "times/b");
  check("dir_mtime_on_rename", stat("times", &s) < 0 ? errname(errno) : recent(s.st_mtim), "ok");
  utimensat(AT_FDCWD, "times", old, 0);
  unlink("times/b");
  check("dir_mtime_on_unlink", stat("times", &s) < 0 ? errname(errno) : recent(s.st_mtim), "ok");
}

// ---------------------------------------------------------------------------------------------
// Group: rename and renameat2.

static void g_rename(void) {
  must("a", put("a", "A"));
  must("b", put("b", "B"));
  check("rename_plain", rc(rename("a", "c")), "ok");
  check("rename_plain_old", stat_rc("a"), "ENOENT");
  check("rename_plain_new", data_of("c"), "data=A");
  check("rename_over_file", rc(rename("c", "b")), "ok");
  check("rename_over_file_data", data_of("b"), "data=A");
  check("rename_over_file_old", stat_rc("c"), "ENOENT");
  check("rename_missing", rc(rename("missing", "x")), "ENOENT");
  check("rename_to_missing_dir", rc(rename("b", "nodir/x")), "ENOENT");
  check("rename_same_name", rc(rename("b", "b")), "ok");
  check("rename_same_name_data", data_of("b"), "data=A");
  check("rename_file_trailing_slash", rc(rename("b/", "x")), "ENOTDIR");
  check("rename_dot", rc(rename(".", "x")), "EBUSY");

  // Renaming onto another link of the same inode does nothing and succeeds.
  must("hl", link("b", "hl"));
  check("rename_onto_hardlink", rc(rename("b", "hl")), "ok");
  check("rename_onto_hardlink_old", stat_rc("b"), "ok");
  check("rename_onto_hardlink_nlink", st("hl", W_NLINK), "nlink=2");
  unlink("hl");

  // An open file keeps working after it is renamed.
  int fd = open("b", O_RDWR | O_CLOEXEC);
  check("rename_open_file", rc(rename("b", "bb")), "ok");
  check("rename_open_file_read", fd_data(fd), "data=A");
  check("rename_open_file_write", (pwrite(fd, "Q", 1, 0), data_of("bb")), "data=Q");
  close(fd);

  must("d1", mkdir("d1", 0755));
  must("d1/x", put("d1/x", "X"));
  must("d2", mkdir("d2", 0755));
  must("d2/y", put("d2/y", "Y"));
  must("d3", mkdir("d3", 0755));
  check("rename_dir_over_nonempty", rc(rename("d1", "d2")), "ENOTEMPTY");
  check("rename_dir_over_empty", rc(rename("d1", "d3")), "ok");
  check("rename_dir_over_empty_data", data_of("d3/x"), "data=X");
  check("rename_dir_over_empty_old", stat_rc("d1"), "ENOENT");
  check("rename_file_over_dir", rc(rename("bb", "d2")), "EISDIR");
  check("rename_dir_over_file", rc(rename("d2", "bb")), "ENOTDIR");
  must("d3/sub", mkdir("d3/sub", 0755));
  check("rename_into_own_subdir", rc(rename("d3", "d3/sub/z")), "EINVAL");
  check("rename_into_self", rc(rename("d3", "d3/z")), "EINVAL");
  must("p", mkdir("p", 0755));
  check("rename_dir_to_other_parent", rc(rename("d3", "p/d3")), "ok");
  check("rename_dir_dotdot", same_inode("p/d3/..", "p"), "ok");
  check("rename_dir_child_dotdot", same_inode("p/d3/sub/..", "p/d3"), "ok");
  check("rename_dir_contents", data_of("p/d3/x"), "data=X");

  // renameat2: RENAME_NOREPLACE and RENAME_EXCHANGE.
  must("nr", put("nr", "N"));
  check("renameat2_noreplace_exists", rc(renameat2(AT_FDCWD, "nr", AT_FDCWD, "bb", RENAME_NOREPLACE)), "EEXIST");
  check("renameat2_noreplace_exists_data", data_of("bb"), "data=Q");
  check("renameat2_noreplace_new", rc(renameat2(AT_FDCWD, "nr", AT_FDCWD, "nr2", RENAME_NOREPLACE)), "ok");
  check("renameat2_noreplace_new_data", data_of("nr2"), "data=N");
  must("x", put("x", "X"));
  must("y", put("y", "Y"));
  check("renameat2_exchange", rc(renameat2(AT_FDCWD, "x", AT_FDCWD, "y", RENAME_EXCHANGE)), "ok");
  check("renameat2_exchange_x", data_of("x"), "data=Y");
  check("renameat2_exchange_y", data_of("y"), "data=X");
  must("ed", mkdir("ed", 0755));
  check("renameat2_exchange_file_dir", rc(renameat2(AT_FDCWD, "x", AT_FDCWD, "ed", RENAME_EXCHANGE)), "ok");
  check("renameat2_exchange_file_dir_x", lst("x", W_TYPE), "type=dir");
  check("renameat2_exchange_file_dir_ed", lst("ed", W_TYPE), "type=reg");
  check("renameat2_exchange_missing",
        rc(renameat2(AT_FDCWD, "y", AT_FDCWD, "missing", RENAME_EXCHANGE)), "ENOENT");
  check("renameat2_exchange_missing_data", data_of("y"), "data=X");
  check("renameat2_exchange_noreplace",
        rc(renameat2(AT_FDCWD, "y", AT_FDCWD, "ed", RENAME_EXCHANGE | RENAME_NOREPLACE)), "EINVAL");
}

// ---------------------------------------------------------------------------------------------
// Group: EXDEV across mounts.

static void g_exdev(void) {
  struct stat here, there;
  if (stat(".", &here) < 0 || stat(opt_other_mount, &there) < 0 || !S_ISDIR(there.st_mode) ||
      here.st_dev == there.st_dev) {
    check("exdev", "skipped", NULL);
    return;
  }
  const char *target = fmt("%s/fsconf.%d.exdev", opt_other_mount, (int)getpid());
  must("f", put("f", "x"));
  int r = rename("f", target);
  check("exdev_rename_file", rc(r), "EXDEV");
  if (r == 0) rename(target, "f");
  r = link("f", target);
  check("exdev_link", rc(r), "EXDEV");
  if (r == 0) unlink(target);
  must("d", mkdir("d", 0755));
  r = rename("d", target);
  check("exdev_rename_dir", rc(r), "EXDEV");
  if (r == 0) rename(target, "d");
  check("exdev_source_intact", data_of("f"), "data=x");
}

// ---------------------------------------------------------------------------------------------
// Group: hard links.

static void g_link(void) {
  must("f", put("f", "hello"));
  check("link", rc(link("f", "g")), "ok");
  check("link_nlink", st("f", W_NLINK), "nlink=2");
  check("link_nlink_other", st("g", W_NLINK), "nlink=2");
  check("link_same_inode", same_inode("f", "g"), "ok");
  check("link_data", data_of("g"), "data=hello");
  int fd = open("g", O_WRONLY | O_CLOEXEC);
  check("link_shared_write", (pwrite(fd, "J", 1, 0), data_of("f")), "data=Jello");
  check("link_fstat_nlink", fst(fd, W_NLINK), "nlink=2");
  close(fd);
  check("link_exists", rc(link("f", "g")), "EEXIST");
  check("link_missing", rc(link("missing", "x")), "ENOENT");
  check("link_missing_dir", rc(link("f", "nodir/x")), "ENOENT");
  must("d", mkdir("d", 0755));
  check("link_dir", rc(link("d", "dl")), "EPERM");
  check("link_into_dir", rc(link("f", "d/f")), "ok");
  check("link_into_dir_nlink", st("f", W_NLINK), "nlink=3");
  check("link_unlink_one", rc(unlink("f")), "ok");
  check("link_unlink_one_nlink", st("g", W_NLINK), "nlink=2");
  check("link_unlink_one_data", data_of("d/f"), "data=Jello");
  unlink("d/f");
  check("link_back_to_one", st("g", W_NLINK), "nlink=1");

  // linkat of a symlink links the symlink itself unless AT_SYMLINK_FOLLOW.
  must("s", symlink("g", "s"));
  check("linkat_symlink", rc(linkat(AT_FDCWD, "s", AT_FDCWD, "s2", 0)), "ok");
  check("linkat_symlink_type", lst("s2", W_TYPE), "type=lnk");
  check("linkat_symlink_follow", rc(linkat(AT_FDCWD, "s", AT_FDCWD, "s3", AT_SYMLINK_FOLLOW)), "ok");
  check("linkat_symlink_follow_type", lst("s3", W_TYPE), "type=reg");
  check("linkat_symlink_follow_nlink", st("g", W_NLINK), "nlink=2");

  // An unlinked file stays usable through its open fd.
  fd = open("u", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  check("unlink_open", rc(unlink("u")), "ok");
  check("unlink_open_stat", stat_rc("u"), "ENOENT");
  check("unlink_open_write", n_rc(write(fd, "ghost", 5)), "n=5");
  check("unlink_open_read", fd_data(fd), "data=ghost");
  check("unlink_open_nlink", fst(fd, W_NLINK), "nlink=0");
  check("unlink_open_fchmod", (fchmod(fd, 0600), fst(fd, W_MODE)), "mode=0600");
  check("unlink_open_ftruncate", (ftruncate(fd, 2), fd_data(fd)), "data=gh");
  close(fd);
}

// ---------------------------------------------------------------------------------------------
// Group: symbolic links.

static const char *readlink_rc(const char *path, size_t size) {
  char buf[256];
  ssize_t n = readlink(path, buf, size < sizeof buf ? size : sizeof buf);
  if (n < 0) return errname(errno);
  return fmt("len=%zd data=%s", n, esc(buf, (size_t)n));
}

static void g_symlink(void) {
  must("target", put("target", "T"));
  check("symlink", rc(symlink("target", "l")), "ok");
  check("symlink_readlink", readlink_rc("l", 256), "len=6 data=target");
  check("symlink_readlink_short", readlink_rc("l", 3), "len=3 data=tar");
  check("symlink_lstat", lst("l", W_TYPE), "type=lnk");
  check("symlink_lstat_size", lst("l", W_SIZE), "size=6");
  check("symlink_lstat_mode", lst("l", W_MODE), "mode=0777");
  check("symlink_stat", st("l", W_TYPE), "type=reg");
  check("symlink_read", data_of("l"), "data=T");
  check("symlink_exists", rc(symlink("x", "l")), "EEXIST");
  check("symlink_empty_target", rc(symlink("", "e")), "ENOENT");
  check("readlink_not_link", readlink_rc("target", 256), "EINVAL");
  check("readlink_missing", readlink_rc("missing", 256), "ENOENT");

  check("dangling", rc(symlink("nowhere", "dang")), "ok");
  check("dangling_open", open_rc("dang", O_RDONLY), "ENOENT");
  check("dangling_stat", stat_rc("dang"), "ENOENT");
  check("dangling_lstat", lst("dang", W_TYPE), "type=lnk");
  check("dangling_creat_excl", open_rc("dang", O_CREAT | O_EXCL | O_WRONLY), "EEXIST");
  check("dangling_creat", open_rc("dang", O_CREAT | O_WRONLY), "ok");
  check("dangling_creat_target", lst("nowhere", W_TYPE), "type=reg");

  must("la", symlink("lb", "la"));
  must("lb", symlink("la", "lb"));
  check("symlink_loop_open", open_rc("la", O_RDONLY), "ELOOP");
  check("symlink_loop_stat", stat_rc("la"), "ELOOP");
  check("symlink_nofollow", open_rc("l", O_RDONLY | O_NOFOLLOW), "ELOOP");
  int fd = open("l", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  check("symlink_opath_nofollow", rc(fd), "ok");
  if (fd >= 0) {
    check("symlink_opath_nofollow_fstat", fst(fd, W_TYPE), "type=lnk");
    close(fd);
  }

  // Linux follows at most 40 symbolic links in one lookup.
  must("c1", symlink("target", "c1"));
  for (int i = 2; i <= 41; i++) must("chain", symlink(fmt("c%d", i - 1), fmt("c%d", i)));
  check("symlink_chain_40", data_of("c40"), "data=T");
  check("symlink_chain_41", open_rc("c41", O_RDONLY), "ELOOP");

  must("dir", mkdir("dir", 0755));
  must("dir/f", put("dir/f", "F"));
  must("ld", symlink("dir", "ld"));
  check("symlink_dir_component", data_of("ld/f"), "data=F");
  check("symlink_dir_trailing_slash_lstat", lst("ld/", W_TYPE), "type=dir");
  check("symlink_dir_lstat", lst("ld", W_TYPE), "type=lnk");
  must("dir/up", symlink("../target", "dir/up"));
  check("symlink_relative_to_link_dir", data_of("dir/up"), "data=T");
  check("symlink_rename", rc(rename("ld", "ld2")), "ok");
  check("symlink_rename_readlink", readlink_rc("ld2", 256), "len=3 data=dir");
  check("symlink_unlink", rc(unlink("l")), "ok");
  check("symlink_unlink_target_kept", data_of("target"), "data=T");
}

// ---------------------------------------------------------------------------------------------
// Group: chmod, chown, utimensat.

static void g_attr(void) {
  int root = privileged();
  must("f", put("f", "x"));
  check("chmod", rc(chmod("f", 0600)), "ok");
  check("chmod_mode", st("f", W_MODE), "mode=0600");
  int fd = open("f", O_RDWR | O_CLOEXEC);
  check("fchmod", rc(fchmod(fd, 0640)), "ok");
  check("fchmod_mode", st("f", W_MODE), "mode=0640");
  check("chmod_setuid", (chmod("f", 04755), st("f", W_MODE)), "mode=4755");
  check("chmod_setuid_setgid", (chmod("f", 06755), st("f", W_MODE)), "mode=6755");
  check("chmod_missing", rc(chmod("missing", 0644)), "ENOENT");
  must("d", mkdir("d", 0755));
  check("chmod_dir_setgid", (chmod("d", 02755), st("d", W_MODE)), "mode=2755");
  check("chmod_dir_sticky", (chmod("d", 01777), st("d", W_MODE)), "mode=1777");
  check("chmod_dir_sticky_setgid", (chmod("d", 03777), st("d", W_MODE)), "mode=3777");
  chmod("f", 0644);
  must("lf", symlink("f", "lf"));
  check("fchmodat_symlink_follows", rc(fchmodat(AT_FDCWD, "lf", 0604, 0)), "ok");
  check("fchmodat_symlink_target", st("f", W_MODE), "mode=0604");
  check("fchmodat_symlink_link", lst("lf", W_MODE), "mode=0777");

  if (root) {
    check("chown", rc(chown("f", 1234, 5678)), "ok");
    check("chown_owner", st("f", W_OWNER), "owner=1234:5678");
    check("chown_unchanged", (chown("f", (uid_t)-1, (gid_t)-1), st("f", W_OWNER)), "owner=1234:5678");
    check("chown_gid_only", (chown("f", (uid_t)-1, 42), st("f", W_OWNER)), "owner=1234:42");
    check("fchown", rc(fchown(fd, 1234, 5678)), "ok");
    check("fchown_owner", fst(fd, W_OWNER), "owner=1234:5678");
    check("lchown", rc(lchown("lf", 4321, 8765)), "ok");
    check("lchown_link", lst("lf", W_OWNER), "owner=4321:8765");
    check("lchown_target", st("f", W_OWNER), "owner=1234:5678");
    check("chown_follows", (chown("lf", 1111, 2222), st("f", W_OWNER)), "owner=1111:2222");
    check("chown_follows_link", lst("lf", W_OWNER), "owner=4321:8765");
    // chown clears set-user-ID and (with group execute) set-group-ID on files, not on dirs.
    chmod("f", 06755);
    check("chown_kills_setuid", (chown("f", 1234, 5678), st("f", W_MODE)), "mode=0755");
    check("chown_dir_keeps_bits", (chown("d", 1234, 5678), st("d", W_MODE)), "mode=3777");
    // Root ignores permission bits for reading and writing, not for executing.
    chmod("f", 0);
    check("root_open_mode_0000", open_rc("f", O_RDWR), "ok");
    chmod("f", 0644);
    check("root_access_x_on_0644", rc(access("f", X_OK)), "EACCES");
    check("root_access_w_on_0444", (chmod("f", 0444), rc(access("f", W_OK))), "ok");
    chmod("f", 04777);
    check("root_write_keeps_setuid", (pwrite(fd, "y", 1, 0), st("f", W_MODE)), "mode=4777");
  } else {
    check("chown", "skipped", NULL);
  }
  chmod("f", 0644);

  struct timespec ts[2] = {{1000000000, 500}, {1100000000, 600}};
  check("utimensat", rc(utimensat(AT_FDCWD, "f", ts, 0)), "ok");
  check("utimensat_atime", st("f", W_ATIME), "atime=1000000000.000000500");
  check("utimensat_mtime", st("f", W_MTIME), "mtime=1100000000.000000600");
  struct timespec omit[2] = {{0, UTIME_OMIT}, {1200000000, 0}};
  check("utimensat_omit", rc(utimensat(AT_FDCWD, "f", omit, 0)), "ok");
  check("utimensat_omit_atime", st("f", W_ATIME), "atime=1000000000.000000500");
  check("utimensat_omit_mtime", st("f", W_MTIME), "mtime=1200000000.000000000");
  struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  struct stat s;
  check("utimensat_now", rc(utimensat(AT_FDCWD, "f", now, 0)), "ok");
  check("utimensat_now_atime", stat("f", &s) < 0 ? errname(errno) : recent(s.st_atim), "ok");
  check("utimensat_now_mtime", stat("f", &s) < 0 ? errname(errno) : recent(s.st_mtim), "ok");
  check("utimensat_null", (utimensat(AT_FDCWD, "f", ts, 0), rc(utimensat(AT_FDCWD, "f", NULL, 0))), "ok");
  check("utimensat_null_mtime", stat("f", &s) < 0 ? errname(errno) : recent(s.st_mtim), "ok");
  check("utimensat_ctime", stat("f", &s) < 0 ? errname(errno) : recent(s.st_ctim), "ok");
  struct timespec fts[2] = {{1000000001, 1}, {1000000002, 2}};
  check("futimens", rc(futimens(fd, fts)), "ok");
  check("futimens_mtime", fst(fd, W_MTIME), "mtime=1000000002.000000002");
  struct timespec lts[2] = {{1300000000, 0}, {1300000000, 0}};
  check("utimensat_nofollow", rc(utimensat(AT_FDCWD, "lf", lts, AT_SYMLINK_NOFOLLOW)), "ok");
  check("utimensat_nofollow_link", lst("lf", W_MTIME), "mtime=1300000000.000000000");
  check("utimensat_nofollow_target", st("f", W_MTIME), "mtime=1000000002.000000002");
  check("utimensat_missing", rc(utimensat(AT_FDCWD, "missing", ts, 0)), "ENOENT");

  // Writing and truncating move mtime and ctime.
  utimensat(AT_FDCWD, "f", ts, 0);
  check("write_updates_mtime", (pwrite(fd, "w", 1, 0), fstat(fd, &s) < 0 ? errname(errno) : recent(s.st_mtim)), "ok");
  check("write_updates_ctime", recent(s.st_ctim), "ok");
  utimensat(AT_FDCWD, "f", ts, 0);
  check("ftruncate_updates_mtime", (ftruncate(fd, 0), fstat(fd, &s) < 0 ? errname(errno) : recent(s.st_mtim)), "ok");
  close(fd);
}

// ---------------------------------------------------------------------------------------------
// Group: extended attributes (user.* on a regular file).

static const char *getx(const char *path, const char *name, size_t size) {
  char buf[2048];
  ssize_t n = getxattr(path, name, buf, size < sizeof buf ? size : sizeof buf);
  if (n < 0) return errname(errno);
  if (size == 0) return fmt("size=%zd", n);
  return n > 64 ? fmt("size=%zd", n) : fmt("size=%zd data=%s", n, esc(buf, (size_t)n));
}

// user_xattrs lists the user.* names of a file, sorted.
static const char *user_xattrs(const char *path) {
  char buf[4096];
  ssize_t n = listxattr(path, buf, sizeof buf);
  if (n < 0) return errname(errno);
  char *names[64];
  int k = 0;
  for (ssize_t i = 0; i < n && k < 64; i += (ssize_t)strlen(buf + i) + 1)
    if (strncmp(buf + i, "user.", 5) == 0) names[k++] = buf + i;
  qsort(names, (size_t)k, sizeof names[0], cmpstr);
  char out[480] = "names=";
  for (int i = 0; i < k; i++) {
    if (i) strncat(out, ",", sizeof out - strlen(out) - 1);
    strncat(out, names[i], sizeof out - strlen(out) - 1);
  }
  return fmt("%s", out);
}

static void g_xattr(void) {
  must("f", put("f", "x"));
  if (setxattr("f", "user.test", "value1", 6, 0) < 0) {
    if (errno == EOPNOTSUPP) check("xattr", "ENOTSUP", NULL);
    else check("xattr_set", errname(errno), "ok");
    return;
  }
  check("xattr_set", "ok", "ok");
  check("xattr_get", getx("f", "user.test", 256), "size=6 data=value1");
  check("xattr_get_size_probe", getx("f", "user.test", 0), "size=6");
  check("xattr_get_small_buffer", getx("f", "user.test", 2), "ERANGE");
  check("xattr_list", user_xattrs("f"), "names=user.test");
  int fd = open("f", O_RDONLY | O_CLOEXEC);
  char buf[64];
  ssize_t n = fgetxattr(fd, "user.test", buf, sizeof buf);
  check("xattr_fget", n < 0 ? errname(errno) : fmt("data=%s", esc(buf, (size_t)n)), "data=value1");
  check("xattr_fset", rc(fsetxattr(fd, "user.second", "2", 1, 0)), "ok");
  close(fd);
  check("xattr_list_two", user_xattrs("f"), "names=user.second,user.test");
  check("xattr_create_exists", rc(setxattr("f", "user.test", "v", 1, XATTR_CREATE)), "EEXIST");
  check("xattr_replace", rc(setxattr("f", "user.test", "value2", 6, XATTR_REPLACE)), "ok");
  check("xattr_replace_value", getx("f", "user.test", 256), "size=6 data=value2");
  check("xattr_replace_missing", rc(setxattr("f", "user.none", "v", 1, XATTR_REPLACE)), "ENODATA");
  check("xattr_get_missing", getx("f", "user.none", 256), "ENODATA");
  check("xattr_empty_value", rc(setxattr("f", "user.empty", "", 0, 0)), "ok");
  check("xattr_empty_value_get", getx("f", "user.empty", 256), "size=0 data=");
  char big[1000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + i % 26);
  check("xattr_1000_bytes", rc(setxattr("f", "user.big", big, sizeof big, 0)), "ok");
  char back[1000];
  check("xattr_1000_bytes_get",
        getxattr("f", "user.big", back, sizeof back) != (ssize_t)sizeof big ? errname(errno)
        : memcmp(back, big, sizeof big) == 0                               ? "ok"
                                                                           : "mismatch",
        "ok");
  check("xattr_remove", rc(removexattr("f", "user.test")), "ok");
  check("xattr_remove_get", getx("f", "user.test", 256), "ENODATA");
  check("xattr_remove_missing", rc(removexattr("f", "user.test")), "ENODATA");
  check("xattr_list_after_remove", user_xattrs("f"), "names=user.big,user.empty,user.second");
  check("xattr_no_namespace", rc(setxattr("f", "test", "v", 1, 0)), "EOPNOTSUPP");
  check("xattr_missing_file", rc(setxattr("missing", "user.test", "v", 1, 0)), "ENOENT");
  must("d", mkdir("d", 0755));
  check("xattr_dir", rc(setxattr("d", "user.dir", "D", 1, 0)), "ok");
  check("xattr_dir_get", getx("d", "user.dir", 256), "size=1 data=D");
  must("l", symlink("f", "l"));
  check("xattr_symlink_follows", (setxattr("l", "user.via", "L", 1, 0), getx("f", "user.via", 256)), "size=1 data=L");
  check("xattr_lset_symlink", rc(lsetxattr("l", "user.link", "v", 1, 0)), "EPERM");
  check("xattr_copy_on_rename", (rename("f", "f2"), getx("f2", "user.second", 256)), "size=1 data=2");
}

// ---------------------------------------------------------------------------------------------
// Group: statfs and syncing.

static void g_statfs_sync(void) {
  struct statfs sf;
  check("statfs", statfs(".", &sf) < 0 ? errname(errno) : sf.f_bsize > 0 ? "ok" : "bsize=0", "ok");
  check("statfs_missing", rc(statfs("missing", &sf)), "ENOENT");
  must("f", put("f", "data"));
  int fd = open("f", O_RDWR | O_CLOEXEC);
  check("fstatfs", fstatfs(fd, &sf) < 0 ? errname(errno) : sf.f_bsize > 0 ? "ok" : "bsize=0", "ok");
  pwrite(fd, "more", 4, 4);
  check("fsync", rc(fsync(fd)), "ok");
  check("fdatasync", rc(fdatasync(fd)), "ok");
  check("syncfs", rc(syncfs(fd)), "ok");
  check("sync_file_range", rc(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)), "ok");
  check("fsync_data", fd_data(fd), "data=datamore");
  close(fd);
  fd = open("f", O_RDONLY | O_CLOEXEC);
  check("fsync_rdonly_fd", rc(fsync(fd)), "ok");
  close(fd);
  fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  check("fsync_dir", rc(fsync(fd)), "ok");
  check("fdatasync_dir", rc(fdatasync(fd)), "ok");
  close(fd);
}

// ---------------------------------------------------------------------------------------------
// Group: flock, POSIX record locks and open file description locks. The "other" side is a
// forked child that opens the file anew (a new open file description) unless said otherwise.

struct lockreq {
  int cmd;      // F_SETLK, F_GETLK, F_OFD_SETLK, F_OFD_GETLK, or 0 for flock
  int op;       // flock operation or lock type
  off_t start, len;
  int use_fd;   // use this inherited fd instead of opening the file
};

static const char *lock_type_name(short t) {
  return t == F_WRLCK ? "F_WRLCK" : t == F_RDLCK ? "F_RDLCK" : t == F_UNLCK ? "F_UNLCK" : "?";
}

static const char *child_lock(void *arg) {
  const struct lockreq *q = arg;
  int fd = q->use_fd >= 0 ? q->use_fd : open("lockf", O_RDWR | O_CLOEXEC);
  if (fd < 0) return fmt("open-%s", errname(errno));
  if (q->cmd == 0) return rc(flock(fd, q->op | LOCK_NB));
  struct flock fl = {.l_type = (short)q->op, .l_whence = SEEK_SET, .l_start = q->start, .l_len = q->len};
  if (fcntl(fd, q->cmd, &fl) < 0) return errname(errno);
  if (q->cmd != F_GETLK && q->cmd != F_OFD_GETLK) return "ok";
  if (fl.l_type == F_UNLCK) return "type=F_UNLCK";
  const char *pid = fl.l_pid == getppid() ? "parent" : fl.l_pid == -1 ? "-1" : fl.l_pid == 0 ? "0" : "other";
  return fmt("type=%s pid=%s start=%lld len=%lld", lock_type_name(fl.l_type), pid, (long long)fl.l_start,
             (long long)fl.l_len);
}

static const char *other_lock(int cmd, int op, off_t start, off_t len) {
  struct lockreq q = {cmd, op, start, len, -1};
  return in_child(child_lock, &q);
}

static int setlk(int fd, int cmd, short type, off_t start, off_t len) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  return fcntl(fd, cmd, &fl);
}

static void g_locks(void) {
  must("lockf", put("lockf", "0123456789abcdefghij"));
  int fd = open("lockf", O_RDWR | O_CLOEXEC);
  if (fd < 0) return;

  check("flock_ex", rc(flock(fd, LOCK_EX | LOCK_NB)), "ok");
  check("flock_ex_other", other_lock(0, LOCK_EX, 0, 0), "EAGAIN");
  check("flock_sh_other", other_lock(0, LOCK_SH, 0, 0), "EAGAIN");
  struct lockreq inherited = {0, LOCK_EX, 0, 0, fd};
  check("flock_inherited_fd", in_child(child_lock, &inherited), "ok");
  check("flock_independent_of_posix", other_lock(F_SETLK, F_WRLCK, 0, 0), "ok");
  check("flock_un", rc(flock(fd, LOCK_UN)), "ok");
  check("flock_ex_other_after_un", other_lock(0, LOCK_EX, 0, 0), "ok");
  check("flock_sh", rc(flock(fd, LOCK_SH | LOCK_NB)), "ok");
  check("flock_sh_other_shared", other_lock(0, LOCK_SH, 0, 0), "ok");
  check("flock_sh_other_ex", other_lock(0, LOCK_EX, 0, 0), "EAGAIN");
  int fd2 = open("lockf", O_RDWR | O_CLOEXEC);
  check("flock_other_ofd_same_process", rc(flock(fd2, LOCK_EX | LOCK_NB)), "EAGAIN");
  close(fd2);
  flock(fd, LOCK_UN);

  check("posix_setlk", rc(setlk(fd, F_SETLK, F_WRLCK, 0, 0)), "ok");
  check("posix_setlk_other", other_lock(F_SETLK, F_WRLCK, 0, 0), "EAGAIN");
  check("posix_setlk_other_read", other_lock(F_SETLK, F_RDLCK, 5, 5), "EAGAIN");
  check("posix_getlk_other", other_lock(F_GETLK, F_WRLCK, 0, 0), "type=F_WRLCK pid=parent start=0 len=0");
  check("posix_setlk_again_same_process", rc(setlk(fd, F_SETLK, F_WRLCK, 0, 0)), "ok");
  check("posix_unlock", rc(setlk(fd, F_SETLK, F_UNLCK, 0, 0)), "ok");
  check("posix_setlk_other_after_unlock", other_lock(F_SETLK, F_WRLCK, 0, 0), "ok");
  check("posix_range", rc(setlk(fd, F_SETLK, F_WRLCK, 0, 10)), "ok");
  check("posix_range_other_disjoint", other_lock(F_SETLK, F_WRLCK, 10, 10), "ok");
  check("posix_range_other_overlap", other_lock(F_SETLK, F_WRLCK, 9, 2), "EAGAIN");
  check("posix_range_getlk", other_lock(F_GETLK, F_WRLCK, 5, 20), "type=F_WRLCK pid=parent start=0 len=10");
  check("posix_range_getlk_free", other_lock(F_GETLK, F_WRLCK, 10, 5), "type=F_UNLCK");
  setlk(fd, F_SETLK, F_UNLCK, 0, 0);
  check("posix_read_lock", rc(setlk(fd, F_SETLK, F_RDLCK, 0, 0)), "ok");
  check("posix_read_lock_other_read", other_lock(F_SETLK, F_RDLCK, 0, 0), "ok");
  check("posix_read_lock_other_write", other_lock(F_SETLK, F_WRLCK, 0, 0), "EAGAIN");
  check("posix_getlk_read", other_lock(F_GETLK, F_WRLCK, 0, 0), "type=F_RDLCK pid=parent start=0 len=0");
  // Closing any fd of the file drops the process's POSIX locks on it.
  setlk(fd, F_SETLK, F_WRLCK, 0, 0);
  fd2 = open("lockf", O_RDONLY | O_CLOEXEC);
  close(fd2);
  check("posix_close_other_fd_releases", other_lock(F_SETLK, F_WRLCK, 0, 0), "ok");
  setlk(fd, F_SETLK, F_UNLCK, 0, 0);

  check("ofd_setlk", rc(setlk(fd, F_OFD_SETLK, F_WRLCK, 0, 0)), "ok");
  check("ofd_setlk_other", other_lock(F_OFD_SETLK, F_WRLCK, 0, 0), "EAGAIN");
  check("ofd_getlk_other", other_lock(F_OFD_GETLK, F_WRLCK, 0, 0), "type=F_WRLCK pid=-1 start=0 len=0");
  fd2 = open("lockf", O_RDWR | O_CLOEXEC);
  check("ofd_setlk_same_process_other_ofd", rc(setlk(fd2, F_OFD_SETLK, F_WRLCK, 0, 0)), "EAGAIN");
  close(fd2);
  check("ofd_close_other_fd_keeps", other_lock(F_OFD_SETLK, F_WRLCK, 0, 0), "EAGAIN");
  check("ofd_posix_conflict", other_lock(F_SETLK, F_WRLCK, 0, 0), "EAGAIN");
  check("ofd_unlock", rc(setlk(fd, F_OFD_SETLK, F_UNLCK, 0, 0)), "ok");
  check("ofd_setlk_other_after_unlock", other_lock(F_OFD_SETLK, F_WRLCK, 0, 0), "ok");
  close(fd);
}

// ---------------------------------------------------------------------------------------------
// Group: mmap.

static const char *mem(const void *p, size_t n) { return fmt("data=%s", esc(p, n)); }

static const char *pread_n(int fd, size_t n, off_t off) {
  char buf[64];
  ssize_t r = pread(fd, buf, n < sizeof buf ? n : sizeof buf, off);
  if (r < 0) return errname(errno);
  return fmt("data=%s", esc(buf, (size_t)r));
}

static void g_mmap(void) {
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  int fd = open("m", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  must("m", fd);
  // Only pages inside the file are ever touched (no SIGBUS checks): a failed truncate ends the group.
  if (ftruncate(fd, (off_t)pg) < 0) {
    check("mmap_truncate", errname(errno), "ok");
    return;
  }
  char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  check("mmap_shared", p == MAP_FAILED ? errname(errno) : "ok", "ok");
  if (p == MAP_FAILED) return;
  memcpy(p, "mapped", 6);
  check("msync", rc(msync(p, pg, MS_SYNC)), "ok");
  check("mmap_shared_pread", pread_n(fd, 6, 0), "data=mapped");
  check("mmap_shared_size", fst(fd, W_SIZE), fmt("size=%zu", pg));
  char *q = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  check("mmap_shared_second", q == MAP_FAILED ? errname(errno) : "ok", "ok");
  memcpy(p + 8, "second", 6);
  if (q != MAP_FAILED) check("mmap_shared_second_sees_first", mem(q + 8, 6), "data=second");
  check("mmap_shared_sees_pwrite", (pwrite(fd, "viawrt", 6, 16), mem(p + 16, 6)), "data=viawrt");
  char *r = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  check("mmap_private", r == MAP_FAILED ? errname(errno) : "ok", "ok");
  if (r != MAP_FAILED) {
    check("mmap_private_sees_file", mem(r, 6), "data=mapped");
    memcpy(r, "privat", 6);
    check("mmap_private_write_not_in_file", pread_n(fd, 6, 0), "data=mapped");
    check("mmap_private_write_not_in_shared", mem(p, 6), "data=mapped");
    check("mmap_private_own_view", mem(r, 6), "data=privat");
    munmap(r, pg);
  }
  if (q != MAP_FAILED) check("munmap", rc(munmap(q, pg)), "ok");

  // A mapping that spans a grown file sees writes to the new page.
  int grown = ftruncate(fd, (off_t)(2 * pg));
  must("m_grow", grown);
  char *g = grown < 0 ? MAP_FAILED : mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  check("mmap_grown", g == MAP_FAILED ? errname(errno) : "ok", "ok");
  if (g != MAP_FAILED) {
    memcpy(g + pg, "page2", 5);
    msync(g, 2 * pg, MS_SYNC);
    check("mmap_grown_pread", pread_n(fd, 5, (off_t)pg), "data=page2");
    munmap(g, 2 * pg);
  }
  munmap(p, pg);
  close(fd);

  int ro = open("m", O_RDONLY | O_CLOEXEC);
  void *x = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
  check("mmap_shared_write_rdonly_fd", x == MAP_FAILED ? errname(errno) : "ok", "EACCES");
  if (x != MAP_FAILED) munmap(x, pg);
  x = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
  check("mmap_private_write_rdonly_fd", x == MAP_FAILED ? errname(errno) : "ok", "ok");
  if (x != MAP_FAILED) munmap(x, pg);
  x = mmap(NULL, 0, PROT_READ, MAP_SHARED, ro, 0);
  check("mmap_len_0", x == MAP_FAILED ? errname(errno) : "ok", "EINVAL");
  close(ro);
  int wo = open("m", O_WRONLY | O_CLOEXEC);
  x = mmap(NULL, pg, PROT_READ, MAP_SHARED, wo, 0);
  check("mmap_wronly_fd", x == MAP_FAILED ? errname(errno) : "ok", "EACCES");
  if (x != MAP_FAILED) munmap(x, pg);
  close(wo);
  int dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  x = mmap(NULL, pg, PROT_READ, MAP_SHARED, dfd, 0);
  check("mmap_dir", x == MAP_FAILED ? errname(errno) : "ok", "ENODEV");
  if (x != MAP_FAILED) munmap(x, pg);
  close(dfd);
}

// ---------------------------------------------------------------------------------------------
// Group: a large directory.

static int cmpname(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

static void g_largedir(void) {
  int nfiles = opt_skip_large ? SMALL_FILES : LARGE_FILES;
  const char *pfx = fmt("largedir_%d", nfiles);
  must("big", mkdir("big", 0755));
  if (chdir("big") < 0) {
    check(fmt("%s_chdir", pfx), errname(errno), "ok");
    return;
  }
  const char *create = "ok";
  for (int i = 0; i < nfiles; i++) {
    char name[16];
    snprintf(name, sizeof name, "f%05d", i);
    int fd = open(name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
      create = fmt("%s at %d", errname(errno), i);
      break;
    }
    close(fd);
  }
  check(fmt("%s_create", pfx), create, "ok");

  // Every name exactly once, plus . and ..
  DIR *d = opendir(".");
  if (!d) {
    check(fmt("%s_opendir", pfx), errname(errno), "ok");
    return;
  }
  char(*names)[16] = calloc((size_t)nfiles + 16, 16);
  long n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (n < nfiles + 16) snprintf(names[n], 16, "%.15s", e->d_name);
    n++;
  }
  check(fmt("%s_readdir", pfx), fmt("count=%ld", n), fmt("count=%d", nfiles + 2));
  const char *same = "ok";
  if (n == nfiles + 2) {
    qsort(names, (size_t)n, 16, cmpname);
    if (strcmp(names[0], ".") || strcmp(names[1], "..")) same = "no-dot-entries";
    for (int i = 0; i < nfiles && same[0] == 'o'; i++) {
      char want[16];
      snprintf(want, sizeof want, "f%05d", i);
      if (strcmp(names[i + 2], want)) same = fmt("mismatch at %d", i);
    }
  } else {
    same = "count-differs";
  }
  check(fmt("%s_names", pfx), same, "ok");

  // telldir in the middle, read on, seekdir back: the same entries again.
  rewinddir(d);
  long half = (nfiles + 2) / 2, i = 0;
  while (i < half && readdir(d)) i++;
  long pos = telldir(d);
  char after[10][16];
  int got = 0;
  while (got < 10 && (e = readdir(d)) != NULL) snprintf(after[got++], 16, "%.15s", e->d_name);
  for (int k = 0; k < 100 && readdir(d); k++) {
  }
  seekdir(d, pos);
  const char *seek = got == 10 ? "ok" : "short";
  for (int k = 0; k < got && seek[0] == 'o'; k++) {
    e = readdir(d);
    if (!e) seek = fmt("end at %d", k);
    else if (strcmp(e->d_name, after[k])) seek = fmt("mismatch at %d", k);
  }
  check(fmt("%s_seekdir", pfx), seek, "ok");
  rewinddir(d);
  n = 0;
  while (readdir(d)) n++;
  check(fmt("%s_rewinddir", pfx), fmt("count=%ld", n), fmt("count=%d", nfiles + 2));
  closedir(d);
  free(names);

  // Unlink every file while reading the directory (what rm -r does): none may be skipped.
  d = opendir(".");
  long unlinked = 0;
  const char *unl = NULL;
  while (d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] != 'f') continue;
    if (unlink(e->d_name) < 0 && !unl) unl = errname(errno);
    else unlinked++;
  }
  if (d) closedir(d);
  check(fmt("%s_unlink_while_reading", pfx), unl ? unl : fmt("unlinked=%ld", unlinked), fmt("unlinked=%d", nfiles));
  n = count_entries(".");
  check(fmt("%s_empty", pfx), count_rc(n), "count=2");
  if (n > 2 && (d = opendir("."))) {  // make the rmdir below meaningful anyway
    while ((e = readdir(d)) != NULL)
      if (e->d_name[0] == 'f') unlink(e->d_name);
    closedir(d);
  }
  if (chdir("..") < 0) return;
  check(fmt("%s_rmdir", pfx), rc(rmdir("big")), "ok");
}

// ---------------------------------------------------------------------------------------------
// Group: FIFOs, sockets, device and other nodes.

static void g_special(void) {
  check("mkfifo", rc(mkfifo("fifo", 0644)), "ok");
  check("mkfifo_stat", lst("fifo", W_TYPEMODE), "type=fifo mode=0644");
  check("mkfifo_exists", rc(mkfifo("fifo", 0644)), "EEXIST");
  int fd = open("fifo", O_RDWR | O_CLOEXEC);
  check("fifo_open_rdwr", rc(fd), "ok");
  if (fd >= 0) {
    char buf[16];
    ssize_t w = write(fd, "fifo", 4);
    check("fifo_write", n_rc(w), "n=4");
    ssize_t n = w > 0 ? read(fd, buf, sizeof buf) : 0;  // never read an empty FIFO: it would block
    check("fifo_read", n < 0 ? errname(errno) : fmt("data=%s", esc(buf, (size_t)n)), "data=fifo");
    check("fifo_lseek", pos_rc(lseek(fd, 0, SEEK_SET)), "ESPIPE");
    close(fd);
  }
  check("fifo_open_nonblock_wronly_no_reader", open_rc("fifo", O_WRONLY | O_NONBLOCK), "ENXIO");

  // The listening socket is non-blocking: accept never waits for a connect that failed.
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "sock");
  check("socket_bind", rc(bind(s, (struct sockaddr *)&sa, sizeof sa)), "ok");
  check("socket_stat", lst("sock", W_TYPE), "type=sock");
  check("socket_listen", rc(listen(s, 4)), "ok");
  int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check("socket_connect", rc(connect(c, (struct sockaddr *)&sa, sizeof sa)), "ok");
  int a = accept4(s, NULL, NULL, SOCK_CLOEXEC);
  check("socket_accept", rc(a), "ok");
  if (a >= 0) {
    char buf[16];
    ssize_t wn = write(c, "ping", 4);
    ssize_t n = wn <= 0 ? -1 : read(a, buf, sizeof buf);
    check("socket_data", n < 0 ? errname(errno) : fmt("data=%s", esc(buf, (size_t)n)), "data=ping");
    close(a);
  }
  close(c);
  int s2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check("socket_bind_exists", rc(bind(s2, (struct sockaddr *)&sa, sizeof sa)), "EADDRINUSE");
  close(s2);
  check("socket_open", open_rc("sock", O_RDONLY), "ENXIO");
  close(s);
  check("socket_unlink", rc(unlink("sock")), "ok");
  c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check("socket_connect_unlinked", rc(connect(c, (struct sockaddr *)&sa, sizeof sa)), "ENOENT");
  close(c);

  // Whether a device node can be made and opened depends on the container (CAP_MKNOD, the device
  // cgroup, nodev mounts): no expectation, the diff tells.
  int r = mknod("chr", S_IFCHR | 0666, makedev(1, 3));
  check("mknod_chr", rc(r), NULL);
  if (r == 0) {
    struct stat sb;
    check("mknod_chr_stat",
          lstat("chr", &sb) < 0 ? errname(errno)
                                : fmt("type=%s rdev=%u:%u", tname(sb.st_mode), major(sb.st_rdev), minor(sb.st_rdev)),
          "type=chr rdev=1:3");
    fd = open("chr", O_WRONLY | O_CLOEXEC);
    check("mknod_chr_open", rc(fd), NULL);
    if (fd >= 0) {
      check("mknod_chr_write", n_rc(write(fd, "x", 1)), "n=1");
      close(fd);
    }
  }
  check("mknod_reg", rc(mknod("reg", S_IFREG | 0644, 0)), "ok");
  check("mknod_reg_stat", lst("reg", W_TYPEMODE), "type=reg mode=0644");
  check("mknod_reg_size", lst("reg", W_SIZE), "size=0");
  check("mknod_fifo", rc(mknod("fifo2", S_IFIFO | 0600, 0)), "ok");
  check("mknod_fifo_stat", lst("fifo2", W_TYPEMODE), "type=fifo mode=0600");
  check("mknod_exists", rc(mknod("reg", S_IFREG | 0644, 0)), "EEXIST");
  check("mknod_dir", rc(mknod("dir", S_IFDIR | 0755, 0)), "EPERM");
}

// ---------------------------------------------------------------------------------------------
// Group: sparse files, SEEK_DATA/SEEK_HOLE, fallocate.

static void g_sparse(void) {
  int fd = open("s", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  must("s", fd);
  check("sparse_pwrite", n_rc(pwrite(fd, "x", 1, MIB)), "n=1");
  check("sparse_size", fst(fd, W_SIZE), fmt("size=%d", MIB + 1));
  off_t r = lseek(fd, 0, SEEK_DATA);
  // Hole granularity differs between file systems: only the range is checked.
  check("seek_data", r < 0 ? errname(errno) : r <= MIB ? "ok" : "out-of-range", "ok");
  r = lseek(fd, 0, SEEK_HOLE);
  check("seek_hole", r < 0 ? errname(errno) : r <= MIB + 1 ? "ok" : "out-of-range", "ok");
  check("seek_data_at_data", pos_rc(lseek(fd, MIB, SEEK_DATA)), fmt("pos=%d", MIB));
  check("seek_hole_after_data", pos_rc(lseek(fd, MIB, SEEK_HOLE)), fmt("pos=%d", MIB + 1));
  check("seek_data_past_eof", pos_rc(lseek(fd, MIB + 10, SEEK_DATA)), "ENXIO");
  check("seek_hole_past_eof", pos_rc(lseek(fd, MIB + 10, SEEK_HOLE)), "ENXIO");
  char buf[4096], zero[4096] = {0};
  ssize_t n = pread(fd, buf, sizeof buf, 4096);
  check("sparse_hole_reads_zeros", n < 0 ? errname(errno) : n == 4096 && !memcmp(buf, zero, 4096) ? "ok" : "nonzero",
        "ok");
  check("sparse_data", pread_n(fd, 8, MIB), "data=x");
  close(fd);

  fd = open("fa", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  must("fa", fd);
  check("fallocate", rc(fallocate(fd, 0, 0, 8192)), "ok");
  check("fallocate_size", fst(fd, W_SIZE), "size=8192");
  check("fallocate_zeros", pread_n(fd, 4, 100), "data=\\x00\\x00\\x00\\x00");
  check("fallocate_keep_size", rc(fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 8192)), "ok");
  check("fallocate_keep_size_size", fst(fd, W_SIZE), "size=8192");
  check("fallocate_len_0", rc(fallocate(fd, 0, 0, 0)), "EINVAL");
  pwrite(fd, "abcd", 4, 0);
  pwrite(fd, "efgh", 4, 4096);
  check("fallocate_punch_hole", rc(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096)), "ok");
  check("fallocate_punch_hole_zeros", pread_n(fd, 4, 0), "data=\\x00\\x00\\x00\\x00");
  check("fallocate_punch_hole_rest", pread_n(fd, 4, 4096), "data=efgh");
  check("fallocate_punch_hole_size", fst(fd, W_SIZE), "size=8192");
  check("fallocate_punch_without_keep_size", rc(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096)), "EOPNOTSUPP");
  close(fd);
  fd = open("fa", O_RDONLY | O_CLOEXEC);
  check("fallocate_rdonly_fd", rc(fallocate(fd, 0, 0, 16384)), "EBADF");
  close(fd);
}

// ---------------------------------------------------------------------------------------------
// Group: O_TMPFILE. Support depends on the file system: the open carries no expectation; what
// follows an open that worked does.

static void g_tmpfile(void) {
  check("tmpfile_on_file", (put("plain", ""), open_rc("plain", O_TMPFILE | O_RDWR)), "ENOTDIR");
  check("tmpfile_rdonly", open_rc(".", O_TMPFILE | O_RDONLY), "EINVAL");
  unlink("plain");
  int fd = open(".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  check("tmpfile_open", rc(fd), NULL);
  if (fd < 0) return;
  check("tmpfile_write", n_rc(write(fd, "tmp", 3)), "n=3");
  check("tmpfile_nlink", fst(fd, W_NLINK), "nlink=0");
  check("tmpfile_invisible", count_rc(count_entries(".")), "count=2");
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  int r = linkat(AT_FDCWD, proc, AT_FDCWD, "linked", AT_SYMLINK_FOLLOW);
  check("tmpfile_linkat", rc(r), NULL);
  if (r == 0) {
    check("tmpfile_linked_data", data_of("linked"), "data=tmp");
    check("tmpfile_linked_stat", st("linked", W_TYPEMODE), "type=reg mode=0600");
    check("tmpfile_linked_nlink", fst(fd, W_NLINK), "nlink=1");
  }
  close(fd);
  fd = open(".", O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
  check("tmpfile_excl_open", rc(fd), "ok");
  if (fd >= 0) {
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    check("tmpfile_excl_linkat", rc(linkat(AT_FDCWD, proc, AT_FDCWD, "linked2", AT_SYMLINK_FOLLOW)), "ENOENT");
    close(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Group: copy_file_range.

static void g_copy(void) {
  enum { N = 100000 };
  static char src[N], back[N];
  for (int i = 0; i < N; i++) src[i] = (char)(i * 7 + 3);
  int in = open("src", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  must("src", in);
  must("src_write", write(in, src, N) == N ? 0 : -1);
  int out = open("dst", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  must("dst", out);
  lseek(in, 0, SEEK_SET);
  long total = 0;
  ssize_t n;
  while ((n = copy_file_range(in, NULL, out, NULL, (size_t)(N - total), 0)) > 0) total += n;
  check("copy_file_range", n < 0 ? errname(errno) : fmt("copied=%ld", total), fmt("copied=%d", N));
  check("copy_file_range_size", fst(out, W_SIZE), fmt("size=%d", N));
  check("copy_file_range_data", pread(out, back, N, 0) == N && !memcmp(src, back, N) ? "ok" : "mismatch", "ok");
  check("copy_file_range_offsets_advanced", pos_rc(lseek(out, 0, SEEK_CUR)), fmt("pos=%d", N));
  loff_t oin = 10, oout = 5;
  check("copy_file_range_at_offsets", n_rc(copy_file_range(in, &oin, out, &oout, 20, 0)), "n=20");
  check("copy_file_range_at_offsets_data",
        pread(out, back, 20, 5) == 20 && !memcmp(src + 10, back, 20) ? "ok" : "mismatch", "ok");
  check("copy_file_range_at_offsets_updated", fmt("in=%lld out=%lld", (long long)oin, (long long)oout), "in=30 out=25");
  oin = 2 * N;
  check("copy_file_range_past_eof", n_rc(copy_file_range(in, &oin, out, NULL, 10, 0)), "n=0");
  oin = 0;
  oout = 10;
  check("copy_file_range_same_file_overlap", n_rc(copy_file_range(in, &oin, in, &oout, 100, 0)), "EINVAL");
  int ro = open("dst", O_RDONLY | O_CLOEXEC);
  oin = 0;
  check("copy_file_range_to_rdonly", n_rc(copy_file_range(in, &oin, ro, NULL, 10, 0)), "EBADF");
  close(ro);
  close(in);
  close(out);
}

// ---------------------------------------------------------------------------------------------
// Group: permission checks as a non-root user. Root prepares the files; a child that has dropped
// to the non-root uid/gid (and no supplementary groups) runs the checks and reports over a pipe.

#define SGID_GID 1234

static const char *gid_mode(const char *path) {
  struct stat s;
  if (stat(path, &s) < 0) return errname(errno);
  return fmt("gid=%u mode=%04o", (unsigned)s.st_gid, (unsigned)(s.st_mode & 07777));
}

static void nonroot_checks(void) {
  uid_t u = opt_nonroot_uid;
  gid_t g = (gid_t)opt_nonroot_uid;
  int r = setgroups(0, NULL);
  if (r == 0) r = setgid(g);
  if (r == 0) r = setuid(u);
  check("nonroot_setuid", rc(r), "ok");
  if (r < 0) return;
  umask(022);
  check("nonroot_create_in_root_dir", open_rc("rootdir/x", O_CREAT | O_WRONLY), "EACCES");
  check("nonroot_mkdir_in_root_dir", rc(mkdir("rootdir/d", 0755)), "EACCES");
  check("nonroot_unlink_in_root_dir", rc(unlink("rootdir/f")), "EACCES");
  check("nonroot_rename_out_of_root_dir", rc(rename("rootdir/f", "open/f")), "EACCES");
  check("nonroot_open_0600", open_rc("secret", O_RDONLY), "EACCES");
  check("nonroot_access_0600", rc(access("secret", R_OK)), "EACCES");
  check("nonroot_read_0644", data_of("public"), "data=pub");
  check("nonroot_write_0644", open_rc("public", O_WRONLY), "EACCES");
  check("nonroot_truncate_0644", rc(truncate("public", 0)), "EACCES");
  check("nonroot_chmod_other", rc(chmod("public", 0666)), "EPERM");
  check("nonroot_chown_other", rc(chown("public", u, g)), "EPERM");
  struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
  check("nonroot_utimensat_other", rc(utimensat(AT_FDCWD, "public", ts, 0)), "EPERM");
  check("nonroot_utimensat_now_other", rc(utimensat(AT_FDCWD, "public", NULL, 0)), "EACCES");
  check("nonroot_setxattr_other", rc(setxattr("public", "user.x", "v", 1, 0)), "EACCES");
  check("nonroot_unlink_sticky_other", rc(unlink("sticky/rootfile")), "EPERM");
  check("nonroot_rename_sticky_other", rc(rename("sticky/rootfile", "sticky/moved")), "EPERM");
  check("nonroot_write_sticky_other", open_rc("sticky/rootfile", O_WRONLY), "ok");
  check("nonroot_create_sticky", rc(put("sticky/mine", "m")), "ok");
  check("nonroot_unlink_sticky_own", rc(unlink("sticky/mine")), "ok");
  check("nonroot_create_open_dir", rc(put("open/mine", "m")), "ok");
  check("nonroot_create_owner", st("open/mine", W_OWNER), fmt("owner=%u:%u", (unsigned)u, (unsigned)g));
  check("nonroot_create_mode", st("open/mine", W_MODE), "mode=0644");
  check("nonroot_chmod_own", (chmod("open/mine", 0600), st("open/mine", W_MODE)), "mode=0600");
  check("nonroot_chown_own_to_root", rc(chown("open/mine", 0, (gid_t)-1)), "EPERM");
  check("nonroot_utimensat_own", rc(utimensat(AT_FDCWD, "open/mine", ts, 0)), "ok");
  check("nonroot_mkdir_setgid_dir", rc(mkdir("sgid/sub", 0777)), "ok");
  check("nonroot_mkdir_setgid_dir_stat", gid_mode("sgid/sub"), fmt("gid=%d mode=2755", SGID_GID));
  check("nonroot_create_setgid_dir", rc(put("sgid/file", "")), "ok");
  check("nonroot_create_setgid_dir_stat", gid_mode("sgid/file"), fmt("gid=%d mode=0644", SGID_GID));
  // Not a member of the file's group: chmod silently drops S_ISGID.
  check("nonroot_chmod_setgid_not_member", (chmod("sgid/file", 02644), st("sgid/file", W_MODE)), "mode=0644");
  // A write by someone without CAP_FSETID clears set-user-ID.
  int fd = open("suid", O_WRONLY | O_CLOEXEC);
  check("nonroot_open_setuid_0777", rc(fd), "ok");
  if (fd >= 0) {
    check("nonroot_write_setuid", n_rc(write(fd, "y", 1)), "n=1");
    check("nonroot_write_kills_setuid", st("suid", W_MODE), "mode=0777");
    close(fd);
  }
}

static void g_nonroot(void) {
  if (!privileged()) {
    check("nonroot", "skipped", NULL);
    return;
  }
  must("rootdir", mkdir("rootdir", 0755));
  must("rootdir/f", put("rootdir/f", "f"));
  must("secret", put("secret", "s"));
  must("secret_chmod", chmod("secret", 0600));
  must("public", put("public", "pub"));
  must("sticky", mkdir("sticky", 0755));
  must("sticky_chmod", chmod("sticky", 01777));
  must("sticky/rootfile", put("sticky/rootfile", "r"));
  must("sticky/rootfile_chmod", chmod("sticky/rootfile", 0666));
  must("open", mkdir("open", 0755));
  must("open_chmod", chmod("open", 0777));
  must("sgid", mkdir("sgid", 0755));
  must("sgid_chown", chown("sgid", 0, SGID_GID));
  must("sgid_chmod", chmod("sgid", 02777));
  must("suid", put("suid", "x"));
  must("suid_chmod", chmod("suid", 04777));

  int p[2];
  if (pipe(p) < 0) {
    check("nonroot_pipe", errname(errno), "ok");
    return;
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    report_fd = p[1];
    nonroot_checks();
    _exit(0);
  }
  close(p[1]);
  if (pid < 0) {
    check("nonroot_fork", errname(errno), "ok");
    close(p[0]);
    return;
  }
  FILE *f = fdopen(p[0], "r");
  char line[1024];
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *name = strtok(line, "\t"), *got = strtok(NULL, "\t"), *rest = strtok(NULL, "");
    if (!name || !got || !rest) continue;
    // rest is "<want>\t<has want>", with an empty want when there is none.
    char *tab = strrchr(rest, '\t');
    int has_want = tab && tab[1] == '1';
    if (tab) *tab = 0;
    if (rest[0] == '\t') rest++;
    check(name, got, has_want ? rest : NULL);
  }
  if (f) fclose(f);
  int status;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) check("nonroot_exit", signame(WTERMSIG(status)), "ok");
}

// ---------------------------------------------------------------------------------------------
// The table of groups and the driver.

struct check_group {
  const char *name;
  void (*run)(void);
};

static const struct check_group groups[] = {
    {"open", g_open},       {"dirs", g_dirs},         {"rename", g_rename},
    {"exdev", g_exdev},     {"link", g_link},         {"symlink", g_symlink},
    {"attr", g_attr},       {"xattr", g_xattr},       {"statfs_sync", g_statfs_sync},
    {"locks", g_locks},     {"mmap", g_mmap},         {"largedir", g_largedir},
    {"special", g_special}, {"sparse", g_sparse},     {"tmpfile", g_tmpfile},
    {"copy", g_copy},       {"nonroot", g_nonroot},
};

// run_group runs one group in a child process, in a fresh subdirectory named after it.
static void run_group(const struct check_group *g) {
  if (mkdir(g->name, 0755) < 0 || chmod(g->name, 0755) < 0) {
    check(fmt("%s_setup", g->name), errname(errno), "ok");
    return;
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    check(fmt("%s_fork", g->name), errname(errno), "ok");
    return;
  }
  if (pid == 0) {
    if (chdir(g->name) < 0) {
      check(fmt("%s_chdir", g->name), errname(errno), "ok");
    } else {
      alarm(GROUP_TIMEOUT_S);
      g->run();
    }
    fflush(stdout);
    _exit(0);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) check(fmt("%s_exit", g->name), signame(WTERMSIG(status)), "ok");
  else if (WEXITSTATUS(status) != 0) check(fmt("%s_exit", g->name), fmt("status=%d", WEXITSTATUS(status)), "ok");
  fflush(stdout);
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

// make_searchable gives directories rwx for their owner before removal (best effort).
static int make_searchable(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)ftw;
  if (type == FTW_D && (sb->st_mode & 0700) != 0700) chmod(path, (sb->st_mode & 07777) | 0700);
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: fsconf [--skip-large] [--nonroot-uid UID] [--other-mount DIR] <dir>\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *dir = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--skip-large") == 0) {
      opt_skip_large = 1;
    } else if (strcmp(argv[i], "--nonroot-uid") == 0 && i + 1 < argc) {
      char *end;
      unsigned long v = strtoul(argv[++i], &end, 10);
      if (*end || end == argv[i] || v == 0 || v >= 0xffffffffUL) return usage();
      opt_nonroot_uid = (uid_t)v;
    } else if (strcmp(argv[i], "--other-mount") == 0 && i + 1 < argc) {
      opt_other_mount = argv[++i];
    } else if (argv[i][0] == '-' || dir) {
      return usage();
    } else {
      dir = argv[i];
    }
  }
  if (!dir) return usage();

  counters = mmap(NULL, sizeof *counters, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (counters == MAP_FAILED) {
    perror("fsconf: mmap");
    return 2;
  }
  umask(022);
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);  // a group that crashes keeps the lines it printed
  int home = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (home < 0) {
    perror("fsconf: open .");
    return 2;
  }
  char scratch[PATH_MAX];
  snprintf(scratch, sizeof scratch, "%s/fsconf.%d", dir, (int)getpid());
  if (mkdir(scratch, 0755) < 0) {
    fprintf(stderr, "fsconf: mkdir %s: %s\n", scratch, strerror(errno));
    return 2;
  }
  if (chmod(scratch, 0755) < 0 || chdir(scratch) < 0) {
    fprintf(stderr, "fsconf: %s: %s\n", scratch, strerror(errno));
    rmdir(scratch);
    return 2;
  }

  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) run_group(&groups[i]);

  // Remove the scratch directory whatever the groups left in it.
  if (fchdir(home) < 0) {
    perror("fsconf: fchdir");
    return 2;
  }
  nftw(scratch, make_searchable, 32, FTW_PHYS);
  int r = nftw(scratch, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
  check("cleanup", rc(r), "ok");
  printf("fsconf: %d checks, %d unexpected\n", counters->checks, counters->unexpected);
  fflush(stdout);
  return counters->unexpected ? 1 : 0;
}
