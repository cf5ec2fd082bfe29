/** Name and version of this package: the instrumentation scope. Kept equal to package.json by a test. */
export const PACKAGE_NAME = 'otel-replication-lag';
export const PACKAGE_VERSION = '0.1.0';
