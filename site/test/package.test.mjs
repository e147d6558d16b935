// The npm package itself: what `npm pack` ships, the policy copy against
// origin_handler/policy.json, the version against pyproject.toml, the exports map.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { OUTPUTS, POLICY_JSON, SITE, drift, pythonVersion, render } from '../scripts/prepack.mjs';

const manifest = JSON.parse(readFileSync(join(SITE, 'package.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'image-origin-pack-'));
after(() => rmSync(work, { recursive: true, force: true }));

function sh(command, args, cwd = SITE) {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

const packed = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', work]).replace(/^[^[]*/, ''))[0];
sh('tar', ['-xzf', join(work, packed.filename), '-C', work]);
const unpacked = (path) => readFileSync(join(work, 'package', path), 'utf8');

test('npm pack ships the modules, their types, package.json and README only', () => {
  assert.equal(packed.name, 'image-origin');
  assert.deepEqual(packed.files.map((f) => f.path).sort(), [
    'README.md',
    'lib/canonical.mjs', // internal (the signer's URL reading): no types, not exported
    'lib/index.d.mts',
    'lib/index.mjs',
    'lib/info.mjs', // internal (the info fetch of index and sign)
    'lib/next-loader.d.mts',
    'lib/next-loader.mjs',
    'lib/next.d.mts',
    'lib/next.mjs',
    'lib/policy.d.mts',
    'lib/policy.mjs',
    'lib/rules.mjs', // internal (the policy's rules, shared by the builder and the signer)
    'lib/sign.d.mts',
    'lib/sign.mjs',
    'package.json',
  ]);
  // Every exports target (and its types) is in the tarball.
  const targets = Object.values(manifest.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
  for (const target of targets) assert.ok(packed.files.some((f) => `./${f.path}` === target), target);
});

test('the shipped policy is origin_handler/policy.json (committed copy and tarball)', () => {
  const wanted = render(readFileSync(POLICY_JSON, 'utf8'));
  assert.equal(readFileSync(OUTPUTS.js, 'utf8'), wanted.js, 'lib/policy.mjs is stale: node site/scripts/prepack.mjs');
  assert.equal(readFileSync(OUTPUTS.dts, 'utf8'), wanted.dts, 'lib/policy.d.mts is stale: node site/scripts/prepack.mjs');
  assert.equal(unpacked('lib/policy.mjs'), wanted.js);
  assert.equal(unpacked('lib/policy.d.mts'), wanted.dts);
  const check = spawnSync(process.execPath, [join(SITE, 'scripts', 'prepack.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
});

test('a policy change the copy lacks is drift', () => {
  const policy = JSON.parse(readFileSync(POLICY_JSON, 'utf8'));
  const changed = join(work, 'policy.json');
  writeFileSync(changed, JSON.stringify({ ...policy, widths: [...policy.widths, 4096] }));
  const { wanted, stale } = drift({ policyPath: changed });
  assert.deepEqual(stale, ['js', 'dts']);
  assert.match(wanted.dts, /readonly widths: readonly \[16, .*, 3840, 4096\];/);
  assert.deepEqual(drift().stale, []);
});

test('the version is the Python package version', () => {
  assert.equal(manifest.version, pythonVersion());
  assert.equal(JSON.parse(unpacked('package.json')).version, pythonVersion());
});

test('every entry point resolves through the exports map, ESM only, and declares what it exports', async () => {
  const entries = {
    'image-origin': 'index',
    'image-origin/next': 'next',
    'image-origin/next/loader': 'next-loader',
    'image-origin/policy': 'policy',
    'image-origin/sign': 'sign',
  };
  for (const [specifier, file] of Object.entries(entries)) {
    const mod = await import(specifier); // the package's self-reference: its own exports map
    assert.equal(mod, await import(`../lib/${file}.mjs`), specifier);
    const dts = readFileSync(join(SITE, 'lib', `${file}.d.mts`), 'utf8');
    const declared = new Set([
      ...[...dts.matchAll(/^export (?:declare )?(?:const|function|class) (\w+)/gm)].map((m) => m[1]),
      ...[...dts.matchAll(/^export \{([^}]*)\} from/gm)].flatMap((m) => m[1].split(',').map((n) => n.trim())),
      ...(/^export default /m.test(dts) ? ['default'] : []),
    ]);
    assert.deepEqual(Object.keys(mod).sort(), [...declared].sort(), specifier);
  }
  for (const internal of ['index', 'rules', 'canonical', 'info']) {
    await assert.rejects(import(`image-origin/lib/${internal}.mjs`), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  }
  assert.equal(manifest.type, 'module');
});
