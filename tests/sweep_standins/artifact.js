// The upload/download stand-ins' body: @actions/artifact's DefaultArtifactClient, as the real
// actions use it. `node artifact.js upload|download`, inputs from INPUT_* variables.
const fs = require("fs");
const path = require("path");
const { DefaultArtifactClient } = require("@actions/artifact");

const client = new DefaultArtifactClient();
const input = (n) => process.env[`INPUT_${n}`] || "";
const globToRe = (g) => new RegExp("^" + g.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*") + "$");

async function upload() {
  const root = process.env.GITHUB_WORKSPACE || process.cwd();
  const files = input("PATH").split("\n").map((s) => s.trim()).filter(Boolean)
    .map((p) => path.resolve(root, p)).filter((p) => fs.existsSync(p));
  if (files.length === 0) {
    const msg = `no files found for ${input("PATH")}`;
    if (input("IF_NO_FILES_FOUND") === "error") throw new Error(msg);
    console.log(msg);
    return;
  }
  const { id, size } = await client.uploadArtifact(input("NAME"), files, root);
  console.log(`uploaded artifact ${input("NAME")} (id ${id}, ${size} bytes): ${files.map((f) => path.relative(root, f)).join(", ")}`);
}

async function download() {
  const dest = path.resolve(process.env.GITHUB_WORKSPACE || process.cwd(), input("PATH") || ".");
  const { artifacts } = await client.listArtifacts({ latest: true });
  const re = input("PATTERN") ? globToRe(input("PATTERN")) : null;
  const wanted = artifacts.filter((a) => (input("NAME") ? a.name === input("NAME") : !re || re.test(a.name)));
  if (wanted.length === 0) throw new Error(`no artifact matches ${input("NAME") || input("PATTERN")}`);
  const merge = input("MERGE_MULTIPLE") === "true";
  for (const a of wanted) {
    const to = merge ? dest : path.join(dest, a.name);
    await client.downloadArtifact(a.id, { path: to });
    console.log(`downloaded artifact ${a.name} (id ${a.id}) to ${to}`);
  }
}

(process.argv[2] === "upload" ? upload() : download()).catch((e) => {
  console.error(`::error::${e.message || e}`);
  console.error(e && e.statusCode, e && e.request && e.request.method, e && e.request && e.request.url, e && e.response && e.response.bodyAsText);
  process.exit(1);
});
