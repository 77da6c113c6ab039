// escape: the in-container probe of escape.test.ts. `escape syscalls` tries each dangerous system
// call in its own child and prints one line per call, "<name> <ret> <errno-name>" ("OK" when it
// succeeded); `escape threads N` runs N threads against a barrier, a mutex and a signal;
// `escape exewatch S` looks for a runtime's executable in /proc for S seconds (CVE-2019-5736);
// `escape bench N` pins itself to CPU 0 and prints the ns per call of getppid (never trapped)
// and of unshare(0) (trapped to the sentry under runsc-ts, native under runc), for make bench.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// Every call below is made so that a caller the kernel does let through fails harmlessly right
// after the permission check (bad magic, missing path, unknown flag): the probe must never
// reboot, load, mount or swap anything even on a runtime that lets the call run.

#define LINUX_REBOOT_MAGIC1 0xfee1deadUL
#define KEXEC_UNKNOWN_FLAG 0x8000UL
#define OPEN_TREE_CLONE_FLAG 1UL

struct mount_attr_v0 {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static long call_mount(void) { return syscall(SYS_mount, "none", "/tmp", "tmpfs", 0UL, NULL); }
static long call_umount2(void) { return syscall(SYS_umount2, "/etc", 0); }
static long call_pivot_root(void) { return syscall(SYS_pivot_root, "/runsc-ts-none", "/runsc-ts-none"); }
static long call_move_mount(void) { return syscall(SYS_move_mount, AT_FDCWD, "/tmp", AT_FDCWD, "/var", 0); }
static long call_open_tree(void) { return syscall(SYS_open_tree, AT_FDCWD, "/tmp", OPEN_TREE_CLONE_FLAG); }
static long call_fsopen(void) { return syscall(SYS_fsopen, "tmpfs", 0); }
static long call_fspick(void) { return syscall(SYS_fspick, AT_FDCWD, "/tmp", 0); }
static long call_fsmount(void) { return syscall(SYS_fsmount, -1, 0, 0); }
static long call_mount_setattr(void) {
  struct mount_attr_v0 attr = {0, 0, 0, 0};
  return syscall(SYS_mount_setattr, AT_FDCWD, "/tmp", 0, &attr, sizeof attr);
}
// A valid one-entry array map, so the call gets past argument checks to the permission check.
static long call_bpf(void) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  return syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
}
static long call_perf_event_open(void) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.disabled = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  return syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0UL);
}
static long call_keyctl(void) { return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0); }
static long call_add_key(void) { return syscall(SYS_add_key, "user", "runsc-ts-probe", "x", 1UL, KEY_SPEC_PROCESS_KEYRING); }
static long call_request_key(void) {
  return syscall(SYS_request_key, "user", "runsc-ts-probe-none", NULL, KEY_SPEC_PROCESS_KEYRING);
}
static long call_userfaultfd(void) { return syscall(SYS_userfaultfd, O_CLOEXEC); }
static long call_unshare_newuser(void) { return syscall(SYS_unshare, CLONE_NEWUSER); }
static long call_unshare_newns(void) { return syscall(SYS_unshare, CLONE_NEWNS); }
static long call_setns(void) {
  int fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  return syscall(SYS_setns, fd, CLONE_NEWUTS);
}
// clone with CLONE_NEWUSER: the child exits at once; the parent reaps it.
static long call_clone_newuser(void) {
  long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, 0UL);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return pid;
}
// clone3 with CLONE_NEWUSER, the same as above through the newer call.
static long call_clone3_newuser(void) {
  uint64_t args[11] = {0};  // struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal, ...
  args[0] = CLONE_NEWUSER;
  args[4] = SIGCHLD;
  long pid = syscall(SYS_clone3, args, 64UL);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  return pid;
}
static long call_io_uring_setup(void) {
  uint32_t params[30] = {0};  // struct io_uring_params (120 bytes)
  return syscall(SYS_io_uring_setup, 1U, params);
}
static long call_reboot(void) { return syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, 0UL, 0UL, NULL); }
static long call_init_module(void) { return syscall(SYS_init_module, NULL, 0UL, ""); }
static long call_finit_module(void) { return syscall(SYS_finit_module, -1, "", 0); }
static long call_delete_module(void) { return syscall(SYS_delete_module, "runsc_ts_none", O_NONBLOCK); }
static long call_kexec_load(void) { return syscall(SYS_kexec_load, 0UL, 0UL, NULL, KEXEC_UNKNOWN_FLAG); }
static long call_open_by_handle_at(void) {
  struct {
    unsigned int handle_bytes;
    int handle_type;
    unsigned char f_handle[8];
  } fh = {8, 1, {0}};
  return syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY);
}
static long call_iopl(void) { return syscall(SYS_iopl, 3); }
static long call_ioperm(void) { return syscall(SYS_ioperm, 0x80UL, 1UL, 1); }
static long call_swapon(void) { return syscall(SYS_swapon, "/runsc-ts-none", 0); }
static long call_swapoff(void) { return syscall(SYS_swapoff, "/runsc-ts-none"); }
static long call_settimeofday(void) { return syscall(SYS_settimeofday, NULL, NULL); }
// Sets the clock to what it reads: a caller that is let through moves it by microseconds.
static long call_clock_settime(void) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return syscall(SYS_clock_settime, CLOCK_REALTIME, &now);
}
static long call_acct(void) { return syscall(SYS_acct, NULL); }
static long call_ptrace_traceme(void) { return syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL); }
// Attaches to a child of ours (a process of the same container), then kills it.
static long call_ptrace_attach_child(void) {
  pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  if (pid < 0) return -1;
  long r = syscall(SYS_ptrace, PTRACE_ATTACH, pid, NULL, NULL);
  int saved = errno;
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  errno = saved;
  return r;
}
// Seizes (attaches without stopping) the container's PID 1.
static long call_ptrace_seize_init(void) { return syscall(SYS_ptrace, PTRACE_SEIZE, 1, NULL, NULL); }
// mknod of a node in /tmp, removed again at once when the runtime let it be made.
static long make_node(mode_t mode, dev_t dev) {
  long r = syscall(SYS_mknodat, AT_FDCWD, "/tmp/escape-node", mode, dev);
  int e = errno;
  if (r == 0) unlink("/tmp/escape-node");
  errno = e;
  return r;
}
static long call_mknod_block(void) { return make_node(S_IFBLK | 0600, makedev(8, 0)); }
static long call_mknod_mem(void) { return make_node(S_IFCHR | 0600, makedev(1, 1)); }
static long call_mknod_null(void) { return make_node(S_IFCHR | 0666, makedev(1, 3)); }
static long call_mknod_fifo(void) { return make_node(S_IFIFO | 0600, 0); }
static long call_mknod_old_null(void) {
  long r = syscall(SYS_mknod, "/tmp/escape-node", S_IFCHR | 0666, makedev(1, 3));
  if (r == 0) unlink("/tmp/escape-node");
  return r;
}
#define PERSONALITY_QUERY 0xffffffffUL
#define PERSONALITY_MMAP_PAGE_ZERO 0x0100000UL
static long call_personality_query(void) { return syscall(SYS_personality, PERSONALITY_QUERY); }
static long call_personality_page_zero(void) { return syscall(SYS_personality, PERSONALITY_MMAP_PAGE_ZERO); }

struct check {
  const char *name;
  long (*call)(void);
};

static const struct check checks[] = {
    {"mount", call_mount},
    {"umount2", call_umount2},
    {"pivot_root", call_pivot_root},
    {"move_mount", call_move_mount},
    {"open_tree", call_open_tree},
    {"fsopen", call_fsopen},
    {"fspick", call_fspick},
    {"fsmount", call_fsmount},
    {"mount_setattr", call_mount_setattr},
    {"bpf", call_bpf},
    {"perf_event_open", call_perf_event_open},
    {"keyctl", call_keyctl},
    {"add_key", call_add_key},
    {"request_key", call_request_key},
    {"userfaultfd", call_userfaultfd},
    {"unshare_newuser", call_unshare_newuser},
    {"unshare_newns", call_unshare_newns},
    {"setns", call_setns},
    {"clone_newuser", call_clone_newuser},
    {"clone3_newuser", call_clone3_newuser},
    {"io_uring_setup", call_io_uring_setup},
    {"reboot", call_reboot},
    {"init_module", call_init_module},
    {"finit_module", call_finit_module},
    {"delete_module", call_delete_module},
    {"kexec_load", call_kexec_load},
    {"open_by_handle_at", call_open_by_handle_at},
    {"iopl", call_iopl},
    {"ioperm", call_ioperm},
    {"swapon", call_swapon},
    {"swapoff", call_swapoff},
    {"settimeofday", call_settimeofday},
    {"clock_settime", call_clock_settime},
    {"acct", call_acct},
    {"ptrace_traceme", call_ptrace_traceme},
    {"ptrace_attach_child", call_ptrace_attach_child},
    {"ptrace_seize_init", call_ptrace_seize_init},
    {"mknod_block", call_mknod_block},
    {"mknod_mem", call_mknod_mem},
    {"mknod_null", call_mknod_null},
    {"mknod_old_null", call_mknod_old_null},
    {"mknod_fifo", call_mknod_fifo},
    {"personality_query", call_personality_query},
    {"personality_page_zero", call_personality_page_zero},
};

// Writes one result line with a single write(2), so lines of children never interleave.
static void report(const char *name, long ret, const char *what) {
  char line[160];
  int n = snprintf(line, sizeof line, "%s %ld %s\n", name, ret, what);
  if (n > 0 && write(1, line, (size_t)n) < 0) _exit(3);
}

// Runs each check in a child of its own, so what one call changes (a new user namespace, a
// tracer) cannot affect the next; a child killed by a signal is reported as SIG<n>.
static int run_syscalls(void) {
  for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork");
      return 1;
    }
    if (pid == 0) {
      errno = 0;
      long r = checks[i].call();
      const char *name = r < 0 ? strerrorname_np(errno) : "OK";
      report(checks[i].name, r < 0 ? -1 : r, name ? name : "?");
      _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) {
      perror("waitpid");
      return 1;
    }
    if (WIFSIGNALED(status)) {
      char sig[16];
      snprintf(sig, sizeof sig, "SIG%d", WTERMSIG(status));
      report(checks[i].name, -1, sig);
    }
  }
  return 0;
}

static pthread_barrier_t barrier;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static volatile sig_atomic_t usr1_seen;

static void on_usr1(int sig) {
  (void)sig;
  usr1_seen = 1;
}

// Each worker waits for all the others at the barrier, then counts under the mutex.
static void *worker(void *arg) {
  (void)arg;
  pthread_barrier_wait(&barrier);
  for (int i = 0; i < 100000; i++) {
    pthread_mutex_lock(&mutex);
    counter++;
    pthread_mutex_unlock(&mutex);
  }
  return (void *)(long)syscall(SYS_gettid);
}

// Starts n threads that meet at a barrier and count under a mutex, signals one of them, and
// prints "threads <n> counter <total> tids <distinct thread ids> usr1 <1 if handled>".
static int run_threads(int n) {
  if (n < 1 || n > 64) return 2;
  pthread_t th[64];
  long tids[64];
  signal(SIGUSR1, on_usr1);
  pthread_barrier_init(&barrier, NULL, (unsigned)n + 1);
  for (int i = 0; i < n; i++) {
    if (pthread_create(&th[i], NULL, worker, NULL) != 0) return 1;
  }
  pthread_kill(th[0], SIGUSR1);
  pthread_barrier_wait(&barrier);
  for (int i = 0; i < n; i++) {
    void *ret;
    pthread_join(th[i], &ret);
    tids[i] = (long)ret;
  }
  int distinct = 0;
  long self = syscall(SYS_gettid);
  for (int i = 0; i < n; i++) {
    int dup = tids[i] == self;
    for (int j = 0; j < i; j++) dup |= tids[j] == tids[i];
    distinct += !dup;
  }
  printf("threads %d counter %ld tids %d usr1 %d\n", n, counter, distinct, (int)usr1_seen);
  return 0;
}

static double ns_per_call(long n, int trapped) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) {
    if (trapped) syscall(SYS_unshare, 0);
    else syscall(SYS_getppid);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n;
}

static int run_bench(long n) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  sched_setaffinity(0, sizeof one, &one);  // the sentry is pinned to CPU 0 by the bench too
  ns_per_call(n / 10, 0);                  // warm up
  printf("getppid %.1f\n", ns_per_call(n, 0));
  printf("trapped %.1f\n", ns_per_call(n / 20 > 0 ? n / 20 : 1, 1));
  return 0;
}

// Watches /proc for `seconds` for processes whose executable is not the container's own (a
// runtime process caught between its clone and its exec: runc's CVE-2019-5736 window) and tries
// to open each such executable for writing (O_APPEND, nothing is written). Prints one
// "seen <pid> <exe> <errno-name of the open, or OPENED>" per process, then "watched <scans>".
static int run_exewatch(int seconds) {
  char own[4096];
  ssize_t n = readlink("/proc/self/exe", own, sizeof own - 1);
  if (n < 0) return 1;
  own[n] = '\0';
  int seen[4096] = {0};
  size_t nseen = 0;
  long scans = 0;
  time_t end = time(NULL) + seconds;
  while (time(NULL) < end) {
    scans++;
    DIR *d = opendir("/proc");
    if (!d) return 1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      int pid = atoi(e->d_name);
      if (pid <= 0 || pid == getpid()) continue;
      char link[64], exe[4096];
      snprintf(link, sizeof link, "/proc/%d/exe", pid);
      ssize_t m = readlink(link, exe, sizeof exe - 1);
      if (m < 0) continue;
      exe[m] = '\0';
      if (strcmp(exe, own) == 0 || strcmp(exe, "/bin/busybox") == 0) continue;
      int known = 0;
      for (size_t i = 0; i < nseen; i++) known |= seen[i] == pid;
      if (known || nseen == sizeof seen / sizeof seen[0]) continue;
      seen[nseen++] = pid;
      int fd = open(link, O_WRONLY | O_APPEND | O_CLOEXEC);
      const char *what = fd >= 0 ? "OPENED" : strerrorname_np(errno);
      if (fd >= 0) close(fd);
      char line[4200];
      int len = snprintf(line, sizeof line, "seen %d %s %s\n", pid, exe, what ? what : "?");
      if (len > 0 && write(1, line, (size_t)len) < 0) return 3;
    }
    closedir(d);
  }
  printf("watched %ld\n", scans);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "bench") == 0) return run_bench(atol(argv[2]));
  if (argc >= 2 && strcmp(argv[1], "syscalls") == 0) return run_syscalls();
  if (argc >= 3 && strcmp(argv[1], "threads") == 0) return run_threads(atoi(argv[2]));
  if (argc >= 3 && strcmp(argv[1], "exewatch") == 0) return run_exewatch(atoi(argv[2]));
  fprintf(stderr, "usage: escape syscalls | escape threads N | escape exewatch SECONDS | escape bench N\n");
  return 2;
}
