# node-gyp build of runsc-ts's native parts: the sentry, the gofer, the shim launcher and the
# shim's addon.
{
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
    "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fstack-protector-strong",
                  "-fvisibility=hidden", "-D_GNU_SOURCE", "-O2"],
    "include_dirs": ["common"]
  },
  "targets": [
    {
      "target_name": "runsc-ts-sentry",
      "type": "executable",
      "sources": ["<!@(ls -1 sentry/*.cc common/*.cc 2>/dev/null)"],
      "libraries": ["-lseccomp"]
    },
    {
      "target_name": "runsc-ts-gofer",
      "type": "executable",
      "sources": ["<!@(ls -1 gofer/*.cc common/*.cc)"],
      "libraries": ["-lseccomp"],
      # One gofer runs per container: a shared libstdc++'s relocated data costs each ~90 kB, and
      # node-gyp's -rdynamic would export (and make every gofer page in) all of its symbols.
      "ldflags": ["-static-libstdc++", "-static-libgcc"],
      "ldflags!": ["-rdynamic"]
    },
    {
      "target_name": "containerd-shim-runsc-ts-v1",
      "type": "executable",
      "sources": ["launcher/launcher.cc"],
      "defines": ["RUNSC_TS_NODE=\"<!(node -p process.execPath)\""]
    },
    {
      "target_name": "runsc_ts_native",
      "sources": ["<!@(ls -1 addon/*.cc)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"]
    }
  ]
}
