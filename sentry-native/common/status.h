// Status: a ttrpc/gRPC status (code + message), the error type of every control method.
#pragma once

#include <string>
#include <utility>

// Code lists the gRPC status codes the sentry uses.
enum Code : int {
  kOk = 0,
  kUnknown = 2,
  kInvalidArgument = 3,
  kNotFound = 5,
  kAlreadyExists = 6,
  kFailedPrecondition = 9,
  kResourceExhausted = 8,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
};

// Status is the outcome of a control method: OK, or a code with a message.
struct Status {
  int code = kOk;
  std::string message;

  Status() = default;
  Status(int c, std::string m) : code(c), message(std::move(m)) {}
  bool ok() const { return code == kOk; }
};
