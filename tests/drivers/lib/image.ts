// The test image, made without a registry: a busybox rootfs (scripts/busybox-rootfs.sh) as a
// plain tarball for `podman import`, and as a one-layer OCI image-layout archive for
// `ctr images import`.
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO } from "./runtimes.ts";

const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function sh(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stdio: ["ignore", "pipe", "pipe"] });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString()}`);
}

/** Build the busybox rootfs under `dir` and tar it; returns the tarball's path. */
export function rootfsTarball(dir: string): string {
  const rootfs = path.join(dir, "rootfs");
  sh([path.join(REPO, "scripts", "busybox-rootfs.sh"), rootfs]);
  const tar = path.join(dir, "rootfs.tar");
  // Member names without "./": layer appliers and `podman import` both take them as they are.
  const entries = fs.readdirSync(rootfs).sort();
  sh(["tar", "--numeric-owner", "-C", rootfs, "-cf", tar, ...entries]);
  fs.rmSync(rootfs, { recursive: true, force: true });
  return tar;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

function ociArch(): string {
  const m: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return m[process.arch] ?? process.arch;
}

/**
 * An OCI image-layout archive (oci-layout, index.json, blobs/sha256/…) holding one image named
 * `ref` whose only layer is `layerTar` (uncompressed). Returns the archive's path.
 */
export function ociArchive(layerTar: string, dir: string, ref: string): string {
  const layout = path.join(dir, "oci-layout-dir");
  const blobs = path.join(layout, "blobs", "sha256");
  fs.mkdirSync(blobs, { recursive: true });
  const addBlob = (mediaType: string, data: Uint8Array): Descriptor => {
    const hex = new Bun.CryptoHasher("sha256").update(data).digest("hex");
    fs.writeFileSync(path.join(blobs, hex), data);
    return { mediaType, digest: `sha256:${hex}`, size: data.byteLength };
  };
  const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

  const layer = addBlob("application/vnd.oci.image.layer.v1.tar", fs.readFileSync(layerTar));
  const platform = { architecture: ociArch(), os: "linux" };
  const config = addBlob(
    "application/vnd.oci.image.config.v1+json",
    json({
      ...platform,
      config: { Env: [PATH_ENV], Cmd: ["sh"], WorkingDir: "/" },
      // An uncompressed layer's diff id is its own digest.
      rootfs: { type: "layers", diff_ids: [layer.digest] },
      history: [{ created_by: "tests/drivers/lib/image.ts" }],
    }),
  );
  const manifest = addBlob(
    "application/vnd.oci.image.manifest.v1+json",
    json({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: [layer] }),
  );
  // containerd names the image after io.containerd.image.name, others read ref.name.
  manifest.annotations = { "io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref };
  manifest.platform = platform;
  fs.writeFileSync(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  fs.writeFileSync(
    path.join(layout, "index.json"),
    JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [manifest] }),
  );
  const archive = path.join(dir, "image-oci.tar");
  sh(["tar", "-C", layout, "-cf", archive, "oci-layout", "index.json", "blobs"]);
  fs.rmSync(layout, { recursive: true, force: true });
  return archive;
}
