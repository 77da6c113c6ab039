// The setup channel: a SOCK_SEQPACKET socketpair between the sentry and one forked child
// (container init or exec'd process). One message per packet, first byte = kind.
//   child -> sentry: 'P' hand-over: the forked child made the container's own PID namespace
//                        and cloned its init (CLONE_PARENT: a child of the sentry) whose pid
//                        travels as SCM_CREDENTIALS; sent by the forked child before it exits
//                        and by the init as its first step (so twice, normally)
//                    'R' ready (waiting for start), 'M' pty master (fd as SCM_RIGHTS),
//                    'N' the seccomp filter's notification listener (platform unotify; fd as
//                        SCM_RIGHTS), after the start byte, before exec
//                    'E' <code byte> <text> setup or exec failed (the child then exits)
//   sentry -> child: 'S' start (go on and exec)
// The child's end is CLOEXEC, so EOF after 'S' means the exec succeeded.
#pragma once

namespace setup_channel {

constexpr char kHandoff = 'P';
constexpr char kReady = 'R';
constexpr char kMaster = 'M';
constexpr char kListener = 'N';
constexpr char kError = 'E';
constexpr char kStart = 'S';

// kMaxMessage bounds one packet (error texts are short).
constexpr int kMaxMessage = 4096;

}  // namespace setup_channel
