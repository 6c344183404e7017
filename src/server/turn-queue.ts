// One holder at a time, first come first served: the cluster primary's lock over the link table for workers whose
// store has no lock of its own (SQLite), since a plan reads the graph and then writes it.

type Grant = () => void;

export class TurnQueue {
  private holder: string | null = null;
  private readonly waiting: { holder: string; grant: Grant }[] = [];

  /** `grant` is called once it is `holder`'s turn (at once when nobody holds it). */
  request(holder: string, grant: Grant): void {
    if (this.holder === null) {
      this.holder = holder;
      grant();
    } else {
      this.waiting.push({ holder, grant });
    }
  }

  /** Ends `holder`'s turn and gives the next in line theirs. A holder whose turn it is not changes nothing. */
  release(holder: string): void {
    if (this.holder !== holder) return;
    this.holder = null;
    const next = this.waiting.shift();
    if (next) {
      this.holder = next.holder;
      next.grant();
    }
  }

  /** Drops every turn held or awaited by holders `owns` matches (a worker that died cannot release its own). */
  drop(owns: (holder: string) => boolean): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) if (owns(this.waiting[i]!.holder)) this.waiting.splice(i, 1);
    if (this.holder !== null && owns(this.holder)) this.release(this.holder);
  }

  get heldBy(): string | null {
    return this.holder;
  }
}
