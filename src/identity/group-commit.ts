// Appends asked for in one turn of the event loop, written in one transaction (SQLite's audit log).
//
// Every lookup by email appends its LOOKUP row; one SQLite transaction each cost ~55 µs of CPU and ~115 µs of the
// event loop (the commit appends the table's and both indexes' pages to the WAL). Rows asked for in the same turn
// share one commit; each caller still waits until its own rows are committed, and still learns of their failure.

interface Waiting<T> {
  items: readonly T[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<T> {
  private pending: Waiting<T>[] | null = null;

  /**
   * `write` writes the items given in one transaction, or throws having written none of them. `busy` says when the
   * connection is inside a transaction of its own (the link lock's, whose work appends its LINK_CHANGE rows): rows
   * appended inside it are written at once, as part of it; a group never joins one, where a rollback would take rows
   * whose callers were told they were written.
   */
  constructor(
    private readonly write: (items: readonly T[]) => void,
    private readonly busy: () => boolean,
  ) {}

  /**
   * Resolves once `items` are committed; rejects with the error that kept them out. Rows are committed in the order
   * asked for, except that rows appended inside a transaction go in with it, ahead of a group still waiting.
   */
  append(items: readonly T[]): Promise<void> {
    if (this.busy()) {
      try {
        this.write(items);
      } catch (error) {
        return Promise.reject(error);
      }
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      if (!this.pending) {
        this.pending = [];
        setImmediate(() => this.commit());
      }
      this.pending.push({ items, resolve, reject });
    });
  }

  /** Writes whatever is waiting now (before the connection closes). */
  flush(): void {
    this.commit();
  }

  private commit(): void {
    const group = this.pending;
    if (!group) return;
    if (this.busy()) {
      // Not expected (the link lock's work does no I/O, so no turn of the loop ends inside it); checked again shortly.
      setTimeout(() => this.commit(), 1);
      return;
    }
    this.pending = null;
    try {
      this.write(group.flatMap((waiting) => waiting.items));
    } catch {
      // One caller's rows must not fail another's: each is written on its own, as if it had been alone, and the
      // error that keeps a caller's rows out reaches that caller (the group's own error is one of these).
      for (const waiting of group) this.commitAlone(waiting);
      return;
    }
    for (const waiting of group) waiting.resolve();
  }

  private commitAlone(waiting: Waiting<T>): void {
    try {
      this.write(waiting.items);
    } catch (error) {
      waiting.reject(error);
      return;
    }
    waiting.resolve();
  }
}
