// Text log lines on stderr (the shim's log): "runsc-ts-sentry[pid]: ...".
#pragma once

namespace logging {

// Init sets the program name for the prefix and whether debug lines are written.
void Init(const char* program, bool debug);
// DebugEnabled says whether --debug was given.
bool DebugEnabled();
// Info writes one log line.
void Info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Error writes one log line marked as an error.
void Error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Debug writes one log line only when debug logging is on.
void Debug(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace logging
