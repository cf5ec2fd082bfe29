/**
 * A real Prometheus server for tests: `startPrometheus()` writes a config into a temporary folder, runs the
 * Debian `prometheus` binary bound to 127.0.0.1 (as the `prometheus` user when running as root), waits
 * until it is ready, and hands back a small client for its HTTP API. `close()` stops it and removes the folder.
 *
 * Prometheus hands new scrape targets to the scrape loop only every 5 s, so the first scrape lands ~5 s
 * after start: use `waitForTargets()` before expecting data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ensureDebianPackages } from './debian-packages.ts';
import { ensureServiceUser, killOnExit, stopChild } from './service-user.ts';
import { waitUntil } from './wait.ts';

export { findFreePort, waitUntil } from './wait.ts';

export interface PrometheusOptions {
  /** Port on 127.0.0.1; keep it below 32768, away from the kernel's ephemeral client ports. */
  port: number;
  /** Targets to scrape, as `host:port` (one job, `jobName`). */
  scrapeTargets: string[];
  /** Rule files to load; they are copied into the server's folder. */
  ruleFiles: string[];
  /** Default 1. */
  scrapeIntervalSeconds?: number;
  /** Default: the scrape interval. */
  evaluationIntervalSeconds?: number;
  /** The scrape job's name, i.e. the `job` label. Default `replication`. */
  jobName?: string;
  /** Path scraped on each target. Default `/metrics`. */
  metricsPath?: string;
  /** Keep the labels the target exposes (`job`, `instance`) over the scrape's. Default false. */
  honorLabels?: boolean;
  /** How long to wait for `/-/ready`. Default 20000. */
  readyTimeoutMs?: number;
}

/** One sample of an instant vector. */
export interface PromSample {
  labels: Record<string, string>;
  value: number;
}

/** An alert as `/api/v1/alerts` reports it. */
export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

/** A scrape target as `/api/v1/targets` reports it. */
export interface PromTarget {
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  labels: Record<string, string>;
}

export interface RunningPrometheus {
  /** Base URL, e.g. `http://127.0.0.1:29090`. */
  readonly url: string;
  /** Instant query (`/api/v1/query`); throws on a query error or a non-vector result. */
  query(promql: string): Promise<PromSample[]>;
  /** Pending and firing alerts (`/api/v1/alerts`). */
  alerts(): Promise<PromAlert[]>;
  /** Active scrape targets (`/api/v1/targets`). */
  targets(): Promise<PromTarget[]>;
  /** Waits until every target has been scraped successfully once. */
  waitForTargets(timeoutMs?: number): Promise<void>;
  /** The server's output so far, for failure messages. */
  log(): string;
  /** Stops the server (SIGCONT, SIGTERM, SIGKILL after 10 s) and removes its folder. Idempotent. */
  close(): Promise<void>;
}

const RUN_USER = 'prometheus';
const STOP_TIMEOUT_MS = 10_000;

/** Starts Prometheus; installs the Debian package first when missing (throws if it cannot). */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  validate(options);
  ensureDebianPackages(['prometheus'], ['prometheus']);
  const asRoot = process.getuid?.() === 0;
  if (asRoot) ensureServiceUser(RUN_USER);

  const dir = mkdtempSync(join(tmpdir(), 'replication-prometheus-'));
  let child: ChildProcess | undefined;
  let output = '';
  const url = `http://127.0.0.1:${options.port}`;
  try {
    chmodSync(dir, 0o755);
    const configFile = writeConfig(dir, options);
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    const args = [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${options.port}`,
      '--storage.tsdb.retention.time=1d',
      '--log.level=warn',
    ];
    if (asRoot) {
      const { uid, gid } = ensureServiceUser(RUN_USER);
      chownSync(dataDir, uid, gid);
      child = spawn('setpriv', [`--reuid=${RUN_USER}`, `--regid=${RUN_USER}`, '--init-groups', 'prometheus', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    } else {
      child = spawn('prometheus', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    }
    const append = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-64_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    killOnExit.add(child);
    await waitReady(url, child, options.readyTimeoutMs ?? 20_000, () => output);
  } catch (err) {
    if (child) await stopChild(child, STOP_TIMEOUT_MS);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const proc = child;
  let closed: Promise<void> | undefined;
  const server: RunningPrometheus = {
    url,
    async query(promql) {
      const data = await api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(url, `/api/v1/query?query=${encodeURIComponent(promql)}`);
      if (data.resultType !== 'vector') throw new Error(`query ${promql} returned a ${data.resultType}, not a vector`);
      return data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
    },
    async alerts() {
      return (await api<{ alerts: PromAlert[] }>(url, '/api/v1/alerts')).alerts;
    },
    async targets() {
      return (await api<{ activeTargets: PromTarget[] }>(url, '/api/v1/targets')).activeTargets;
    },
    async waitForTargets(timeoutMs = 20_000) {
      await waitUntil(`targets of ${url} scraped`, timeoutMs, async () => {
        const targets = await server.targets();
        return targets.length === options.scrapeTargets.length && targets.every((t) => t.health === 'up');
      });
    },
    log: () => output,
    close() {
      closed ??= (async () => {
        await stopChild(proc, STOP_TIMEOUT_MS);
        killOnExit.delete(proc);
        rmSync(dir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
  return server;
}

function validate(options: PrometheusOptions): void {
  if (!Number.isInteger(options.port) || options.port <= 0 || options.port >= 32768) {
    throw new RangeError(`startPrometheus: port ${options.port} must be an integer in 1..32767`);
  }
  for (const target of options.scrapeTargets) {
    if (!/^[\w.-]+:\d+$|^\[[\d:a-fA-F]+\]:\d+$/.test(target)) throw new RangeError(`startPrometheus: scrape target ${target} is not host:port`);
  }
}

function writeConfig(dir: string, options: PrometheusOptions): string {
  const scrape = options.scrapeIntervalSeconds ?? 1;
  const evaluation = options.evaluationIntervalSeconds ?? scrape;
  const rules = options.ruleFiles.map((file, i) => {
    const copy = join(dir, `${i}-${basename(file)}`);
    copyFileSync(file, copy);
    chmodSync(copy, 0o644);
    return copy;
  });
  const config = {
    global: { scrape_interval: `${scrape}s`, scrape_timeout: `${scrape}s`, evaluation_interval: `${evaluation}s` },
    rule_files: rules,
    scrape_configs: [
      {
        job_name: options.jobName ?? 'replication',
        metrics_path: options.metricsPath ?? '/metrics',
        honor_labels: options.honorLabels ?? false,
        static_configs: [{ targets: options.scrapeTargets }],
      },
    ],
  };
  const file = join(dir, 'prometheus.yml');
  // JSON is YAML: no YAML library needed.
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o644 });
  return file;
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  try {
    await waitUntil(`${url}/-/ready`, timeoutMs, async () => {
      if (exited) throw new Error(`prometheus exited during startup`);
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
      return res.ok;
    }, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- prometheus output ---\n${log()}`);
  }
}

async function api<T>(url: string, path: string): Promise<T> {
  const res = await fetch(url + path, { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? res.status}`);
  return body.data;
}

