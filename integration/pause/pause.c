// pause: PID 1 of every CRI pod in the integration tests (image localhost/runsc-ts/pause:3.9).
// It holds the pod's namespaces open: sleeps in pause(), reaps children, exits 0 on SIGINT/SIGTERM.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

// Ends the pod's init cleanly when the runtime stops the sandbox.
static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

// Reaps every exited child: with a shared pid namespace, orphans of other containers are
// re-parented to us and would otherwise stay zombies.
static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static int install(int sig, void (*handler)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    puts("runsc-ts pause 3.9");
    return 0;
  }
  if (getpid() != 1) fprintf(stderr, "pause: warning: not running as PID 1\n");
  if (install(SIGINT, on_stop, 0) != 0 || install(SIGTERM, on_stop, 0) != 0 ||
      install(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART) != 0) {
    perror("pause: sigaction");
    return 1;
  }
  for (;;) pause();
}
