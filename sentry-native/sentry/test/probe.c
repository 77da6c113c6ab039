// probe: a small static program run inside test containers to exercise threads, vfork and
// exec from a non-leader thread (things busybox does not do).
//   probe threads N        start N sleeping threads, print "ready", sleep
//   probe vforkspawn N     vfork+exec N sleeps as fast as possible, print "ready", sleep
//   probe threadexec       exec "sh -c 'echo exec-from-thread; exit 7'" from a second thread
// The trapped-call probes use unshare(0), trapped by the tests and harmless when it runs:
//   probe trapbench N [free]  pin to CPU 0 (the sentry is pinned there too; "free": no pinning),
//                          print the ns per call of getppid (never trapped) and of unshare(0):
//                          "getppid X" "trapped Y"
//   probe traploop         fork, then both processes call unshare(0) forever; the parent prints
//                          "n <calls>" every 2000 calls; any result but EPERM prints "bad ..." and exits 1
//   probe trapsignals N    N calls of unshare(0) while a second thread signals the first every
//                          20 us (SA_RESTART handler); prints "calls N eperm E other O signals S"
//   probe ownlistener      load a filter of its own sending unshare to a new listener answered by
//                          a thread with CONTINUE, then call unshare(0); prints "listener <fd|errno>"
//                          and "unshare <ret> <errno>"
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void* sleeper(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

static void* execer(void* arg) {
  (void)arg;
  execl("/bin/sh", "sh", "-c", "echo exec-from-thread; exit 7", (char*)NULL);
  perror("execl");
  exit(1);
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

static int trapbench(long n, int pin) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  if (pin) sched_setaffinity(0, sizeof one, &one);
  ns_per_call(n, 0);  // warm up
  ns_per_call(n / 20 > 0 ? n / 20 : 1, 1);
  printf("getppid %.1f\n", ns_per_call(n, 0));
  printf("trapped %.1f\n", ns_per_call(n, 1));
  return 0;
}

static int traploop(void) {
  pid_t child = fork();
  for (long n = 1;; n++) {
    long r = syscall(SYS_unshare, 0);
    if (r != -1 || errno != EPERM) {
      printf("bad %s %ld %s\n", child == 0 ? "child" : "parent", r, strerror(errno));
      fflush(stdout);
      exit(1);
    }
    if (child != 0 && n % 2000 == 0) {
      printf("n %ld\n", n);
      fflush(stdout);
    }
  }
}

static volatile long signals_seen;
static pthread_t signalled;
static volatile int signalling_done;

static void on_signal(int sig) {
  (void)sig;
  signals_seen++;
}

static void* signaller(void* arg) {
  (void)arg;
  struct timespec pause_between = {0, 20000};  // 20 us: often mid-call, never a livelock
  while (!signalling_done) {
    pthread_kill(signalled, SIGUSR1);
    nanosleep(&pause_between, NULL);
  }
  return NULL;
}

static int trapsignals(long n) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  signalled = pthread_self();
  pthread_t t;
  pthread_create(&t, NULL, signaller, NULL);
  long eperm = 0, other = 0;
  for (long i = 0; i < n; i++) {
    long r = syscall(SYS_unshare, 0);
    if (r == -1 && errno == EPERM) eperm++;
    else other++;
  }
  signalling_done = 1;
  pthread_join(t, NULL);
  printf("calls %ld eperm %ld other %ld signals %ld\n", n, eperm, other, (long)signals_seen);
  return 0;
}

static int own_listener = -1;

static void* answer_continue(void* arg) {
  (void)arg;
  for (;;) {
    struct seccomp_notif req;
    memset(&req, 0, sizeof req);
    if (ioctl(own_listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return NULL;
    struct seccomp_notif_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    ioctl(own_listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
}

static int ownlistener(void) {
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof code / sizeof code[0], code};
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  own_listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (own_listener < 0) {
    printf("listener %s\n", strerrorname_np(errno));
  } else {
    printf("listener fd\n");
    pthread_t t;
    pthread_create(&t, NULL, answer_continue, NULL);
  }
  long r = syscall(SYS_unshare, 0);
  printf("unshare %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "OK");
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "threads") == 0) {
    int n = atoi(argv[2]);
    for (int i = 0; i < n; i++) {
      pthread_t t;
      pthread_create(&t, NULL, sleeper, NULL);
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
  }
  if (argc >= 3 && strcmp(argv[1], "vforkspawn") == 0) {
    int n = atoi(argv[2]);
    for (int i = 0; i < n; i++) {
      pid_t pid = vfork();
      if (pid == 0) {
        execl("/bin/sleep", "sleep", "424242", (char*)NULL);
        _exit(127);
      }
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
  }
  if (argc >= 2 && strcmp(argv[1], "threadexec") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, execer, NULL);
    for (;;) pause();
  }
  if (argc >= 3 && strcmp(argv[1], "trapbench") == 0) return trapbench(atol(argv[2]), !(argc >= 4 && strcmp(argv[3], "free") == 0));
  if (argc >= 2 && strcmp(argv[1], "traploop") == 0) return traploop();
  if (argc >= 3 && strcmp(argv[1], "trapsignals") == 0) return trapsignals(atol(argv[2]));
  if (argc >= 2 && strcmp(argv[1], "ownlistener") == 0) return ownlistener();
  fprintf(stderr, "usage: probe threads N | vforkspawn N | threadexec | trapbench N | traploop | trapsignals N | ownlistener\n");
  return 2;
}
