// The control API messages (protos/sentry/control.proto) and the ttrpc envelope as plain structs,
// with hand-written decoders for requests and encoders for responses. Field numbers follow the
// .proto exactly.
#pragma once

#include <stdint.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace msg {

// ---- ttrpc envelope ----

// TtrpcRequest is ttrpc.Request.
struct TtrpcRequest {
  std::string service;
  std::string method;
  std::string payload;
  int64_t timeout_nano = 0;
};
// Decode parses a ttrpc.Request; false when malformed.
bool Decode(std::string_view data, TtrpcRequest* out);
// EncodeResponse serializes ttrpc.Response: status when code != 0, otherwise the payload.
std::string EncodeResponse(int code, const std::string& message, const std::string& payload);

// ---- control.proto ----

// Stdio is control.proto Stdio.
struct Stdio {
  bool has_stdin = false;
  bool has_stdout = false;
  bool has_stderr = false;
  bool terminal = false;
  uint32_t width = 0;
  uint32_t height = 0;
};

// Rlimit is control.proto Rlimit.
struct Rlimit {
  uint32_t resource = 0;
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// Capabilities is control.proto Capabilities.
struct Capabilities {
  uint64_t bounding = 0;
  uint64_t effective = 0;
  uint64_t inheritable = 0;
  uint64_t permitted = 0;
  uint64_t ambient = 0;
};

// Process is control.proto Process; has_capabilities tells an absent message (no capabilities).
struct Process {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  bool has_capabilities = false;
  Capabilities capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  bool has_oom_score_adj = false;
  int32_t oom_score_adj = 0;
  bool has_umask = false;
  uint32_t umask = 0;
  Stdio stdio;
};

// Mount is control.proto Mount.
struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  uint64_t flags = 0;
  std::string data;
  uint64_t propagation = 0;
  bool fuse = false;
};

// Device is control.proto Device.
struct Device {
  std::string path;
  uint32_t type = 0;
  int64_t major = 0;
  int64_t minor = 0;
  uint32_t file_mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// Namespace is control.proto Namespace.
struct Namespace {
  std::string type;
  std::string path;
};

// SeccompArg is control.proto SeccompArg.
struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  uint32_t op = 0;
};

// SeccompRule is control.proto SeccompRule.
struct SeccompRule {
  std::vector<std::string> names;
  uint32_t action = 0;
  std::vector<SeccompArg> args;
};

// Trap decisions, as Trap.Decision.
enum TrapDecision : uint32_t { kTrapDeny = 0, kTrapAllow = 1, kTrapMountChecked = 2 };

// TrapAllow is control.proto TrapAllow: an argument pattern (every arg matches).
struct TrapAllow {
  std::vector<SeccompArg> args;
};

// Trap is control.proto Trap.
struct Trap {
  std::string name;
  uint32_t decision = kTrapDeny;
  uint32_t errno_value = 0;
  std::vector<TrapAllow> allow_if;
};

// Trap platforms, as Seccomp.Platform: how the filter hands a trapped call to the sentry.
enum TrapPlatform : uint32_t { kPlatformPtrace = 0, kPlatformUnotify = 1 };

// Seccomp is control.proto Seccomp.
struct Seccomp {
  uint32_t default_action = 0;
  std::vector<std::string> architectures;
  std::vector<SeccompRule> rules;
  std::vector<Trap> traps;
  bool log_traps = false;
  bool strace = false;
  std::vector<std::string> strace_syscalls;  // empty = all
  uint32_t strace_log_size = 0;              // 0 = the default
  uint32_t platform = kPlatformPtrace;       // TrapPlatform
};

// RootOverlay is control.proto RootOverlay.
struct RootOverlay {
  std::string upperdir;
  std::string workdir;
  std::string options;
  uint32_t lower_layers = 0;
};

// ContainerSpec is control.proto ContainerSpec; has_seccomp tells an absent Seccomp message.
struct ContainerSpec {
  std::string rootfs;
  bool rootfs_readonly = false;
  std::string hostname;
  std::vector<Mount> mounts;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::vector<Device> devices;
  std::vector<Namespace> namespaces;
  uint64_t rootfs_propagation = 0;
  std::map<std::string, std::string> sysctl;
  bool has_seccomp = false;
  Seccomp seccomp;
  std::string cgroup_path;
  bool root_fuse = false;
  uint64_t overlay_size = 0;
  RootOverlay root_overlay;  // upperdir empty = none
};

// CreateContainerRequest is control.proto CreateContainerRequest.
struct CreateContainerRequest {
  std::string container_id;
  ContainerSpec spec;
  Process process;
};

// StartContainerRequest is control.proto StartContainerRequest.
struct StartContainerRequest {
  std::string container_id;
};

// ExecRequest is control.proto ExecRequest.
struct ExecRequest {
  std::string container_id;
  std::string exec_id;
  Process process;
};

// Signal modes, as SignalRequest.Mode.
enum SignalMode : uint32_t { kSignalProcess = 0, kSignalAll = 1 };

// SignalRequest is control.proto SignalRequest.
struct SignalRequest {
  std::string container_id;
  uint32_t pid = 0;
  uint32_t signal = 0;
  uint32_t mode = kSignalProcess;
};

// WaitRequest is control.proto WaitRequest.
struct WaitRequest {
  std::string container_id;
  uint32_t pid = 0;
};

// ProcessesRequest is control.proto ProcessesRequest.
struct ProcessesRequest {
  std::string container_id;
};

// ResizePtyRequest is control.proto ResizePtyRequest.
struct ResizePtyRequest {
  std::string container_id;
  uint32_t pid = 0;
  uint32_t width = 0;
  uint32_t height = 0;
};

// CloseStdinRequest is control.proto CloseStdinRequest.
struct CloseStdinRequest {
  std::string container_id;
  uint32_t pid = 0;
};

// DestroyContainerRequest is control.proto DestroyContainerRequest.
struct DestroyContainerRequest {
  std::string container_id;
};

// GoferDiedRequest is control.proto GoferDiedRequest.
struct GoferDiedRequest {
  std::string container_id;
  bool io_uring = false;
};

// PauseRequest is control.proto PauseRequest.
struct PauseRequest {
  std::string container_id;
};

// ResumeRequest is control.proto ResumeRequest.
struct ResumeRequest {
  std::string container_id;
};

// Decode parses one request message; false when the bytes are not a valid encoding.
bool Decode(std::string_view data, CreateContainerRequest* out);
bool Decode(std::string_view data, StartContainerRequest* out);
bool Decode(std::string_view data, ExecRequest* out);
bool Decode(std::string_view data, SignalRequest* out);
bool Decode(std::string_view data, WaitRequest* out);
bool Decode(std::string_view data, ProcessesRequest* out);
bool Decode(std::string_view data, ResizePtyRequest* out);
bool Decode(std::string_view data, CloseStdinRequest* out);
bool Decode(std::string_view data, DestroyContainerRequest* out);
bool Decode(std::string_view data, GoferDiedRequest* out);
bool Decode(std::string_view data, PauseRequest* out);
bool Decode(std::string_view data, ResumeRequest* out);

// ---- responses ----

// EncodePidResponse serializes CreateContainerResponse / ExecResponse (same fields).
std::string EncodePidResponse(uint32_t pid, uint32_t sandbox_pid);
// EncodeWaitResponse serializes WaitResponse with exited_at as a Timestamp.
std::string EncodeWaitResponse(uint32_t exit_status, int64_t seconds, int32_t nanos);

// ProcessInfo is control.proto ProcessInfo.
struct ProcessInfo {
  uint32_t pid = 0;
  uint32_t ppid = 0;
  uint32_t sandbox_pid = 0;
  uint32_t sandbox_ppid = 0;
  std::string exec_id;
  std::string cmd;
};
// EncodeProcessesResponse serializes ProcessesResponse.
std::string EncodeProcessesResponse(const std::vector<ProcessInfo>& processes);

}  // namespace msg
