// Files embedded in the single-file build with `import x from "…" with { type: "file" }`.
declare module "*/tsrun-helper" {
  const path: string;
  export default path;
}
