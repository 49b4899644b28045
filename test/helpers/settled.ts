// Whether a promise has settled, without awaiting it: a wait that must still be pending (its deadline not reached,
// its answer not delivered) is asked this, so the test fails instead of hanging when it ended too early.

/** Whether p has settled once the microtasks queued so far (and one macrotask turn) have run. */
export async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await new Promise((r) => setImmediate(r));
  return done;
}
