/** Where the client stands in each room it joined: the last offset it has. */

export interface RoomStatus {
  roomId: string;
  /** the room's last offset the client has; messages after it arrive live */
  offset: number;
  /** false: the server no longer had every message missed; fetch them over HTTP if needed */
  recovered: boolean;
}

export class RoomBook {
  private readonly offsets = new Map<string, number | undefined>();

  get rooms(): string[] {
    return [...this.offsets.keys()];
  }

  has(roomId: string): boolean {
    return this.offsets.has(roomId);
  }

  offset(roomId: string): number | undefined {
    return this.offsets.get(roomId);
  }

  /** Joined (no offset yet: the server gives where the room stands). */
  join(roomId: string, offset?: number): void {
    if (!this.offsets.has(roomId) || offset !== undefined) this.offsets.set(roomId, offset);
  }

  leave(roomId: string): void {
    this.offsets.delete(roomId);
  }

  /** A room message: true if it is new (its offset past the last), false for a repeat. */
  accept(roomId: string, offset: number): boolean {
    if (!this.offsets.has(roomId)) return false;
    const last = this.offsets.get(roomId);
    if (last !== undefined && offset <= last) return false;
    this.offsets.set(roomId, offset);
    return true;
  }

  /** The subscribe ack: the client now has the room up to `offset`. */
  subscribed(status: RoomStatus): void {
    if (!this.offsets.has(status.roomId)) return;
    const last = this.offsets.get(status.roomId);
    const next =
      status.recovered && last !== undefined ? Math.max(last, status.offset) : status.offset;
    this.offsets.set(status.roomId, next);
  }

  /** The `room_subscribe` data that resumes every joined room from its last offset. */
  resume(): { room_ids: string[]; offsets: Record<string, number> } | undefined {
    if (this.offsets.size === 0) return undefined;
    const offsets: Record<string, number> = {};
    for (const [roomId, offset] of this.offsets) if (offset !== undefined) offsets[roomId] = offset;
    return { room_ids: this.rooms, offsets };
  }
}
