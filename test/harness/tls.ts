/**
 * Test certificates made with the real `openssl` command: a CA, a server certificate for 127.0.0.1 and
 * localhost signed by it, a client certificate signed by it (for servers that require one), and a second,
 * unrelated CA (to show that a wrong CA is refused). Files are PEM in a temporary folder readable by the
 * servers' unprivileged users; `dispose()` removes it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackages } from './debian-packages.ts';

/** One certificate and its key: the file paths and the PEM text. */
export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

/** Everything a TLS test needs. */
export interface TestCertificates {
  readonly dir: string;
  /** The CA that signs `server` and `client`. */
  readonly ca: CertFiles;
  /** Valid for DNS:localhost and IP:127.0.0.1 (not for other names: use it to test name checks). */
  readonly server: CertFiles;
  /** CN=replag, for mutual TLS. */
  readonly client: CertFiles;
  /** A CA that signed nothing here. */
  readonly otherCa: CertFiles;
  /** Removes the folder. Idempotent. */
  dispose(): void;
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.error?.message}`);
}

/**
 * Makes the certificates. `owner` (uid/gid), when given, owns the key files, so a server running as that
 * user can read its key while the key stays mode 0600 (PostgreSQL refuses group- or world-readable keys).
 */
export function makeTestCertificates(options: { owner?: { uid: number; gid: number } } = {}): TestCertificates {
  ensureDebianPackages(['openssl'], ['openssl']);
  const dir = mkdtempSync(join(tmpdir(), 'replication-tls-'));
  chmodSync(dir, 0o755);
  const files = (name: string) => ({ certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) });
  const selfSigned = (name: string, cn: string) => {
    const f = files(name);
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout', f.keyFile, '-out', f.certFile], dir);
    return f;
  };
  const signed = (name: string, cn: string, extensions: string) => {
    const f = files(name);
    const ext = join(dir, `${name}.ext`);
    writeFileSync(ext, extensions);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', `/CN=${cn}`, '-keyout', f.keyFile, '-out', join(dir, `${name}.csr`)], dir);
    openssl(['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial',
      '-days', '2', '-sha256', '-extfile', ext, '-out', f.certFile], dir);
    return f;
  };
  try {
    const ca = selfSigned('ca', 'replag test CA');
    const otherCa = selfSigned('other-ca', 'unrelated test CA');
    const server = signed('server', 'localhost',
      'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n');
    const client = signed('client', 'replag', 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
    const load = (f: { certFile: string; keyFile: string }): CertFiles => {
      chmodSync(f.certFile, 0o644);
      chmodSync(f.keyFile, 0o600);
      if (options.owner) chownSync(f.keyFile, options.owner.uid, options.owner.gid);
      return { ...f, cert: readFileSync(f.certFile, 'utf8'), key: readFileSync(f.keyFile, 'utf8') };
    };
    return {
      dir,
      ca: load(ca),
      server: load(server),
      client: load(client),
      otherCa: load(otherCa),
      dispose: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
