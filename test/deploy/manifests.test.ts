/**
 * The service manifests in deploy/: their structure is linted here (a client-side dry run does not catch a probe on
 * a port the container does not open, a Secret key nobody defines or a grace period shorter than replag's shutdown),
 * and the systemd unit passes `systemd-analyze verify`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments, parse } from 'yaml';
import { parseFleetConfig } from '../../src/cli/config.ts';
import { REPO_ROOT } from '../helpers/run-node.ts';

type Json = Record<string, any>;

const k8sDir = join(REPO_ROOT, 'deploy/kubernetes');
const docs = (file: string): Json[] => parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8')).map((d) => d.toJS() as Json).filter((d) => d !== null);
const manifests = ['configmap.yaml', 'secret.yaml', 'deployment.yaml'].flatMap(docs);
const byKind = (kind: string): Json => {
  const found = manifests.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0]!;
};

/** Seconds of a replag duration flag value (`10s`, `500ms`, `1m`). */
function seconds(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value);
  assert.ok(m, `duration ${value}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60 }[m[2] as 'ms' | 's' | 'm'];
}

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

describe('Kubernetes manifests', () => {
  const configMap = byKind('ConfigMap');
  const secret = byKind('Secret');
  const deployment = byKind('Deployment');
  const pod = deployment.spec.template.spec as Json;
  const container = (pod.containers as Json[]).find((c) => c.name === 'replag') as Json;
  const args = [...(container.args as string[])];
  const config = parse(configMap.data['replag.yaml']) as Json;

  it('carry a configuration file that replag --config accepts', () => {
    const env = Object.fromEntries(Object.keys(secret.stringData as Json).map((k) => [k, 'x']));
    const parsed = parseFleetConfig(configMap.data['replag.yaml'] as string, { env });
    assert.deepEqual(parsed.sources.map((s) => s.name), ['orders-pg', 'cache']);
  });

  it('are well-formed objects of the API versions that serve them', () => {
    for (const m of manifests) {
      assert.equal(typeof m.metadata?.name, 'string', `${m.kind} has metadata.name`);
      assert.match(m.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS-1123 name');
    }
    assert.equal(configMap.apiVersion, 'v1');
    assert.equal(secret.apiVersion, 'v1');
    assert.equal(deployment.apiVersion, 'apps/v1');
    for (const [key, value] of Object.entries(secret.stringData as Json)) assert.equal(typeof value, 'string', `Secret ${key} is a string`);
  });

  it('select their own pods', () => {
    const labels = deployment.spec.template.metadata.labels as Json;
    for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels as Json)) assert.equal(labels[k], v, `template carries selector label ${k}`);
  });

  it('run replag on the mounted config file, as PID 1 (exec), so SIGTERM reaches it', () => {
    assert.ok(container, 'a container named replag');
    assert.match(container.image, /\/replag:\d+\.\d+\.\d+$/, 'the image built from the Dockerfile, a pinned version');
    assert.deepEqual(container.command, ['replag'], 'replag itself is PID 1 (no shell, no npm), so it gets SIGTERM');
    assert.doesNotMatch(JSON.stringify(container), /npm|registry\.npmjs/, 'nothing is installed at container start');
    const configPath = flag(args, '--config');
    assert.ok(configPath, '--config is passed');
    const mount = (container.volumeMounts as Json[]).find((m) => configPath.startsWith(`${m.mountPath}/`));
    assert.ok(mount, `a volume is mounted where ${configPath} is`);
    const volume = (pod.volumes as Json[]).find((v) => v.name === mount.name);
    assert.equal(volume?.configMap?.name, configMap.metadata.name, 'that volume is the ConfigMap');
    assert.ok(configPath.slice(mount.mountPath.length + 1) in configMap.data, 'the ConfigMap has that file');
  });

  it('give every ${env:NAME} of the config a variable, and every Secret reference a key that exists', () => {
    const env = new Map((container.env as Json[]).map((e) => [e.name as string, e]));
    const wanted = [...(configMap.data['replag.yaml'] as string).matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!);
    assert.ok(wanted.length > 0);
    for (const name of wanted) assert.ok(env.has(name), `${name} is set in the container`);
    for (const e of env.values()) {
      const ref = e.valueFrom?.secretKeyRef as Json | undefined;
      if (ref === undefined) continue;
      assert.equal(ref.name, secret.metadata.name, `${e.name} comes from the Secret`);
      assert.ok(ref.key in secret.stringData, `Secret has key ${ref.key}`);
    }
    assert.ok(!(configMap.data['replag.yaml'] as string).includes('change-me'), 'no password in the ConfigMap');
  });

  it('probe /healthz (startup, liveness) and /readyz (readiness) on the Prometheus port the config serves', () => {
    const prometheus = config.export?.prometheus as Json;
    assert.ok(prometheus, 'the config serves a Prometheus endpoint');
    assert.equal(prometheus.host, '0.0.0.0', 'reachable by the kubelet');
    const port = (container.ports as Json[]).find((p) => p.containerPort === prometheus.port);
    assert.ok(port, `container port ${prometheus.port} is declared`);
    const paths: Record<string, string> = { startupProbe: '/healthz', readinessProbe: '/readyz', livenessProbe: '/healthz' };
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      const get = container[probe]?.httpGet as Json | undefined;
      assert.ok(get, `${probe} is an HTTP probe`);
      assert.equal(get.path, paths[probe]);
      assert.ok(get.port === port.name || get.port === port.containerPort, `${probe} targets the metrics port`);
    }
    assert.equal(deployment.spec.template.metadata.annotations['prometheus.io/port'], String(prometheus.port));
  });

  it('bound resources and shut down within the grace period', () => {
    for (const kind of ['requests', 'limits']) for (const r of ['cpu', 'memory']) assert.ok(container.resources?.[kind]?.[r], `resources.${kind}.${r}`);
    const grace = (pod.terminationGracePeriodSeconds as number | undefined) ?? 30;
    const shutdown = seconds(flag(args, '--shutdown-timeout') ?? '10s');
    assert.ok(shutdown + 5 <= grace, `--shutdown-timeout ${shutdown}s leaves a margin within the ${grace}s grace period`);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.equal(deployment.spec.replicas, 1, 'one replag per set of sources (two would double every series)');
  });
});

describe('systemd unit', () => {
  const unitPath = join(REPO_ROOT, 'deploy/systemd/replag.service');
  const text = readFileSync(unitPath, 'utf8');
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of text.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) sections.set(header[1]!, (current = new Map()));
    else if (/^\w+=/.test(line) && current) current.set(line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1));
  }
  const service = sections.get('Service')!;

  it('runs replag on a config file, reloads with SIGHUP and stops within TimeoutStopSec', () => {
    const exec = service.get('ExecStart')!.split(/\s+/);
    assert.match(exec[0]!, /\/replag$/);
    assert.ok(flag(exec, '--config'), '--config is passed');
    assert.equal(service.get('ExecReload'), '/bin/kill -HUP $MAINPID');
    const shutdown = seconds(flag(exec, '--shutdown-timeout') ?? '10s');
    assert.ok(shutdown + 5 <= Number(service.get('TimeoutStopSec')), 'TimeoutStopSec leaves a margin over --shutdown-timeout');
    assert.equal(service.get('RestartPreventExitStatus'), '2', 'a bad config file is not retried forever');
    assert.equal(sections.get('Install')?.get('WantedBy'), 'multi-user.target');
  });

  it('passes systemd-analyze verify with no unknown keys', () => {
    // verify checks that ExecStart exists: point it at the built bin, which the installed one is.
    const bin = join(REPO_ROOT, 'dist/esm/cli/replag.js');
    const dir = mkdtempSync(join(tmpdir(), 'replag-unit-'));
    try {
      const unit = join(dir, 'replag.service');
      copyFileSync(unitPath, unit);
      writeFileSync(unit, text.replace(/^ExecStart=\S+/m, `ExecStart=${bin}`));
      const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.error, undefined, `systemd-analyze could not run: ${String(r.error)} (Debian package systemd)`);
      const output = `${r.stdout}${r.stderr}`;
      assert.doesNotMatch(output, /Unknown (key|section)|Invalid|Failed to parse|not executable/, output);
      assert.equal(r.status, 0, output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
