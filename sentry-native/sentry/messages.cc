// Hand-written decoders/encoders for the control API messages (see messages.h).
#include "messages.h"

#include "pb.h"

namespace msg {
namespace {

using pb::Reader;

uint32_t U32(Reader& r) { return static_cast<uint32_t>(r.ReadVarint()); }

bool DecodeStdio(std::string_view data, Stdio* out) {
  Reader r(data);
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->has_stdin = r.ReadBool(); break;
      case 2: out->has_stdout = r.ReadBool(); break;
      case 3: out->has_stderr = r.ReadBool(); break;
      case 4: out->terminal = r.ReadBool(); break;
      case 5: out->width = U32(r); break;
      case 6: out->height = U32(r); break;
      default: r.Skip();
    }
  }
  return r.ok();
}

bool DecodeRlimit(std::string_view data, Rlimit* out) {
  Reader r(data);
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->resource = U32(r); break;
      case 2: out->soft = r.ReadVarint(); break;
      case 3: out->hard = r.ReadVarint(); break;
      default: r.Skip();
    }
  }
  return r.ok();
}

bool DecodeCapabilities(std::string_view data, Capabilities* out) {
  Reader r(data);
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->bounding = r.ReadVarint(); break;
      case 2: out->effective = r.ReadVarint(); break;
      case 3: out->inheritable = r.ReadVarint(); break;
      case 4: out->permitted = r.ReadVarint(); break;
      case 5: out->ambient = r.ReadVarint(); break;
      default: r.Skip();
    }
  }
  return r.ok();
}

bool DecodeProcess(std::string_view data, Process* out) {
  Reader r(data);
  bool ok = true;
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->args.push_back(r.ReadString()); break;
      case 2: out->env.push_back(r.ReadString()); break;
      case 3: out->cwd = r.ReadString(); break;
      case 4: out->uid = U32(r); break;
      case 5: out->gid = U32(r); break;
      case 6: {
        std::vector<uint64_t> v;
        r.ReadRepeatedVarint(&v);
        for (uint64_t g : v) out->additional_gids.push_back(static_cast<uint32_t>(g));
        break;
      }
      case 7:
        out->has_capabilities = true;
        ok = ok && DecodeCapabilities(r.ReadBytes(), &out->capabilities);
        break;
      case 8: {
        Rlimit rl;
        ok = ok && DecodeRlimit(r.ReadBytes(), &rl);
        out->rlimits.push_back(rl);
        break;
      }
      case 9: out->no_new_privileges = r.ReadBool(); break;
      case 10: out->has_oom_score_adj = r.ReadBool(); break;
      case 11: out->oom_score_adj = static_cast<int32_t>(r.ReadVarint()); break;
      case 12: out->has_umask = r.ReadBool(); break;
      case 13: out->umask = U32(r); break;
      case 14: ok = ok && DecodeStdio(r.ReadBytes(), &out->stdio); break;
      default: r.Skip();
    }
  }
  return ok && r.ok();
}

bool DecodeMount(std::string_view data, Mount* out) {
  Reader r(data);
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->destination = r.ReadString(); break;
      case 2: out->type = r.ReadString(); break;
      case 3: out->source = r.ReadString(); break;
      case 4: out->flags = r.ReadVarint(); break;
      case 5: out->data = r.ReadString(); break;
      case 6: out->propagation = r.ReadVarint(); break;
      case 7: out->fuse = r.ReadBool(); break;
      default: r.Skip();
    }
  }
  return r.ok();
}

bool DecodeDevice(std::string_view data, Device* out) {
  Reader r(data);
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->path = r.ReadString(); break;
      case 2: out->type = U32(r); break;
      case 3: out->major = static_cast<int64_t>(r.ReadVarint()); break;
      case 4: out->minor = static_cast<int64_t>(r.ReadVarint()); break;
      case 5: out->file_mode = U32(r); break;
      case 6: out->uid = U32(r); break;
      case 7: out->gid = U32(r); break;
      default: r.Skip();
    }
  }
  return r.ok();
}

bool DecodeNamespace(std::string_view data, Namespace* out) {
  Reader r(data);
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->type = r.ReadString(); break;
      case 2: out->path = r.ReadString(); break;
      default: r.Skip();
    }
  }
  return r.ok();
}

bool DecodeRootOverlay(std::string_view data, RootOverlay* out) {
  Reader r(data);
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->upperdir = r.ReadString(); break;
      case 2: out->workdir = r.ReadString(); break;
      case 3: out->options = r.ReadString(); break;
      case 4: out->lower_layers = static_cast<uint32_t>(r.ReadVarint()); break;
      default: r.Skip();
    }
  }
  return r.ok();
}

bool DecodeSeccompArg(std::string_view data, SeccompArg* out) {
  Reader r(data);
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->index = U32(r); break;
      case 2: out->value = r.ReadVarint(); break;
      case 3: out->value_two = r.ReadVarint(); break;
      case 4: out->op = U32(r); break;
      default: r.Skip();
    }
  }
  return r.ok();
}

bool DecodeSeccompRule(std::string_view data, SeccompRule* out) {
  Reader r(data);
  bool ok = true;
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->names.push_back(r.ReadString()); break;
      case 2: out->action = U32(r); break;
      case 3: {
        SeccompArg a;
        ok = ok && DecodeSeccompArg(r.ReadBytes(), &a);
        out->args.push_back(a);
        break;
      }
      default: r.Skip();
    }
  }
  return ok && r.ok();
}

bool DecodeTrapAllow(std::string_view data, TrapAllow* out) {
  Reader r(data);
  bool ok = true;
  while (r.Next()) {
    if (r.field() == 1) {
      SeccompArg a;
      ok = ok && DecodeSeccompArg(r.ReadBytes(), &a);
      out->args.push_back(a);
    } else {
      r.Skip();
    }
  }
  return ok && r.ok();
}

bool DecodeTrap(std::string_view data, Trap* out) {
  Reader r(data);
  bool ok = true;
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->name = r.ReadString(); break;
      case 2: out->decision = U32(r); break;
      case 3: out->errno_value = U32(r); break;
      case 4: {
        TrapAllow a;
        ok = ok && DecodeTrapAllow(r.ReadBytes(), &a);
        out->allow_if.push_back(std::move(a));
        break;
      }
      default: r.Skip();
    }
  }
  return ok && r.ok();
}

bool DecodeSeccomp(std::string_view data, Seccomp* out) {
  Reader r(data);
  bool ok = true;
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->default_action = U32(r); break;
      case 2: out->architectures.push_back(r.ReadString()); break;
      case 3: {
        SeccompRule rule;
        ok = ok && DecodeSeccompRule(r.ReadBytes(), &rule);
        out->rules.push_back(std::move(rule));
        break;
      }
      case 4: {
        Trap t;
        ok = ok && DecodeTrap(r.ReadBytes(), &t);
        out->traps.push_back(std::move(t));
        break;
      }
      case 5: out->log_traps = r.ReadBool(); break;
      case 6: out->strace = r.ReadBool(); break;
      case 7: out->strace_syscalls.push_back(r.ReadString()); break;
      case 8: out->strace_log_size = U32(r); break;
      case 9: out->platform = U32(r); break;
      default: r.Skip();
    }
  }
  return ok && r.ok();
}

bool DecodeMapEntry(std::string_view data, std::map<std::string, std::string>* out) {
  Reader r(data);
  std::string key, value;
  while (r.Next()) {
    switch (r.field()) {
      case 1: key = r.ReadString(); break;
      case 2: value = r.ReadString(); break;
      default: r.Skip();
    }
  }
  (*out)[key] = value;
  return r.ok();
}

bool DecodeContainerSpec(std::string_view data, ContainerSpec* out) {
  Reader r(data);
  bool ok = true;
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->rootfs = r.ReadString(); break;
      case 2: out->rootfs_readonly = r.ReadBool(); break;
      case 3: out->hostname = r.ReadString(); break;
      case 4: {
        Mount m;
        ok = ok && DecodeMount(r.ReadBytes(), &m);
        out->mounts.push_back(std::move(m));
        break;
      }
      case 5: out->masked_paths.push_back(r.ReadString()); break;
      case 6: out->readonly_paths.push_back(r.ReadString()); break;
      case 7: {
        Device d;
        ok = ok && DecodeDevice(r.ReadBytes(), &d);
        out->devices.push_back(std::move(d));
        break;
      }
      case 8: {
        Namespace n;
        ok = ok && DecodeNamespace(r.ReadBytes(), &n);
        out->namespaces.push_back(std::move(n));
        break;
      }
      case 9: out->rootfs_propagation = r.ReadVarint(); break;
      case 10: ok = ok && DecodeMapEntry(r.ReadBytes(), &out->sysctl); break;
      case 11:
        out->has_seccomp = true;
        ok = ok && DecodeSeccomp(r.ReadBytes(), &out->seccomp);
        break;
      case 12: out->cgroup_path = r.ReadString(); break;
      case 13: out->root_fuse = r.ReadBool(); break;
      case 14: out->overlay_size = r.ReadVarint(); break;
      case 15: ok = ok && DecodeRootOverlay(r.ReadBytes(), &out->root_overlay); break;
      default: r.Skip();
    }
  }
  return ok && r.ok();
}

// DecodeIdOnly decodes messages whose only field is 1 = container_id.
bool DecodeIdOnly(std::string_view data, std::string* id) {
  Reader r(data);
  while (r.Next()) {
    if (r.field() == 1) *id = r.ReadString();
    else r.Skip();
  }
  return r.ok();
}

}  // namespace

bool Decode(std::string_view data, TtrpcRequest* out) {
  Reader r(data);
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->service = r.ReadString(); break;
      case 2: out->method = r.ReadString(); break;
      case 3: out->payload = r.ReadString(); break;
      case 4: out->timeout_nano = static_cast<int64_t>(r.ReadVarint()); break;
      default: r.Skip();  // 5 metadata: not used by the sentry
    }
  }
  return r.ok();
}

std::string EncodeResponse(int code, const std::string& message, const std::string& payload) {
  pb::Writer w;
  if (code != 0) {
    pb::Writer status;
    status.Int32(1, code);
    status.String(2, message);
    w.Message(1, status);
  } else {
    w.String(2, payload);
  }
  return w.data();
}

bool Decode(std::string_view data, CreateContainerRequest* out) {
  Reader r(data);
  bool ok = true;
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->container_id = r.ReadString(); break;
      case 2: ok = ok && DecodeContainerSpec(r.ReadBytes(), &out->spec); break;
      case 3: ok = ok && DecodeProcess(r.ReadBytes(), &out->process); break;
      default: r.Skip();
    }
  }
  return ok && r.ok();
}

bool Decode(std::string_view data, StartContainerRequest* out) {
  return DecodeIdOnly(data, &out->container_id);
}

bool Decode(std::string_view data, ExecRequest* out) {
  Reader r(data);
  bool ok = true;
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->container_id = r.ReadString(); break;
      case 2: out->exec_id = r.ReadString(); break;
      case 3: ok = ok && DecodeProcess(r.ReadBytes(), &out->process); break;
      default: r.Skip();
    }
  }
  return ok && r.ok();
}

bool Decode(std::string_view data, SignalRequest* out) {
  Reader r(data);
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->container_id = r.ReadString(); break;
      case 2: out->pid = U32(r); break;
      case 3: out->signal = U32(r); break;
      case 4: out->mode = U32(r); break;
      default: r.Skip();
    }
  }
  return r.ok();
}

bool Decode(std::string_view data, WaitRequest* out) {
  Reader r(data);
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->container_id = r.ReadString(); break;
      case 2: out->pid = U32(r); break;
      default: r.Skip();
    }
  }
  return r.ok();
}

bool Decode(std::string_view data, ProcessesRequest* out) {
  return DecodeIdOnly(data, &out->container_id);
}

bool Decode(std::string_view data, ResizePtyRequest* out) {
  Reader r(data);
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->container_id = r.ReadString(); break;
      case 2: out->pid = U32(r); break;
      case 3: out->width = U32(r); break;
      case 4: out->height = U32(r); break;
      default: r.Skip();
    }
  }
  return r.ok();
}

bool Decode(std::string_view data, CloseStdinRequest* out) {
  Reader r(data);
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->container_id = r.ReadString(); break;
      case 2: out->pid = U32(r); break;
      default: r.Skip();
    }
  }
  return r.ok();
}

bool Decode(std::string_view data, DestroyContainerRequest* out) {
  return DecodeIdOnly(data, &out->container_id);
}

bool Decode(std::string_view data, GoferDiedRequest* out) {
  Reader r(data);
  while (r.Next()) {
    switch (r.field()) {
      case 1: out->container_id = r.ReadString(); break;
      case 2: out->io_uring = r.ReadBool(); break;
      default: r.Skip();
    }
  }
  return r.ok();
}

bool Decode(std::string_view data, PauseRequest* out) {
  return DecodeIdOnly(data, &out->container_id);
}

bool Decode(std::string_view data, ResumeRequest* out) {
  return DecodeIdOnly(data, &out->container_id);
}

std::string EncodePidResponse(uint32_t pid, uint32_t sandbox_pid) {
  pb::Writer w;
  w.Varint(1, pid);
  w.Varint(2, sandbox_pid);
  return w.data();
}

std::string EncodeWaitResponse(uint32_t exit_status, int64_t seconds, int32_t nanos) {
  pb::Writer ts;
  ts.Varint(1, static_cast<uint64_t>(seconds));
  ts.Int32(2, nanos);
  pb::Writer w;
  w.Varint(1, exit_status);
  w.Message(2, ts);
  return w.data();
}

std::string EncodeProcessesResponse(const std::vector<ProcessInfo>& processes) {
  pb::Writer w;
  for (const ProcessInfo& p : processes) {
    pb::Writer m;
    m.Varint(1, p.pid);
    m.Varint(2, p.ppid);
    m.Varint(3, p.sandbox_pid);
    m.Varint(4, p.sandbox_ppid);
    m.String(5, p.exec_id);
    m.String(6, p.cmd);
    w.Message(1, m);
  }
  return w.data();
}

}  // namespace msg
