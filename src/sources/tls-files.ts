/**
 * The `tls` block of a source's options in the configuration file (file paths, as the `--tls-*` flags take them),
 * as a zod schema, and its reading into `SourceTlsOptions` (PEM text) when a source is created.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { SourceTlsOptions } from './tls.ts';

/** `tls: { ca, cert, key, servername, insecure }`: PEM file paths, the name to check, no verification. */
export const tlsFilesSchema = z
  .strictObject({
    ca: z.string().min(1).optional().describe('CA certificate file (PEM) that signs the servers\' certificates'),
    cert: z.string().min(1).optional().describe('client certificate file (PEM), with key'),
    key: z.string().min(1).optional().describe('client certificate\'s private key file (PEM)'),
    servername: z.string().min(1).optional().describe('name to check the servers\' certificates against'),
    insecure: z.boolean().optional().describe('encrypt without verifying the servers\' certificates'),
  })
  .refine((t) => (t.cert === undefined) === (t.key === undefined), { message: 'cert and key go together (a client certificate needs its private key)' });

/** Reads the files of a `tls` block. @throws Error naming the option and the file (never its contents). */
export async function readTlsFiles(tls: z.output<typeof tlsFilesSchema>, option: string): Promise<SourceTlsOptions> {
  const pem = async (key: 'ca' | 'cert' | 'key') => {
    const path = tls[key];
    if (path === undefined) return {};
    try {
      return { [key]: await readFile(path, 'utf8') };
    } catch (error) {
      throw new Error(`${option}.${key}: cannot read ${path} (${(error as { code?: string }).code ?? (error as Error).message})`);
    }
  };
  return {
    ...(await pem('ca')),
    ...(await pem('cert')),
    ...(await pem('key')),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
    ...(tls.insecure === true ? { rejectUnauthorized: false } : {}),
  };
}
