// The zygote socket name must be what the native launcher computes: standard FNV-1a 64.
import t from 'tap';
import { zygotePath } from './zygote-path';

t.test('socket names use FNV-1a 64 of the containerd address, per slot', async (t) => {
  // FNV-1a 64 test vectors: "" → cbf29ce484222325, "a" → af63dc4c8601ec8c.
  t.equal(zygotePath('', 0), '/run/containerd/s/runsc-ts-zygote-cbf29ce484222325-0');
  t.equal(zygotePath('a', 1), '/run/containerd/s/runsc-ts-zygote-af63dc4c8601ec8c-1');
});
