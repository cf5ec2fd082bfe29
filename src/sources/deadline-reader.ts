/** Moved to the source kit (`kit/deadline-reader.ts`); this path keeps working for code that imports it. */
export { DeadlineReader, type DeadlineReadOutcome } from './kit/deadline-reader.ts';
