// Tests of how the shim reads containerd's rootfs mounts: which snapshots split into image layers
// and a writable layer for the sandbox's root overlay, and which do not.
import t from 'tap';
import { snapshotLayers } from './rootfs';

const SNAP = '/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots';

t.test("containerd's overlay snapshot splits into its layers", async (t) => {
  const layers = snapshotLayers([
    { type: 'overlay', source: 'overlay', options: ['index=off', `workdir=${SNAP}/9/work`, `upperdir=${SNAP}/9/fs`, `lowerdir=${SNAP}/3/fs:${SNAP}/2/fs:${SNAP}/1/fs`] },
  ]);
  t.same(layers, {
    lowers: [`${SNAP}/3/fs`, `${SNAP}/2/fs`, `${SNAP}/1/fs`],
    upperdir: `${SNAP}/9/fs`,
    workdir: `${SNAP}/9/work`,
    options: ['index=off'],
  });
  const rootless = snapshotLayers([{ type: 'overlay', options: ['userxattr', 'rw', `workdir=${SNAP}/9/work`, `upperdir=${SNAP}/9/fs`, `lowerdir=${SNAP}/1/fs`] }]);
  t.same(rootless?.options, ['userxattr'], 'userxattr is kept, rw dropped');
  t.same(rootless?.lowers, [`${SNAP}/1/fs`], 'one layer');
});

t.test('other root file systems do not split', async (t) => {
  t.equal(snapshotLayers([]), undefined, 'no mounts (a rootfs the bundle already holds)');
  t.equal(snapshotLayers([{ type: 'bind', source: `${SNAP}/1/fs`, options: ['rbind', 'rw'] }]), undefined, "the native snapshotter's bind");
  t.equal(snapshotLayers([{ type: 'overlay', options: [`lowerdir=${SNAP}/2/fs:${SNAP}/1/fs`] }]), undefined, 'a read-only view: no upper layer');
  t.equal(snapshotLayers([{ type: 'overlay', options: [`upperdir=${SNAP}/9/fs`, `lowerdir=${SNAP}/1/fs`] }]), undefined, 'no workdir');
  const two = { type: 'overlay', options: [`workdir=${SNAP}/9/work`, `upperdir=${SNAP}/9/fs`, `lowerdir=${SNAP}/1/fs`] };
  t.equal(snapshotLayers([two, two]), undefined, 'more than one mount');
  t.equal(snapshotLayers([{ type: 'overlay', options: ['workdir=work', `upperdir=${SNAP}/9/fs`, `lowerdir=${SNAP}/1/fs`] }]), undefined, 'a relative directory');
  t.equal(snapshotLayers([{ type: 'overlay', options: [`workdir=${SNAP}/9/work`, `upperdir=${SNAP}/9,x/fs`, `lowerdir=${SNAP}/1/fs`] }]), undefined, 'a comma in a path (the sentry could not pass it on)');
});
