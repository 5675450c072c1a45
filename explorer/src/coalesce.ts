/**
 * Calls made in a burst, run once: the function returned runs `run` `gapMs`
 * after its first call, however often it is called meanwhile. A section
 * that reads the node again after blocks arrive then asks at most once per
 * gap, however fast blocks come (a low difficulty makes many a second).
 */
export function coalesce(run: () => void, gapMs: number): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      run();
    }, gapMs);
  };
}
