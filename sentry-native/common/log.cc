// Text log lines on stderr (the shim's log): "runsc-ts-sentry[pid]: ...".
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

namespace logging {
namespace {

const char* g_program = "runsc-ts-sentry";
bool g_debug = false;

void Write(const char* level, const char* fmt, va_list ap) {
  char body[4096];
  vsnprintf(body, sizeof(body), fmt, ap);
  char line[4300];
  int n = snprintf(line, sizeof(line), "%s[%d]: %s%s\n", g_program, static_cast<int>(getpid()),
                   level, body);
  if (n < 0) return;
  if (static_cast<size_t>(n) >= sizeof(line)) n = sizeof(line) - 1;
  // One write per line so lines from several processes do not interleave.
  ssize_t ignored = write(STDERR_FILENO, line, static_cast<size_t>(n));
  (void)ignored;
}

}  // namespace

void Init(const char* program, bool debug) {
  g_program = program;
  g_debug = debug;
}

bool DebugEnabled() { return g_debug; }

void Info(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  Write("", fmt, ap);
  va_end(ap);
}

void Error(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  Write("error: ", fmt, ap);
  va_end(ap);
}

void Debug(const char* fmt, ...) {
  if (!g_debug) return;
  va_list ap;
  va_start(ap, fmt);
  Write("debug: ", fmt, ap);
  va_end(ap);
}

}  // namespace logging
