/** Where `replag` writes: the table and lines to `stdout`, notices and errors to `stderr`. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; rows?: number };
  stderr: NodeJS.WritableStream;
}
