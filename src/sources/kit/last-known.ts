/**
 * Each follower's last known position, per poll: a follower read in this poll is recorded; one that cannot be read
 * (its server hung or down, its consumer gone) is kept at the position last recorded, so that the monitor sees its
 * delay grow and it turns stalled instead of vanishing; one neither recorded nor kept is forgotten at the poll's end.
 */
import type { Position } from '../../types.ts';
import type { ReplicaPosition } from '../source.ts';

/** A follower's attributes as registered. */
export type NodeAttributes = NonNullable<ReplicaPosition['attributes']>;

/** What is remembered of a follower. */
export interface KnownPosition {
  readonly followerSeq: Position;
  readonly attributes: NodeAttributes;
}

/** The last known positions of one source's followers. */
export class LastKnownPositions {
  /** Up to the previous poll. */
  #before = new Map<string, KnownPosition>();
  /** This poll's, with whether each was read (true) or kept (false). */
  #now = new Map<string, KnownPosition & { readonly read: boolean }>();
  #readable = new Map<string, boolean>();

  /** The last known position of `nodeId` (this poll's when recorded or kept already, else the previous poll's). */
  get(nodeId: string): KnownPosition | undefined {
    return this.#now.get(nodeId) ?? this.#before.get(nodeId);
  }

  /** The followers known before this poll whose id passes `filter` (e.g. those of one server). */
  knownIds(filter: (nodeId: string) => boolean = () => true): string[] {
    return [...this.#before.keys()].filter(filter);
  }

  /** Records `nodeId` as read in this poll at `known`. */
  record(nodeId: string, known: KnownPosition): void {
    this.#now.set(nodeId, { ...known, read: true });
  }

  /**
   * Keeps `nodeId` at its last known position for this poll (it could not be read); returns that position, or
   * undefined when it never had one (then nothing is kept).
   */
  keep(nodeId: string): KnownPosition | undefined {
    const known = this.get(nodeId);
    if (known !== undefined) this.#now.set(nodeId, { followerSeq: known.followerSeq, attributes: known.attributes, read: false });
    return known;
  }

  /** Ends the poll: forgets every follower neither recorded nor kept in it. */
  endPoll(): void {
    this.#before = new Map([...this.#now].map(([id, { followerSeq, attributes }]) => [id, { followerSeq, attributes }]));
    this.#readable = new Map([...this.#now].map(([id, { read }]) => [id, read]));
    this.#now = new Map();
  }

  /** Per follower of the last ended poll: whether it was read (true) or kept at its last known position (false). */
  readability(): ReadonlyMap<string, boolean> {
    return new Map(this.#readable);
  }
}
