/** Ids seen lately: delivery is at-least-once, so a message may come twice. */
export class SeenIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number = 10_000) {}

  /** True the first time `id` is seen (among the last `capacity` ids), false after. */
  first(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value as string;
      this.ids.delete(oldest);
    }
    return true;
  }

  get size(): number {
    return this.ids.size;
  }
}
