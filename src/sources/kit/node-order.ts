/** The one order of followers every source reports them in: by node id, code unit by code unit (stable, locale-free). */

/** Compares two node ids (for `Array.prototype.sort`). */
export function compareNodeIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts `positions` by `nodeId` in place and returns them. */
export function byNodeId<T extends { readonly nodeId: string }>(positions: T[]): T[] {
  return positions.sort((x, y) => compareNodeIds(x.nodeId, y.nodeId));
}
