// Test support: the viewer-request function (minified artefact or rendered source) in a
// bare JavaScript realm under node, with the runtime's two modules supplied — `crypto`
// (node's HMAC, which CloudFront's matches) and `cloudfront` (a KeyValueStore holding the
// contents given). Outside test/ because node --test runs every file under a test/ folder.
//
//   node cloudfront/function-realm.mjs VECTORS.json [ARTEFACT]   # prints "checked N, failed M"
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const HARNESS = readFileSync(join(HERE, 'vector-harness.js'), 'utf8');
// `import x from "cloudfront";` as terser writes it, or as the template does.
const IMPORT = /\bimport\s+([A-Za-z_$][\w$]*)\s+from\s*["']([a-z]+)["'];?/g;
const MODULES = ['cloudfront', 'crypto'];

/** A realm running `code` and the vector harness; `realm.KVS_CONTENTS` is the store. */
export function loadFunction(code, kvs = {}) {
  const seen = [];
  const script = code.replace(IMPORT, (_, name, module) => {
    if (!MODULES.includes(module)) throw new Error(`the function imports ${module}: not a runtime module`);
    seen.push(module);
    return `var ${name} = __module_${module};`;
  });
  if (/\bimport\b[\s{*]/.test(script)) throw new Error('an import form the loader does not know');
  const realm = vm.createContext({
    KVS_CONTENTS: kvs,
    __module_crypto: { createHmac: (alg, key) => createHmac(alg, key) },
    __module_cloudfront: { kvs: () => realm.harnessKvs(realm.KVS_CONTENTS) },
  });
  vm.runInContext(script, realm, { filename: 'viewer-request.js' });
  vm.runInContext(HARNESS, realm, { filename: 'vector-harness.js' });
  realm.importedModules = seen;
  return realm;
}

async function main([vectorsPath, artefact = join(HERE, 'viewer-request.min.js')]) {
  const { vectors, kvs } = JSON.parse(readFileSync(resolve(vectorsPath), 'utf8'));
  const realm = loadFunction(readFileSync(resolve(artefact), 'utf8'), kvs || {});
  const summary = await realm.runVectors(realm.handler, vectors);
  for (const failure of summary.failures.slice(0, 20)) console.log(`FAIL ${failure}`);
  console.log(`checked ${summary.checks}, failed ${summary.failed}`);
  if (summary.failed) process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e.message);
    process.exitCode = 1;
  });
}
