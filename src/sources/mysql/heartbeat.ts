/**
 * The MySQL-family heartbeat (`MySqlSourceOptions.heartbeat`; reusable by any source that reads MySQL / MariaDB
 * servers through a `Query`, such as Galera): a row per heartbeat name in a table of the primary's database,
 * created with `CREATE TABLE IF NOT EXISTS` when missing and the user may, written every interval, and read on each
 * replica (the newest heartbeat the replica has applied).
 */
import { escape } from 'mysql2';
import { MAX_HEARTBEAT_NAME, type HeartbeatSettings } from '../kit/heartbeat.ts';
import { ExplainedError, type Query } from './server.ts';

/** The heartbeat table, quoted: `db`.`table`. */
export interface MySqlHeartbeatTable {
  /** `database`.`table`, backtick-quoted, for statements. */
  readonly quoted: string;
  readonly database: string;
  readonly table: string;
}

/**
 * Where the heartbeat lives: `settings.target` as `db.table`, or `table` in the URL's database (`mysql://…/db`).
 * @param option the option's full name for messages, e.g. `MySqlSourceOptions.heartbeat`.
 * @throws RangeError when no database is named.
 */
export function mysqlHeartbeatTable(settings: HeartbeatSettings, primaryUrl: string, option: string): MySqlHeartbeatTable {
  const [first, second] = settings.target.split('.');
  let database: string;
  let table: string;
  if (second !== undefined) {
    database = first!;
    table = second;
  } else {
    let path = '';
    try {
      path = decodeURIComponent(new URL(primaryUrl).pathname.replace(/^\//, ''));
    } catch {
      path = '';
    }
    if (path === '' || path.includes('/')) {
      throw new RangeError(`${option}.table "${settings.target}" needs a database: name it in the primary URL (mysql://user@host:3306/db) or as ${option}.table "db.${settings.target}"`);
    }
    database = path;
    table = first!;
  }
  return { quoted: `${quoteId(database)}.${quoteId(table)}`, database, table };
}

function quoteId(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/** The statement that creates the heartbeat table (what the user runs when the monitor may not). */
export function mysqlHeartbeatTableSql(t: MySqlHeartbeatTable): string {
  return `CREATE TABLE IF NOT EXISTS ${t.quoted} (name VARCHAR(${MAX_HEARTBEAT_NAME}) NOT NULL PRIMARY KEY, written_ms BIGINT NOT NULL) ENGINE=InnoDB`;
}

/** The account as GRANT names it: 'user'@'host'. */
async function grantee(query: Query): Promise<string> {
  const account = String((await query('SELECT CURRENT_USER() AS account'))[0]?.account ?? '');
  const at = account.lastIndexOf('@');
  return at < 0 ? '<user>@<host>' : `'${account.slice(0, at).replaceAll("'", "''")}'@'${account.slice(at + 1).replaceAll("'", "''")}'`;
}

const DENIED = new Set(['ER_TABLEACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_SPECIFIC_ACCESS_DENIED_ERROR', 'ER_OPTION_PREVENTS_STATEMENT']);

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/**
 * Writes `nowMs` as heartbeat `name` on the primary; on the first call creates the table when missing.
 * @throws ExplainedError giving the statement and grants to run when the user may not create or write it.
 */
export async function writeMySqlHeartbeat(query: Query, t: MySqlHeartbeatTable, name: string, nowMs: number, first: boolean): Promise<void> {
  if (first) {
    const [row] = await query(`SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${escape(t.database)} AND TABLE_NAME = ${escape(t.table)}`);
    if (Number(row?.n) === 0) {
      try {
        await query(mysqlHeartbeatTableSql(t));
      } catch (error) {
        const code = codeOf(error);
        if (DENIED.has(code)) {
          const who = await grantee(query);
          throw new ExplainedError(
            `the heartbeat table ${t.quoted} is missing and the monitoring user may not create it (${(error as Error).message}): ` +
              `run "${mysqlHeartbeatTableSql(t)}; GRANT SELECT, INSERT, UPDATE ON ${t.quoted} TO ${who};" on the primary`,
          );
        }
        if (code === 'ER_BAD_DB_ERROR') throw new ExplainedError(`the heartbeat table's database ${quoteId(t.database)} does not exist: create it, or name another in the primary URL or the heartbeat table`);
        throw error;
      }
    }
  }
  try {
    await query(`INSERT INTO ${t.quoted} (name, written_ms) VALUES (${escape(name)}, ${Math.trunc(nowMs)}) ON DUPLICATE KEY UPDATE written_ms = VALUES(written_ms)`);
  } catch (error) {
    if (DENIED.has(codeOf(error))) {
      throw new ExplainedError(`the monitoring user may not write the heartbeat table ${t.quoted} (${(error as Error).message}): run "GRANT SELECT, INSERT, UPDATE ON ${t.quoted} TO ${await grantee(query)};" on the primary`);
    }
    throw error;
  }
}

/**
 * The newest heartbeat `name` a replica shows (its `written_ms`), undefined when it has none yet (no row, or the
 * table not replicated yet). @throws ExplainedError giving the grant when the user may not read it.
 */
export async function readMySqlHeartbeat(query: Query, t: MySqlHeartbeatTable, name: string): Promise<number | undefined> {
  try {
    const [row] = await query(`SELECT written_ms FROM ${t.quoted} WHERE name = ${escape(name)}`);
    if (row === undefined) return undefined;
    const value = Number(row.written_ms);
    return Number.isFinite(value) ? value : undefined;
  } catch (error) {
    if (codeOf(error) === 'ER_NO_SUCH_TABLE') return undefined;
    if (DENIED.has(codeOf(error))) {
      throw new ExplainedError(`the monitoring user may not read the heartbeat table ${t.quoted} (${(error as Error).message}): run "GRANT SELECT ON ${t.quoted} TO ${await grantee(query)};" on the primary (the grant replicates)`);
    }
    throw error;
  }
}
