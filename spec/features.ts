// The runtime-spec "Features structure" (features.md + features-linux.md, runtime-spec 1.3), written
// once with TypeBox like schema.ts: the JSON Schema that build.ts compiles into
// generated/features_validator.js, and the TypeScript type `tsrun features` builds.
//
// Where this is stricter than the official schema/features-schema.json, on purpose:
// - No object takes properties the spec does not define (additionalProperties: false), because
//   features.md says the document "MUST NOT contain properties that are not defined in this
//   version". `annotations` is the exception: it is an open map by definition.
// - memoryPolicy and intelRdt.schemata/monitoring are described: features-linux.md (1.3) defines
//   them, schema/features-linux.json does not have them yet.
// - null is refused where features.md allows it ("MAY either be absent or have the null value"):
//   the official schema refuses it too, and tsrun leaves out what it does not say.
//
// Only runtime-neutral code may import values from this file: it loads TypeBox. The runtime imports
// the types only.

import { Type, type Static, type TObject, type TProperties } from "@sinclair/typebox";
import {
  MEMORY_POLICY_FLAGS,
  MEMORY_POLICY_MODES,
  NAMESPACE_TYPES,
  SECCOMP_ACTIONS,
  SECCOMP_ARCHES,
  SECCOMP_FLAGS,
  SECCOMP_OPERATORS,
} from "./enums.ts";
const Opt = Type.Optional;

const Closed = <P extends TProperties>(properties: P): TObject<P> => Type.Object(properties, { additionalProperties: false });

function StringEnum<const T extends readonly string[]>(values: T) {
  return Type.Unsafe<T[number]>({ enum: [...values] });
}

const Strings = () => Type.Array(Type.String());
const Enabled = () => Closed({ enabled: Opt(Type.Boolean()) });

export const FeaturesSeccomp = Closed({
  enabled: Opt(Type.Boolean()),
  actions: Opt(Type.Array(StringEnum(SECCOMP_ACTIONS))),
  operators: Opt(Type.Array(StringEnum(SECCOMP_OPERATORS))),
  archs: Opt(Type.Array(StringEnum(SECCOMP_ARCHES))),
  knownFlags: Opt(Type.Array(StringEnum(SECCOMP_FLAGS))),
  // "may be a subset of knownFlags due to some flags not supported by the current kernel".
  supportedFlags: Opt(Type.Array(StringEnum(SECCOMP_FLAGS))),
});

export const FeaturesCgroup = Closed({
  v1: Opt(Type.Boolean()),
  v2: Opt(Type.Boolean()),
  systemd: Opt(Type.Boolean()),
  systemdUser: Opt(Type.Boolean()),
  rdma: Opt(Type.Boolean()),
});

export const FeaturesLinux = Closed({
  namespaces: Opt(Type.Array(StringEnum(NAMESPACE_TYPES))),
  // Names, not an enum: "including capabilities that might not be supported by the host".
  capabilities: Opt(Type.Array(Type.String({ pattern: "^CAP_[A-Z_]+$" }))),
  cgroup: Opt(FeaturesCgroup),
  seccomp: Opt(FeaturesSeccomp),
  apparmor: Opt(Enabled()),
  selinux: Opt(Enabled()),
  memoryPolicy: Opt(
    Closed({
      modes: Opt(Type.Array(StringEnum(MEMORY_POLICY_MODES))),
      flags: Opt(Type.Array(StringEnum(MEMORY_POLICY_FLAGS))),
    }),
  ),
  intelRdt: Opt(
    Closed({
      enabled: Opt(Type.Boolean()),
      schemata: Opt(Type.Boolean()),
      monitoring: Opt(Type.Boolean()),
    }),
  ),
  mountExtensions: Opt(Closed({ idmap: Opt(Enabled()) })),
  netDevices: Opt(Enabled()),
});

export const Features = Closed({
  // REQUIRED, and "MUST accept this value as the ociVersion property of config.json".
  ociVersionMin: Type.String(),
  ociVersionMax: Type.String(),
  hooks: Opt(Strings()),
  // Not filesystem data options (features.md: "SHOULD NOT contain filesystem-specific mount options").
  mountOptions: Opt(Strings()),
  linux: Opt(FeaturesLinux),
  annotations: Opt(Type.Record(Type.String(), Type.String())),
  // A name ending in "." is a prefix.
  potentiallyUnsafeConfigAnnotations: Opt(Strings()),
});

export type FeaturesSeccomp = Static<typeof FeaturesSeccomp>;
export type FeaturesCgroup = Static<typeof FeaturesCgroup>;
export type FeaturesLinux = Static<typeof FeaturesLinux>;
export type Features = Static<typeof Features>;
