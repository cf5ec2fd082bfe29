/** Each system's reference page: `docs/sources/<type>.md`, its options table generated from the registry. */
export function docPageOf(type: string): string {
  return `docs/sources/${type}.md`;
}
