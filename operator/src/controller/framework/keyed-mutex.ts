// Serialises async work per key inside this process: two reconcilers that may publish a
// version of the same function (its own `publish: true`, a user's Version object) take
// turns, so both never read the same "next number". Across processes the Lease and the
// resourceVersion precondition on the counter do the same job.
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(work, work);
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
