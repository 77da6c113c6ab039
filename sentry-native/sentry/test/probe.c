// probe: a small static program run inside test containers to exercise threads, vfork and
// exec from a non-leader thread (things busybox does not do).
//   probe threads N        start N sleeping threads, print "ready", sleep
//   probe vforkspawn N     vfork+exec N sleeps as fast as possible, print "ready", sleep
//   probe threadexec       exec "sh -c 'echo exec-from-thread; exit 7'" from a second thread
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
  fprintf(stderr, "usage: probe threads N | vforkspawn N | threadexec\n");
  return 2;
}
