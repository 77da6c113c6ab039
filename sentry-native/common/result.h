// Result<T>: a value or an errno, the return type of the syscall wrappers in sys.h.
#pragma once

#include <optional>
#include <utility>

// Result holds either a value of T or the errno of the call that failed.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  // Error makes a failed Result carrying errno e.
  static Result Error(int e) { return Result(e, 0); }

  bool ok() const { return value_.has_value(); }
  int error() const { return err_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  T& operator*() { return *value_; }

 private:
  Result(int e, int) : err_(e) {}
  std::optional<T> value_;
  int err_ = 0;
};

// Void is the value type of a Result that carries nothing on success.
struct Void {};
