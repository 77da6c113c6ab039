// dynamic: the dynamically linked program of software.test.ts. It runs only if the runtime maps
// ld.so and the image's shared libraries from the rootfs, and prints one line per check: that
// ld.so is mapped, four threads' sums, cos through dlopen/dlsym, and getaddrinfo of "localhost"
// (answered from the image's /etc/hosts by libc's built-in files backend).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define PER_THREAD 1000

static long sums[THREADS];

// Sums the thread's own slice of 1..THREADS*PER_THREAD.
static void *sum_slice(void *arg) {
  long i = (long)arg;
  long s = 0;
  for (long k = i * PER_THREAD + 1; k <= (i + 1) * PER_THREAD; k++) s += k;
  sums[i] = s;
  return NULL;
}

// Says whether the ELF interpreter is among our mappings, i.e. we really run dynamically.
static int ldso_mapped(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return 0;
  char line[512];
  int found = 0;
  while (fgets(line, sizeof line, f))
    if (strstr(line, "/ld-linux-x86-64.so.2")) found = 1;
  fclose(f);
  return found;
}

int main(void) {
  printf("ld.so mapped %s\n", ldso_mapped() ? "yes" : "no");

  pthread_t th[THREADS];
  for (long i = 0; i < THREADS; i++) {
    if (pthread_create(&th[i], NULL, sum_slice, (void *)i) != 0) {
      perror("pthread_create");
      return 1;
    }
  }
  long total = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    total += sums[i];
  }
  printf("threads %d sum %ld\n", THREADS, total);

  // libm is also a DT_NEEDED (the build links it), so ldd names it; dlopen by soname still
  // goes through the loader's lookup and dlsym.
  void *libm = dlopen("libm.so.6", RTLD_NOW);
  if (!libm) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  double (*cosine)(double) = (double (*)(double))dlsym(libm, "cos");
  if (!cosine) {
    fprintf(stderr, "dlsym: %s\n", dlerror());
    return 1;
  }
  volatile double zero = 0.0, pi = 3.14159265358979323846;
  printf("cos(0) %.1f cos(pi) %.1f\n", cosine(zero), cosine(pi));
  dlclose(libm);

  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo("localhost", "80", &hints, &res);
  if (rc != 0) {
    fprintf(stderr, "getaddrinfo: %s\n", gai_strerror(rc));
    return 1;
  }
  char addr[INET_ADDRSTRLEN];
  struct sockaddr_in *sin = (struct sockaddr_in *)res->ai_addr;
  inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof addr);
  printf("localhost %s port %d\n", addr, ntohs(sin->sin_port));
  freeaddrinfo(res);
  return 0;
}
