/**
 * The configuration file's schema: the sections replag itself owns (service, export, defaults, and the keys every
 * source entry has) in zod, each source's own options from its descriptor in the registry; and the JSON Schema of
 * the whole file, generated from both.
 */
import { z } from 'zod';
import { SOURCE_DESCRIPTORS } from '../sources/registry.ts';
import { DURATION_EXPECTED, durationSchema } from '../sources/options.ts';

const RESERVED_ATTRIBUTES = ['replication.source', 'replication.node.id', 'replication.severity', 'replication.severity.previous'];
const NAME = /^[A-Za-z0-9][\w.:/-]{0,127}$/;
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export const OUTPUT_MODES = ['auto', 'table', 'plain', 'quiet'] as const;

const nonEmpty = (what = 'a non-empty string') => z.string({ error: `expected ${what}` }).refine((s) => s.trim() !== '', { error: `expected ${what}` });
const port = (description: string) =>
  z.preprocess(numeric, z.number({ error: 'expected an integer from 1 to 65535' }).int({ error: 'expected an integer from 1 to 65535' }).min(1, { error: 'expected an integer from 1 to 65535' }).max(65535, { error: 'expected an integer from 1 to 65535' })).describe(description);
/** A number written as text (from `${env:…}`) as the number. */
export const numeric = (v: unknown): unknown => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v);
const duration = (description: string) => durationSchema().describe(`${description}: ${DURATION_EXPECTED}`);

/** Alert thresholds (durations, parsed to ms). */
export const thresholdsSchema = z
  .strictObject({
    warning: duration('delay from which a follower is in warning (default 5s)').optional(),
    critical: duration('delay from which a follower is critical (default 30s)').optional(),
    stall: duration('time without progress after which a follower is stalled (default 10s)').optional(),
  }, { error: 'expected a mapping of warning, critical, stall' })
  .describe('alert thresholds');

/** The keys every source entry has, whatever its type. */
export const commonSourceShape = {
  name: z
    .string({ error: 'expected a name' })
    .regex(NAME, { error: 'expected a name of letters, digits, ".", "_", "-", ":" or "/" (at most 128, starting with a letter or digit)' })
    .describe('unique in the file; exported as replication.source'),
  type: z.string({ error: `expected one of ${SOURCE_DESCRIPTORS.map((d) => d.type).join(', ')}` }).describe('the system'),
  interval: duration('time between polls (default: defaults.interval, else 1s)').optional(),
  timeout: duration("bound on each poll (default: defaults.timeout, else the source's 5s)").optional(),
  thresholds: thresholdsSchema.optional(),
  attributes: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' }), { error: 'expected a mapping of attribute names to strings, numbers or booleans' })
    .superRefine(
      (attributes, ctx) => {
        for (const key of Object.keys(attributes)) {
          if (RESERVED_ATTRIBUTES.includes(key)) ctx.addIssue({ code: 'custom', path: [key], message: "reserved: replag sets this attribute itself (replication.source is the source's name)" });
        }
      },
      { when: (payload) => payload.value !== null && typeof payload.value === 'object' },
    )
    .describe('added to every point of the source')
    .optional(),
};

/** The keys every source entry has. */
export const COMMON_SOURCE_KEYS: readonly string[] = Object.keys(commonSourceShape);

export const commonSourceSchema = z.strictObject(commonSourceShape);

/** The file without its sources' own options (each is checked against its type's descriptor). */
export const fileSchema = z.strictObject(
  {
    service: z.strictObject({ name: nonEmpty().describe('service.name (default: OTEL_SERVICE_NAME, else replag)').optional() }, { error: 'expected a mapping' }).optional(),
    export: z
      .strictObject(
        {
          prometheus: z
            .strictObject({ port: port('port of the Prometheus endpoint'), host: nonEmpty().describe('interface it listens on').default('0.0.0.0') }, { error: 'expected a mapping of port, host' })
            .describe('serve Prometheus metrics')
            .optional(),
          otlp: z
            .strictObject(
              {
                endpoint: nonEmpty().describe('OTLP base URL, e.g. http://collector:4318 (grpc: also host:port, TLS)').optional(),
                protocol: z.enum(OTLP_PROTOCOLS, { error: `expected one of ${OTLP_PROTOCOLS.join(', ')}` }).describe('default: OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf').optional(),
              },
              { error: 'expected a mapping of endpoint, protocol' },
            )
            .describe('OTLP export (default: the OTEL_EXPORTER_OTLP_* environment)')
            .optional(),
          http: z
            .strictObject({ port: port('port of the HTTP endpoints (status, health)'), host: nonEmpty().describe('interface it listens on').default('127.0.0.1') }, { error: 'expected a mapping of port, host' })
            .describe("replag's own HTTP endpoints")
            .optional(),
          interval: duration('metric export interval (default: OTEL_METRIC_EXPORT_INTERVAL, else 60s)').optional(),
        },
        { error: 'expected a mapping' },
      )
      .optional(),
    defaults: z
      .strictObject(
        {
          interval: duration('time between polls of each source (default 1s)').optional(),
          timeout: duration("bound on each poll (default: the source's, 5s)").optional(),
          thresholds: thresholdsSchema.optional(),
        },
        { error: 'expected a mapping' },
      )
      .optional(),
    sources: z.array(z.unknown(), { error: 'expected a list of sources' }).min(1, { error: 'expected at least one source' }).describe('the sources to watch'),
  },
  { error: 'expected a mapping' },
);

export const TOP_LEVEL_KEYS: readonly string[] = Object.keys(fileSchema.shape);

type Json = Record<string, unknown>;

/** JSON Schema (draft-07) of one zod schema, input side (what the file holds). */
function json(schema: z.ZodType): Json {
  const out = z.toJSONSchema(schema, { io: 'input', target: 'draft-07', unrepresentable: 'any' }) as Json;
  delete out.$schema;
  return out;
}

const ENV_REFERENCE = { type: 'string', pattern: '\\$\\{env:[A-Za-z_][A-Za-z0-9_]*\\}' };

/** Lets a value that is not a free string also be written as `${env:NAME}` (replaced before validation). */
function allowEnv(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowEnv);
  if (node === null || typeof node !== 'object') return node;
  const o = { ...(node as Json) };
  const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
  for (const k of ['items', 'additionalProperties', 'if', 'then', 'else']) if (isObject(o[k])) o[k] = allowEnv(o[k]);
  for (const k of ['anyOf', 'oneOf', 'allOf']) if (Array.isArray(o[k])) o[k] = (o[k] as unknown[]).map(allowEnv);
  if (isObject(o.properties)) o.properties = Object.fromEntries(Object.entries(o.properties).map(([k, v]) => [k, allowEnv(v)]));
  const leaf = o.type === 'integer' || o.type === 'number' || (o.type === 'string' && (o.pattern !== undefined || o.enum !== undefined));
  if (!leaf || o.const !== undefined) return o;
  const { description, default: fallback, ...rest } = o;
  return { ...(description !== undefined ? { description } : {}), ...(fallback !== undefined ? { default: fallback } : {}), anyOf: [rest, ENV_REFERENCE] };
}

/** The JSON Schema of replag's configuration file, from the registry. */
export function configJsonSchema(): Json {
  const file = json(fileSchema);
  const common = json(commonSourceSchema);
  const commonProperties = common.properties as Json;
  const types = SOURCE_DESCRIPTORS.map((d) => d.type);
  const perType = SOURCE_DESCRIPTORS.map((d) => {
    const own = json(d.options);
    return {
      if: { properties: { type: { const: d.type } }, required: ['type'] },
      then: {
        description: d.summary,
        properties: { ...commonProperties, ...(own.properties as Json) },
        required: [...new Set([...(common.required as string[]), ...((own.required as string[] | undefined) ?? [])])],
        additionalProperties: false,
      },
    };
  });
  const source = {
    type: 'object',
    properties: { ...commonProperties, type: { description: 'the system', enum: types } },
    required: ['name', 'type'],
    allOf: perType,
  };
  (file.properties as Json).sources = { ...((file.properties as Json).sources as Json), items: source };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://unpkg.com/otel-replication-lag/replag.schema.json',
    title: 'replag configuration file',
    description: 'replag --config FILE: the sources to watch and where their replication lag goes. Generated from the source registry.',
    ...(allowEnv(file) as Json),
  };
}

/** `replag.schema.json` as shipped: the schema, two-space indented, with a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
