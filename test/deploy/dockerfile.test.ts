/**
 * The Dockerfile (Docker does not run here): its instructions are linted — a Node base image that satisfies
 * `engines`, the packed package's file name and the peer versions the tests pin, a non-root user matching the
 * Deployment, replag as the exec-form entrypoint, the image the Deployment runs and the README builds — and its
 * install steps are replayed in a scratch directory standing for the image's /usr/local, after which the installed
 * replag runs.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../helpers/run-node.ts';

interface Instruction {
  keyword: string;
  args: string;
}

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string; engines: { node: string }; devDependencies: Record<string, string>; files: string[] };
const dockerfileText = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');

/** The Dockerfile's instructions: comments dropped, `\` continuations joined. */
function instructions(text: string): Instruction[] {
  const joined = text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\\\n\s*/g, '');
  return joined.split('\n').filter((l) => l.trim() !== '').map((l) => {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(l);
    assert.ok(m, `not an instruction: ${l}`);
    return { keyword: m[1]!.toUpperCase(), args: m[2]!.trim() };
  });
}

const all = instructions(dockerfileText);
const one = (keyword: string): Instruction => {
  const found = all.filter((i) => i.keyword === keyword);
  assert.equal(found.length, 1, `exactly one ${keyword}`);
  return found[0]!;
};
const tarballName = `${pkg.name}-${pkg.version}.tgz`;
const deployment = parseAllDocuments(readFileSync(join(REPO_ROOT, 'deploy/kubernetes/deployment.yaml'), 'utf8')).map((d) => d.toJS()).find((d) => d?.kind === 'Deployment');

describe('Dockerfile', () => {
  it('uses only known instructions, in a buildable order', () => {
    const known = new Set(['FROM', 'COPY', 'RUN', 'USER', 'ENTRYPOINT', 'CMD', 'ENV', 'ARG', 'LABEL', 'WORKDIR']);
    for (const i of all) assert.ok(known.has(i.keyword), i.keyword);
    assert.equal(all[0]?.keyword, 'FROM');
  });

  it('starts from a Node image that satisfies engines', () => {
    const m = /^node:(\d+)(?:[.-]\S*)?$/.exec(one('FROM').args);
    assert.ok(m, `FROM ${one('FROM').args}: the official node image at a major version`);
    const minimum = Number(/>=\s*(\d+)/.exec(pkg.engines.node)?.[1]);
    assert.ok(Number(m[1]) > minimum, `node ${m[1]} is newer than engines ${pkg.engines.node} (a major above, so any minor)`);
  });

  it('installs the packed package of this version with the sidecar\'s peers at the tested versions, and ships in the package', () => {
    assert.equal(one('COPY').args, `${tarballName} /tmp/`);
    const run = one('RUN').args;
    assert.match(run, new RegExp(`npm install --global .*/tmp/${tarballName.replaceAll('.', '\\.')}`));
    for (const name of ['pg', 'mysql2', 'yaml', 'zod']) assert.match(run, new RegExp(` ${name}@${pkg.devDependencies[name]!.replaceAll('.', '\\.')}( |$)`), `${name} at the tested version`);
    assert.match(run, /npm cache clean --force/);
    assert.ok(pkg.files.includes('Dockerfile'), 'the Dockerfile is in the npm package (build from `npm pack otel-replication-lag@VERSION`)');
  });

  it('runs replag as the exec-form entrypoint, as the unprivileged user the Deployment expects', () => {
    assert.deepEqual(JSON.parse(one('ENTRYPOINT').args), ['replag']);
    assert.equal(one('USER').args, 'node', 'the node image\'s user, uid 1000');
    const pod = deployment.spec.template.spec;
    assert.equal(pod.securityContext.runAsUser, 1000);
    assert.equal(all.at(-2)?.keyword, 'ENTRYPOINT');
  });

  it('is the image the Deployment runs and the README and its own header build', () => {
    const image = deployment.spec.template.spec.containers[0].image as string;
    assert.match(image, new RegExp(`/replag:${pkg.version.replaceAll('.', '\\.')}$`));
    assert.ok(dockerfileText.includes(`docker build -t ${image} .`), 'the header builds that tag');
    assert.ok(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').includes(`docker build -t ${image} .`), 'the README builds that tag');
  });
});

describe('the Dockerfile\'s install steps, replayed in a scratch directory', { timeout: 300_000 }, () => {
  let context: string;
  let image: string;
  const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;

  before(() => {
    // The build context: what `npm pack` leaves next to the Dockerfile.
    context = mkdtempSync(join(tmpdir(), 'replag-docker-'));
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', context], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.ok(existsSync(join(context, tarballName)), `npm pack wrote ${tarballName}, the file the Dockerfile copies`);
    image = join(context, 'image');
    mkdirSync(join(image, 'tmp'), { recursive: true });
  });
  after(() => {
    if (context) rmSync(context, { recursive: true, force: true });
  });

  it('COPY, then RUN with the image\'s npm prefix (/usr/local) moved into the scratch image, leave a replag that runs', () => {
    const [source, target] = one('COPY').args.split(/\s+/);
    copyFileSync(join(context, source!), join(image, target!, source!));
    const run = one('RUN').args.replaceAll('/tmp/', `${image}/tmp/`).replace('npm install --global', `npm install --global --prefix ${image}/usr/local`);
    const r = spawnSync('sh', ['-ec', run], { cwd: context, encoding: 'utf8', timeout: 240_000, env: { ...process.env, PATH } });
    assert.equal(r.status, 0, `${run}\n${r.stdout}${r.stderr}`);
    assert.equal(existsSync(join(image, 'tmp', tarballName)), false, 'the tarball is removed from the image');
    const entrypoint = JSON.parse(one('ENTRYPOINT').args) as string[];
    const bin = join(image, 'usr/local/bin', entrypoint[0]!);
    assert.ok(existsSync(bin), `${entrypoint[0]} on the image's PATH (/usr/local/bin)`);
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH } });
    assert.equal(version.status, 0, `${version.stdout}${version.stderr}`);
    assert.equal(version.stdout.trim(), pkg.version);
    const help = spawnSync(bin, JSON.parse(one('CMD').args) as string[], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH } });
    assert.equal(help.status, 0, `${help.stdout}${help.stderr}`);
    assert.match(help.stdout, /--config/);
  });
});
